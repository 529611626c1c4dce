"""Problems (c) large per-task group lasso and (d) logistic group lasso on a shared design
of the solver benchmark; peers on block-diagonal designs (see benchmarks/README.md)."""

from __future__ import annotations

import gc
import time

import numpy as np
import scipy.sparse as sp
from _common import Trace, run_ladder
from _ours import Problem, per_task_problem, run_ours, solver_names, warm
from _peers import block_diagonal, block_lipschitz_datafit, run_cvxpy


def family_large(cfg):
    """(c) at full size (T=500, ours against skglm's solver) and, in the full run, a
    reduced per-task problem (T=50) where every peer, as shipped, can run."""
    sizes = [(40, 200, 50, "all")] if cfg.quick else [(100, 300, 50, "all"),
                                                      (200, 1000, 500, "fast")]
    return [large_problem(cfg, *s) for s in sizes]


def large_problem(cfg, n0, d, T, peers):
    from celer import GroupLasso as CelerGroupLasso
    from skglm import GeneralizedLinearEstimator
    from skglm import GroupLasso as SkglmGroupLasso
    from skglm.penalties import WeightedGroupL2
    from skglm.solvers import GroupBCD
    from skglm.utils.data import grp_converter

    from mtlreg import GroupLassoRegressor
    from mtlreg.datasets import make_multitask_regression

    Xfull, y = make_multitask_regression(n_samples=n0, n_features=d, n_tasks=T,
                                         layout="per_task", structure="row_sparse",
                                         random_state=0)
    est = GroupLassoRegressor(task_column=0)
    alpha = est.compute_alpha_max(Xfull, y) / 10
    est.set_params(alpha=alpha)
    p = per_task_problem(f"c_per_task_T{T}_d{d}", f"(c) per task, T={T} tasks x {n0} rows, "
                         f"d={d}, alpha=alpha_max/10={alpha:.4g}", Xfull, y, penalty="l21",
                         pen=dict(alpha=alpha))
    p._fit_X = Xfull
    del Xfull
    print(f"\n== {p.title}", flush=True)
    effort = cfg.ours("large" if T >= 500 else "small")
    traces = [run_ours(p, est, s, effort) for s in solver_names(est)]
    p._fit_X = None
    gc.collect()
    # peers: one global 1/(2N) scaling with N = T n0, so ours = T * theirs when alpha -> alpha/T
    t0 = time.perf_counter()
    Xbd, yc, xm, ym = block_diagonal(p, n0)
    t_build = time.perf_counter() - t0
    print(f"  block-diagonal design {Xbd.shape}, nnz={Xbd.nnz}: {t_build:.1f} s", flush=True)
    peer_alpha = alpha / T
    prep = (f"data prep (per-task centring + sparse block design) {t_build:.2g} s, "
            "not in the time")

    def from_flat(w):
        W = np.asarray(w).reshape(d, T).T  # (T, d)
        return dict(coef=W, intercept=ym - np.einsum("td,td->t", W, xm))

    pc = cfg.peers("large" if T >= 500 else "small")
    rng = np.random.default_rng(0)
    Xs = sp.random(30, 6 * 3, density=0.5, format="csc", random_state=0)
    ys = rng.standard_normal(30)
    gi, gp = grp_converter(T, d * T)
    gi3, gp3 = grp_converter(3, 18)
    BlockL = block_lipschitz_datafit()

    def block_glm(alpha_, gp_, gi_, n_groups, tol):
        return GeneralizedLinearEstimator(
            BlockL(gp_, gi_), WeightedGroupL2(alpha_, np.ones(n_groups), gp_, gi_),
            GroupBCD(tol=tol, fit_intercept=False))

    runs = [("skglm GroupBCD (block-diag, exact group Lipschitz)", "skglm GroupBCD BlockL",
             lambda: block_glm(0.01, gp3, gi3, 6, 1e-4).fit(Xs, ys),
             lambda tol: block_glm(peer_alpha, gp, gi, d, tol))]
    if peers == "all":
        runs += [
            ("skglm GroupLasso (block-diag)", "skglm GroupLasso (sparse)",
             lambda: SkglmGroupLasso(groups=3, alpha=0.01, fit_intercept=False).fit(Xs, ys),
             lambda tol: SkglmGroupLasso(groups=T, alpha=peer_alpha, fit_intercept=False,
                                         tol=tol)),
            ("celer GroupLasso (block-diag)", None, None,
             lambda tol: CelerGroupLasso(groups=T, alpha=peer_alpha, fit_intercept=False,
                                         tol=tol)),
        ]
    for name, wkey, wfn, make in runs:
        tr = Trace(name, "peer", note=prep)
        if wkey:
            c = warm(wkey, wfn)
            tr.compile_s = None if isinstance(c, Exception) else c

        def fit(tol, _max_iter, make=make):
            return from_flat(make(tol).fit(Xbd, yc).coef_)

        run_ladder(tr, fit, pc.skglm_tols if "skglm" in name else pc.peer_tols, p.score,
                   budget_s=pc.peer_budget, repeats=3 if T < 500 else 1)
        traces.append(tr)
    if peers != "all":
        traces.append(Trace("skglm GroupLasso (block-diag)", "peer", note=(
            "not run at this size: its setup runs a 100-step power method per group on "
            "length-N vectors (QuadraticGroup.get_lipschitz_sparse), d groups x N = T n0; "
            "the T=50 problem shows its cost against the exact-Lipschitz variant")))
        traces.append(Trace("celer GroupLasso (block-diag)", "peer", note=(
            "not run at this size: celer_path's sparse group-lasso setup loops in Python over "
            f"the T^2 entries of every group's Gram matrix, d*T^2 = {d * T * T:.1e} steps "
            "(the T=50 problem runs it: d*T^2 = 7.5e5)")))
    Xbd = None  # free the block-diagonal design before the next problem
    gc.collect()
    traces.append(Trace("cvxpy", "peer", note=(
        f"not run: {p.X.shape[0]} residuals, {d * T} variables, the canonicalised problem "
        f"holds the {p.X.size:.2g}-entry data matrix several times and an interior-point "
        "KKT system of that size is far beyond the time budget")))
    return p, traces



def family_logistic(cfg):
    from skglm import GeneralizedLinearEstimator
    from skglm.datafits import LogisticGroup
    from skglm.penalties import WeightedGroupL2
    from skglm.solvers import GroupProxNewton
    from skglm.utils.data import grp_converter

    from mtlreg import GroupLassoClassifier
    from mtlreg.datasets import make_multitask_classification

    n, d, T = (200, 50, 5) if cfg.quick else (500, 200, 10)
    X, Y = make_multitask_classification(n, d, T, n_informative=10, correlation=0.5,
                                         random_state=0)
    Y = Y.astype(np.float64)
    est = GroupLassoClassifier()
    alpha = est.compute_alpha_max(X, Y) / 10
    est.set_params(alpha=alpha)
    p = Problem(f"d_logistic_n{n}", f"(d) logistic group lasso, shared n={n} d={d} T={T}, "
                f"alpha=alpha_max/10={alpha:.4g}", X, Y, loss="logistic", penalty="l21",
                pen=dict(alpha=alpha), n_tasks=T)
    print(f"\n== {p.title}", flush=True)
    traces = [run_ours(p, est, s, cfg.ours("logistic"), fresh=True) for s in solver_names(est)]
    # skglm: block-diagonal design (rows task-major), feature j of task t in column j*T + t,
    # then T per-task intercept columns in unpenalised groups (weight 0). Its datafit is
    # 1/N sum log(1 + exp(-y z)) with N = n T, ours T times that: alpha -> alpha / T.
    t0 = time.perf_counter()
    N = n * T
    Xbd = np.zeros((N, d * T + T))
    for t in range(T):
        Xbd[t * n:(t + 1) * n, t:d * T:T] = X
        Xbd[t * n:(t + 1) * n, d * T + t] = 1.0
    ypm = 2.0 * Y.T.ravel() - 1.0
    sizes = [T] * d + [1] * T
    grp_indices, grp_ptr = grp_converter([list(range(s0, s0 + s)) for s0, s in
                                          zip(np.cumsum([0] + sizes[:-1]), sizes)], d * T + T)
    weights = np.r_[np.ones(d), np.zeros(T)]
    t_build = time.perf_counter() - t0

    def make(tol):
        return GeneralizedLinearEstimator(
            LogisticGroup(grp_ptr, grp_indices),
            WeightedGroupL2(alpha / T, weights, grp_ptr, grp_indices),
            GroupProxNewton(tol=tol, fit_intercept=False))

    def fit(tol, _max_iter):
        m = make(tol).fit(Xbd, ypm)
        w = np.asarray(m.coef_).ravel()
        return dict(coef=w[:d * T].reshape(d, T).T, intercept=w[d * T:])

    tr = Trace("skglm GroupProxNewton (block-diag)", "peer",
               note=f"dense block design + intercept columns (weight 0), prep {t_build:.2g} s")
    rng = np.random.default_rng(0)
    gi, gp = grp_converter(3, 12)
    c = warm("skglm GroupProxNewton logistic (dense)", lambda: GeneralizedLinearEstimator(
        LogisticGroup(gp, gi), WeightedGroupL2(0.01, np.ones(4), gp, gi),
        GroupProxNewton(fit_intercept=False)).fit(rng.standard_normal((30, 12)),
                                                  np.sign(rng.standard_normal(30))))
    tr.compile_s = None if isinstance(c, Exception) else c
    run_ladder(tr, fit, cfg.peers("logistic").skglm_tols, p.score,
               budget_s=cfg.peers("logistic").peer_budget)
    traces.append(tr)
    for which in ("Clarabel", "SCS"):
        traces.append(run_cvxpy(p, which, cfg))
    traces.append(Trace("celer", "peer", note="not run: celer has no multitask / group "
                        "logistic model (its logistic regression is l1, single task)"))
    traces.append(Trace("sklearn", "peer", note="not run: no group-lasso logistic model"))
    return [(p, traces)]


