"""Time to a relative suboptimality of 1e-6: mtlreg's solvers against the peers, one run.

    python benchmarks/bench_solvers.py                 # everything (about 15 min on 2 cores)
    python benchmarks/bench_solvers.py --quick         # small problems, few levels (smoke run)
    python benchmarks/bench_solvers.py --only school   # one problem family: shared, school,
                                                       # large, logistic, scaling

Method (see benchmarks/README.md): every solver is run several times with increasing
effort (tolerance ladder, each run from scratch); each run gives (wall time, objective),
the objective being computed by ONE numpy function (``_common.objective``) from the
returned coefficients and intercepts. ``f*`` is the best objective any run of any
solver reached on the problem; a solver's time to 1e-6 is the time of its first run with
``(f - f*) / |f*| <= 1e-6``. Times: ``time.perf_counter``, median of 3 runs for runs under
0.5 s. numba compile time (ours, skglm) is measured by a tiny warm-up fit and reported
separately, never inside a timed run. By default numba compiles into a fresh temporary
cache (cold compile); ``--numba-cache`` keeps the on-disk cache (then "compile" is
mostly cache loading).

Writes benchmarks/results/solvers.md, solvers_<problem>.png and solvers_raw.json
(``--quick``: solvers_quick.md, ... so that a smoke run never overwrites a full one).
"""

import os
import sys
import tempfile

if "--numba-cache" not in sys.argv and "NUMBA_CACHE_DIR" not in os.environ:
    # must happen before numba is imported (by mtlreg or skglm)
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="mtlreg_bench_numba_")

import argparse  # noqa: E402
import gc  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    TABLE_HEADER,
    TARGET,
    Trace,
    cpu_snapshot,
    other_cpu_share,
    dump_json,
    info_lines,
    machine_info,
    markdown_rows,
    objective,
    plot_traces,
    run_ladder,
    summarise,
    timed,
)

RESULTS = Path(__file__).resolve().parent / "results"
# run order: the large problem last (its ~5 GB of allocations make the VM reclaim memory
# for a while, which slowed the next problems down by up to 10x in a trial run)
FAMILIES = ("shared", "school", "logistic", "scaling", "large")


# ============================================================================ problems
@dataclass
class Problem:
    """One optimisation problem, in the package's objective (see _common.objective)."""

    key: str
    title: str
    X: object  # features only: (n, d) shared, (N, d) per task
    y: np.ndarray
    codes: object = None  # (N,) task index 0..T-1 in the per-task layout
    loss: str = "squared"
    penalty: str = "l21"
    pen: dict = field(default_factory=dict)
    n_tasks: int = 0

    @property
    def per_task(self):
        return self.codes is not None

    def fit_X(self):
        """What our estimators get: X, or the task id in column 0 then the features."""
        if not self.per_task:
            return self.X
        if getattr(self, "_fit_X", None) is None:
            self._fit_X = np.column_stack([self.codes.astype(np.float64), self.X])
        return self._fit_X

    def score(self, res):
        return objective(self.X, self.y, res["coef"], res["intercept"], codes=self.codes,
                         loss=self.loss, penalty=self.penalty, parts=res.get("parts"),
                         **self.pen)


def per_task_problem(key, title, Xfull, y, **kw):
    codes = np.unique(Xfull[:, 0], return_inverse=True)[1].astype(np.intp)
    X = np.ascontiguousarray(Xfull[:, 1:])
    return Problem(key, title, X, np.asarray(y, dtype=np.float64), codes=codes,
                   n_tasks=int(codes.max()) + 1, **kw)


# ===================================================================== compile times
_COMPILE = {}  # warm-up key -> seconds of the first tiny fit in this process


def warm(key, fn):
    """Time ``fn()`` the first time ``key`` is seen (numba compile, or cache load)."""
    if key not in _COMPILE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - reported as n/a by the caller
                _COMPILE[key] = exc
                return exc
            _COMPILE[key] = time.perf_counter() - t0
        print(f"  [warm-up] {key}: {_COMPILE[key]:.2f} s", flush=True)
    return _COMPILE[key]


def tiny_like(problem):
    """A tiny problem that takes the same code path (layout, loss, Gram form or not)."""
    from mtlreg.datasets import make_multitask_classification, make_multitask_regression

    gram = getattr(problem, "gram_form", False)
    if problem.loss == "logistic":
        X, y = make_multitask_classification(40, 8, 3, random_state=0)
        return X, y
    if problem.per_task:
        if gram:  # many rows per task, few features: Gram form
            return make_multitask_regression(30, 5, 4, layout="per_task", random_state=0)
        return make_multitask_regression(5, 40, 3, layout="per_task", random_state=0)
    if gram:
        return make_multitask_regression(200, 5, 3, random_state=0)
    return make_multitask_regression(20, 60, 3, random_state=0)


# ========================================================================= runners
def _ours_fit(est, Xfit, y):
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning

    def fit(tol, max_iter):
        e = clone(est).set_params(tol=tol, max_iter=int(max_iter))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            e.fit(Xfit, y)
        conv = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        res = dict(coef=e.coef_, intercept=e.intercept_, n_iter=int(e.n_iter_), converged=conv)
        if hasattr(e, "coef_shared_"):
            res["parts"] = (e.coef_shared_, e.coef_specific_)
        return res

    return fit


def strengths_at_tenth(est, X, y):
    """``{"alpha": alpha_max/10}`` (and ``beta_max/10`` for the dirty model) on ``(X, y)``;
    ``{}`` where alpha never zeroes the model (alpha_max = inf: mean-regularized)."""
    a = est.compute_alpha_max(X, y)
    if not np.isfinite(a):
        return {}
    params = {"alpha": a / 10}
    if hasattr(est, "compute_beta_max"):
        params["beta"] = est.compute_beta_max(X, y) / 10
    return params


def _tiny_fit(est, Xt, yt):
    """Fit a clone of ``est`` on the tiny problem with its strengths scaled to that problem:
    the big problem's alpha can exceed the tiny one's alpha_max, and a fit that stops at
    the null model compiles nothing of the solver."""
    from sklearn.base import clone

    e = clone(est).set_params(tol=1e-4, max_iter=200)
    return e.set_params(**strengths_at_tenth(e, Xt, yt)).fit(Xt, yt)


def run_ours(problem, est, solver, cfg, *, label=None):
    """Our estimator ``est`` (configured: alpha, ...) with ``solver``, tolerance ladder."""
    from sklearn.base import clone

    name = label or f"mtlreg {type(est).__name__.replace('Regressor', '')} {solver}"
    est = clone(est).set_params(solver=solver)
    if problem.per_task:
        est.set_params(task_column=0)
    tr = Trace(name, "ours")
    Xt, yt = tiny_like(problem)
    kind = ("per_task" if problem.per_task else "shared") + (
        "/gram" if getattr(problem, "gram_form", False) else "") + f"/{problem.loss}"
    key = f"mtlreg {type(est).__name__}({getattr(est, 'block_norm', '')}) {solver} {kind}"
    c = warm(key, lambda: _tiny_fit(est, Xt, yt))
    if isinstance(c, Exception):
        tr.note = f"n/a: {str(c).splitlines()[0][:160]}"
        return tr
    tr.compile_s = c
    run_ladder(tr, _ours_fit(est, problem.fit_X(), problem.y), cfg.tols, problem.score,
               budget_s=cfg.budget, rate_key=True, max_iter=cfg.max_iter)
    return tr


def run_sklearn_mtl(problem, alpha, cfg):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import MultiTaskLasso

    def fit(tol, max_iter):
        m = MultiTaskLasso(alpha=alpha, tol=tol, max_iter=int(max_iter), fit_intercept=True)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            m.fit(problem.X, problem.y)
        conv = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        return dict(coef=m.coef_, intercept=m.intercept_, n_iter=int(m.n_iter_), converged=conv)

    tr = Trace("sklearn MultiTaskLasso", "peer")
    return run_ladder(tr, fit, cfg.peer_tols, problem.score, budget_s=cfg.peer_budget,
                      rate_key=True, max_iter=cfg.peer_max_iter)


def run_celer_mtl(problem, alpha, cfg):
    """celer's multitask lasso. celer 0.7.4's ``MultiTaskLasso.fit`` calls the
    ``_validate_data`` that scikit-learn >= 1.6 removed, so we call what it wraps:
    centre X and Y (its ``_preprocess_data``), ``celer.homotopy.mtl_path``, intercept."""
    from celer.homotopy import mtl_path

    X, Y = problem.X, problem.y

    def fit(tol, max_iter):
        xm, ym = X.mean(axis=0), Y.mean(axis=0)
        Xc, Yc = np.asfortranarray(X - xm), np.asfortranarray(Y - ym)
        _, coefs, gaps = mtl_path(Xc, Yc, alphas=[alpha], tol=tol, max_iter=100)
        W = coefs[..., 0]
        return dict(coef=W, intercept=ym - W @ xm)

    tr = Trace("celer MultiTaskLasso", "peer",
               note="via celer.homotopy.mtl_path (MultiTaskLasso.fit broken with sklearn>=1.6)")
    return run_ladder(tr, fit, cfg.peer_tols, problem.score, budget_s=cfg.peer_budget)


def run_skglm_mtl(problem, alpha, cfg):
    from skglm import MultiTaskLasso

    def fit(tol, max_iter):
        m = MultiTaskLasso(alpha=alpha, tol=tol, max_iter=100, fit_intercept=True)
        m.fit(problem.X, problem.y)
        return dict(coef=m.coef_, intercept=np.asarray(m.intercept_, dtype=float))

    tr = Trace("skglm MultiTaskLasso", "peer")
    Xt, Yt = tiny_like(problem)
    c = warm("skglm MultiTaskLasso (dense)",
             lambda: MultiTaskLasso(alpha=0.01, tol=1e-6).fit(Xt, Yt))
    tr.compile_s = None if isinstance(c, Exception) else c
    return run_ladder(tr, fit, cfg.skglm_tols, problem.score, budget_s=cfg.peer_budget)


# --------------------------------------------------------------------------- cvxpy
def cvxpy_build(problem):
    """Our objective, written in cvxpy: returns (cvxpy problem, extract function)."""
    import cvxpy as cp

    d, T = problem.X.shape[1], problem.n_tasks
    X, y = problem.X, problem.y
    pen = problem.pen
    dirty = problem.penalty == "dirty"
    if dirty:
        B, S = cp.Variable((d, T)), cp.Variable((d, T))
        W = B + S
    else:
        W = cp.Variable((d, T))
    b = cp.Variable(T)
    if not problem.per_task:
        n = X.shape[0]
        Z = X @ W + np.ones((n, 1)) @ cp.reshape(b, (1, T), order="C")
        if problem.loss == "squared":
            data = cp.sum_squares(y - Z) / (2 * n)
        else:
            data = cp.sum(cp.logistic(Z) - cp.multiply(y, Z)) / n
    else:
        terms = []
        for t in range(T):
            rows = np.flatnonzero(problem.codes == t)
            z_t = X[rows] @ W[:, t] + b[t]
            if problem.loss == "squared":
                terms.append((y[rows] - z_t) / np.sqrt(2.0 * len(rows)))
            else:
                terms.append(cp.sum(cp.logistic(z_t) - cp.multiply(y[rows], z_t)) / len(rows))
        data = cp.sum_squares(cp.hstack(terms)) if problem.loss == "squared" else cp.sum(
            cp.hstack(terms))
    alpha = pen.get("alpha", 0.0)
    l2 = pen.get("l2_reg", 0.0)
    if problem.penalty == "l21":
        reg = alpha * cp.sum(cp.norm(W, 2, axis=1))
    elif problem.penalty == "sgl":
        r = pen["l1_ratio"]
        reg = alpha * (r * cp.sum(cp.abs(W)) + (1 - r) * cp.sum(cp.norm(W, 2, axis=1)))
    elif problem.penalty == "trace":
        reg = alpha * cp.normNuc(W)
    elif problem.penalty == "meanreg":
        C = np.eye(T) - np.ones((T, T)) / T
        reg = 0.5 * alpha * cp.sum_squares(W @ C)
    elif problem.penalty == "dirty":
        block = (cp.sum(cp.max(cp.abs(B), axis=1)) if pen["block_norm"] == "l1inf"
                 else cp.sum(cp.norm(B, 2, axis=1)))
        reg = alpha * block + pen["beta"] * cp.sum(cp.abs(S))
    else:
        raise ValueError(problem.penalty)
    if l2:
        reg = reg + 0.5 * l2 * (cp.sum_squares(B) + cp.sum_squares(S) if dirty
                                else cp.sum_squares(W))
    prob = cp.Problem(cp.Minimize(data + reg))

    def extract():
        res = dict(coef=np.asarray(W.value).T, intercept=np.asarray(b.value).ravel())
        if dirty:
            res["parts"] = (np.asarray(B.value).T, np.asarray(S.value).T)
        return res

    return prob, extract


CVXPY_OPTS = {
    "Clarabel": dict(solver="CLARABEL", tol_gap_abs=1e-10, tol_gap_rel=1e-10, tol_feas=1e-10,
                     tol_ktratio=1e-8, max_iter=400),
    "SCS": dict(solver="SCS", eps_abs=1e-9, eps_rel=1e-9, max_iters=200_000),
}


def W_missing(prob):
    return any(v.value is None for v in prob.variables())


def run_cvxpy(problem, which, cfg):
    """One solve (build + canonicalise + solve timed together; setup reported apart)."""
    tr = Trace(f"cvxpy {which}", "peer")
    opts = dict(CVXPY_OPTS[which])
    if which == "SCS":
        opts["time_limit_secs"] = cfg.scs_time_limit
    else:
        opts["time_limit"] = cfg.clarabel_time_limit
    last = {}

    def fit(_effort, _max_iter):
        t0 = time.perf_counter()
        prob, extract = cvxpy_build(problem)
        t_build = time.perf_counter() - t0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prob.solve(**opts)
        last.update(status=prob.status, setup=t_build + (prob.compilation_time or 0.0),
                    solve=prob.solver_stats.solve_time)
        if W_missing(prob):
            raise RuntimeError(f"status {prob.status}, no solution returned")
        return extract()

    run_ladder(tr, fit, ["tight"], problem.score, budget_s=1e9)
    if last and last["status"] not in ("optimal",):
        limit = opts.get("time_limit", opts.get("time_limit_secs"))
        if last["setup"] + (last["solve"] or 0.0) >= 0.95 * limit:
            last["status"] += f" (time limit {limit:g} s)"
    if last:
        tr.extra["solver_only_s"] = last["solve"]
        tr.compile_s = last["setup"]
        tr.note = (f"{tr.note}; " if tr.note else "") + (
            f"status {last['status']}; time includes build+canonicalisation "
            f"{last['setup']:.2g} s (solver alone {last['solve'] or float('nan'):.2g} s)")
    return tr


# ======================================================================== (a) shared
def family_shared(cfg):
    from mtlreg import GroupLassoRegressor
    from mtlreg.datasets import make_multitask_regression

    sizes = [("small", 200, 500, 10)] + ([] if cfg.quick else [("medium", 1000, 5000, 20)])
    out = []
    for size, n, d, T in sizes:
        X, Y = make_multitask_regression(n, d, T, n_informative=d // 10, correlation=0.5,
                                         noise=1.0, random_state=0)
        est = GroupLassoRegressor()
        amax = est.compute_alpha_max(X, Y)
        for div in (10, 100):
            alpha = amax / div
            p = Problem(f"a_{size}_amax{div}",
                        f"(a) shared design {size} n={n} d={d} T={T}, Toeplitz 0.5, "
                        f"alpha=alpha_max/{div}", X, Y, penalty="l21",
                        pen=dict(alpha=alpha), n_tasks=T)
            print(f"\n== {p.title}", flush=True)
            traces = []
            for solver in ("fista", "admm", "bcd", "auto"):
                traces.append(run_ours(p, GroupLassoRegressor(alpha=alpha), solver, cfg.ours(size)))
            traces.append(run_sklearn_mtl(p, alpha, cfg.peers(size)))
            traces.append(run_celer_mtl(p, alpha, cfg.peers(size)))
            traces.append(run_skglm_mtl(p, alpha, cfg.peers(size)))
            if size == "small":
                for which in ("Clarabel", "SCS"):
                    traces.append(run_cvxpy(p, which, cfg))
            out.append((p, traces))
    return out


# ======================================================================== (b) school
def family_school(cfg):
    from sklearn.preprocessing import StandardScaler

    from mtlreg import (
        DirtyRegressor,
        GroupLassoRegressor,
        MeanRegularizedRegressor,
        SparseGroupLassoRegressor,
        TraceNormRegressor,
    )
    from mtlreg.datasets import load_school

    data = load_school()
    raw = data.data
    std = raw.copy()
    std[:, 1:] = StandardScaler().fit_transform(raw[:, 1:])
    y = data.target
    forms = [
        ("GroupLasso", GroupLassoRegressor, "l21", {}),
        ("TraceNorm", TraceNormRegressor, "trace", {}),
        ("Dirty l1inf", DirtyRegressor, "dirty", dict(block_norm="l1inf")),
        ("Dirty l21", DirtyRegressor, "dirty", dict(block_norm="l21")),
        ("MeanRegularized", MeanRegularizedRegressor, "meanreg", {}),
        ("SparseGroupLasso", SparseGroupLassoRegressor, "sgl", dict(l1_ratio=0.5)),
    ]
    if cfg.quick:
        forms = [forms[0], forms[2], forms[4]]
    out = []
    for feat_name, Xfull in (("raw", raw), ("standardised", std)):
        if cfg.quick and feat_name == "raw":
            continue
        for name, cls, penalty, extra in forms:
            est = cls(task_column=0, **extra)
            pen = dict(extra)
            if cls is MeanRegularizedRegressor:
                est.set_params(alpha=1.0, l2_reg=0.01)
                pen.update(alpha=1.0, l2_reg=0.01)
                desc = "alpha=1, l2_reg=0.01"
            else:
                strengths = strengths_at_tenth(est, Xfull, y)
                est.set_params(**strengths)
                pen.update(strengths)
                desc = ", ".join(f"{k}={k}_max/10={v:.4g}" for k, v in strengths.items())
            key = f"b_{name.replace(' ', '_')}_{feat_name}"
            p = per_task_problem(key, f"(b) School {feat_name}: {name}, {desc}", Xfull, y,
                                 penalty=penalty, pen=pen)
            p.gram_form = True
            print(f"\n== {p.title}", flush=True)
            traces = [run_ours(p, est, s, cfg.ours("school")) for s in
                      ("fista", "admm", "bcd", "auto")]
            for which in ("Clarabel", "SCS"):
                if which == "Clarabel" and penalty == "trace" and not cfg.slow_cvxpy:
                    traces.append(Trace("cvxpy Clarabel", "peer", note=(
                        "skipped (run with --slow-cvxpy): the nuclear norm is an SDP with a "
                        "167x167 PSD block, about 60 s per interior-point iteration here; a "
                        "measured run took 420 s (raw features) to reach the optimum, and "
                        "Clarabel's time_limit is only checked between iterations")))
                    continue
                traces.append(run_cvxpy(p, which, cfg))
            out.append((p, traces))
    return out


# ========================================================================= (c) large
def block_diagonal(problem, n0):
    """Per-task centred data on a block-diagonal CSC design (N, d*T), column j*T + t =
    feature j of task t (so the groups are contiguous blocks of size T)."""
    T, d = problem.n_tasks, problem.X.shape[1]
    N = problem.X.shape[0]
    F = problem.X.reshape(T, n0, d)
    xm = F.mean(axis=1)
    Fc = (F - xm[:, None, :]).reshape(N, d)
    ym = problem.y.reshape(T, n0).mean(axis=1)
    yc = (problem.y.reshape(T, n0) - ym[:, None]).ravel()
    # rows are sorted by task, so column (j, t) holds rows of task t: column j of Fc, in order
    data = np.asfortranarray(Fc).ravel(order="K")
    del Fc
    indices = np.tile(np.arange(N, dtype=np.int32), d)
    indptr = np.concatenate([[0], np.cumsum(np.full(d * T, n0, dtype=np.int64))])
    Xbd = sp.csc_matrix((data, indices, indptr), shape=(N, d * T))
    return Xbd, yc, xm, ym


_BLOCK_L = {}


def block_lipschitz_datafit():
    """skglm's ``QuadraticGroup`` with exact group Lipschitz constants for a block-diagonal
    design: the columns of one group (one feature in every task) have disjoint row
    supports, so ``||X_g||_2^2 = max_j ||X_j||^2``. skglm's own ``get_lipschitz_sparse``
    runs a 100-step power method per group on vectors of length N, which dominates
    everything at T=500 (see README); this subclass changes only that setup step."""
    if "cls" not in _BLOCK_L:
        from skglm.datafits import QuadraticGroup

        class QuadraticGroupBlockL(QuadraticGroup):
            def get_lipschitz_sparse(self, X_data, X_indptr, X_indices, y):
                grp_ptr, grp_indices = self.grp_ptr, self.grp_indices
                n_groups = len(grp_ptr) - 1
                lipschitz = np.zeros(n_groups, dtype=X_data.dtype)
                for g in range(n_groups):
                    best = 0.0
                    for j in grp_indices[grp_ptr[g]: grp_ptr[g + 1]]:
                        s = 0.0
                        for k in range(X_indptr[j], X_indptr[j + 1]):
                            s += X_data[k] ** 2
                        best = max(best, s)
                    lipschitz[g] = best / len(y)
                return lipschitz

        _BLOCK_L["cls"] = QuadraticGroupBlockL
    return _BLOCK_L["cls"]


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
    solvers = ("fista", "admm", "bcd") + (("auto",) if T < 500 else ())
    traces = [run_ours(p, est, s, effort) for s in solvers]
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
            "not run at this size: its setup (per-group 100-step power method on length-N "
            "vectors, QuadraticGroup.get_lipschitz_sparse) ran > 8 min without reaching its "
            "first iteration; 67 s vs 0.24 s for the exact-Lipschitz variant at T=100")))
        traces.append(Trace("celer GroupLasso (block-diag)", "peer", note=(
            "not run at this size: celer_path's sparse group-lasso setup loops in Python over "
            f"the T^2 entries of every group's Gram matrix, d*T^2 = {d * T * T:.1e} steps "
            "(about 5 s per 7.5e5 measured: roughly half an hour)")))
    del Xbd
    gc.collect()
    traces.append(Trace("cvxpy", "peer", note=(
        f"not run: {p.X.shape[0]} residuals, {d * T} variables, the canonicalised problem "
        f"holds the {p.X.size:.2g}-entry data matrix several times and an interior-point "
        "KKT system of that size is far beyond the time budget")))
    return p, traces


# ====================================================================== (d) logistic
def family_logistic(cfg):
    from mtlreg import GroupLassoClassifier
    from mtlreg.datasets import make_multitask_classification
    from skglm import GeneralizedLinearEstimator
    from skglm.datafits import LogisticGroup
    from skglm.penalties import WeightedGroupL2
    from skglm.solvers import GroupProxNewton
    from skglm.utils.data import grp_converter

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
    traces = [run_ours(p, est, s, cfg.ours("logistic")) for s in ("fista", "admm", "bcd")]
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


# ======================================================================= (e) scaling
def family_scaling(cfg):
    from mtlreg import GroupLassoRegressor
    from mtlreg.datasets import make_multitask_regression

    base = dict(n=500, d=500, T=10)
    grids = {
        "n": [200, 400, 800, 1600, 3200, 6400],
        "d": [125, 250, 500, 1000, 2000, 4000],
        "T": [5, 10, 20, 40, 80, 160],
    }
    if cfg.quick:
        grids = {k: v[:3] for k, v in grids.items()}
    results = {}
    est0 = GroupLassoRegressor(solver="auto", tol=1e-6, max_iter=100_000)
    Xt, Yt = make_multitask_regression(20, 60, 3, random_state=0)
    warm("mtlreg GroupLassoRegressor auto (scaling)", lambda: est0.fit(Xt, Yt))
    for var, values in grids.items():
        rows = []
        for v in values:
            kw = dict(base)
            kw[var] = v
            X, Y = make_multitask_regression(kw["n"], kw["d"], kw["T"], n_informative=max(
                kw["d"] // 10, 1), correlation=0.5, noise=1.0, random_state=0)
            est = GroupLassoRegressor(solver="auto", tol=1e-6, max_iter=100_000)
            est.set_params(alpha=est.compute_alpha_max(X, Y) / 10)
            t, e = timed(lambda: est.fit(X, Y))
            rows.append((v, t, int(e.n_iter_)))
            print(f"  scaling {var}={v:5d} ({kw}): {t:.4f} s, {e.n_iter_} iterations", flush=True)
        vals = np.array([r[0] for r in rows], dtype=float)
        ts = np.array([r[1] for r in rows])
        slope = np.polyfit(np.log(vals), np.log(ts), 1)[0]
        upper = np.polyfit(np.log(vals[len(vals) // 2:]), np.log(ts[len(vals) // 2:]), 1)[0]
        results[var] = dict(rows=rows, exponent=float(slope), exponent_upper_half=float(upper))
        print(f"  => time ~ {var}^{slope:.2f} (upper half of the range: {upper:.2f})", flush=True)
    return results


def plot_scaling(results, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 3.6))
    for ax, (var, r) in zip(np.atleast_1d(axes), results.items()):
        v = [x[0] for x in r["rows"]]
        t = [x[1] for x in r["rows"]]
        ax.loglog(v, t, "-o")
        ax.set_xticks(v, [str(x) for x in v])  # the measured sizes, no minor labels
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(var)
        ax.set_ylabel("fit time (s)")
        ax.set_title(f"time ~ {var}^{r['exponent']:.2f}", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    fig.suptitle("GroupLassoRegressor (solver='auto', tol=1e-6), alpha_max/10; "
                 "base n=500, d=500, T=10", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ==================================================================== configuration
@dataclass
class Effort:
    tols: list
    budget: float
    max_iter: int
    peer_tols: list = None
    skglm_tols: list = None
    peer_budget: float = 60.0
    peer_max_iter: int = 100_000


class Config:
    def __init__(self, quick):
        self.quick = quick
        self.scs_time_limit = 10.0 if quick else 15.0
        self.clarabel_time_limit = 20.0 if quick else 45.0
        ours = [10.0 ** -k for k in range(2, 11)]  # 1e-2 .. 1e-10
        peer = [10.0 ** -k for k in range(2, 13)]  # 1e-2 .. 1e-12
        if quick:
            ours = [1e-2, 1e-4, 1e-6, 1e-8, 1e-10]
            peer = [1e-2, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12]
        self._ours_tols, self._peer_tols = ours, peer

    def ours(self, size):
        tols = self._ours_tols
        budget = {"small": 15, "medium": 30, "school": 8, "large": 120, "logistic": 20}[size]
        if size == "large" and not self.quick:
            tols = [1e-2, 1e-4, 1e-6, 1e-8]
        if self.quick:
            budget = min(budget, 10)
        return Effort(tols, budget, max_iter=100_000)

    def peers(self, size):
        budget = {"small": 15, "medium": 30, "large": 30, "logistic": 20}.get(size, 15)
        tols = self._peer_tols
        if self.quick:
            budget = min(budget, 10)
        return Effort(None, None, None, peer_tols=tols, skglm_tols=tols, peer_budget=budget)


# ============================================================================= main
def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small problems, few levels")
    parser.add_argument("--only", choices=FAMILIES, action="append",
                        help="run only this problem family (repeatable)")
    parser.add_argument("--numba-cache", action="store_true",
                        help="keep numba's on-disk cache (default: cold compile)")
    parser.add_argument("--slow-cvxpy", action="store_true",
                        help="also run Clarabel on the trace-norm SDP (minutes per problem)")
    parser.add_argument("--out", default=str(RESULTS), help="output folder")
    args = parser.parse_args()
    cfg = Config(args.quick)
    cfg.slow_cvxpy = args.slow_cvxpy
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    families = [f for f in FAMILIES if f in args.only] if args.only else list(FAMILIES)
    load_start = os.getloadavg()
    stem = "solvers_quick" if args.quick else "solvers"  # a smoke run never overwrites
    command = "python benchmarks/bench_solvers.py" + " ".join(
        [""] + sys.argv[1:]).rstrip()
    start = time.perf_counter()
    t0 = time.perf_counter()
    import mtlreg  # noqa: F401  (import time is reported)
    import_s = time.perf_counter() - t0
    info = machine_info()

    all_rows, summaries, scaling, family_time, interference = [], [], None, {}, {}
    raw = {"command": command, "machine": info, "problems": {}}
    runners = dict(shared=family_shared, school=family_school, large=family_large,
                   logistic=family_logistic)
    for fam in families:
        t_fam = time.perf_counter()
        snap = cpu_snapshot()
        if fam == "scaling":
            scaling = family_scaling(cfg)
            plot_scaling(scaling, out_dir / f"{stem}_scaling.png")
            raw["scaling"] = scaling
        else:
            for p, traces in runners[fam](cfg):
                gc.collect()
                rows, summary = summarise(p.key, traces)
                all_rows += rows
                summary["title"] = p.title
                cvx = [tr for tr in traces if tr.solver.startswith("cvxpy") and tr.records
                       and (tr.records[-1].objective - summary["f_star"])
                       <= TARGET * abs(summary["f_star"])]
                if cvx:
                    summary["cvxpy_solver_only"] = min(
                        (tr.extra.get("solver_only_s") or tr.records[-1].time, tr.solver)
                        for tr in cvx)
                summaries.append(summary)
                plot_traces(p.title, traces, summary["f_star"],
                            out_dir / f"{stem}_{p.key}.png")
                raw["problems"][p.key] = dict(title=p.title, traces=traces, summary=summary)
                _print_rows(rows, summary)
        family_time[fam] = time.perf_counter() - t_fam
        interference[fam] = other_cpu_share(snap)
        dump_json(out_dir / f"{stem}_raw.json", raw)
    total = time.perf_counter() - start
    info["load"] = (f"load average at start {load_start[0]:.2f} / {load_start[1]:.2f} / "
                    f"{load_start[2]:.2f}, at end {' / '.join(f'{x:.2f}' for x in os.getloadavg())}"
                    " (1 / 5 / 15 min; this run alone accounts for about 1-2)")
    info["interference"] = interference
    write_markdown(out_dir / f"{stem}.md", command, info, import_s, all_rows, summaries,
                   scaling, family_time, total, args)
    print(f"\nwritten to {out_dir / (stem + '.md')} ({total:.0f} s in all)")


def _print_rows(rows, summary):
    print(f"  f* = {summary['f_star']:.15g}; (best ours - best peer)/|f*| = "
          f"{summary['ours_minus_peers']:.2e}")
    for line in markdown_rows(rows):
        print("  " + line)


def write_markdown(path, command, info, import_s, rows, summaries, scaling, family_time,
                   total, args):
    lines = ["# Solver benchmark: time to a relative suboptimality of 1e-6", "",
             f"Command: `{command}` ({total:.0f} s in all: " + ", ".join(
                 f"{k} {v:.0f} s" for k, v in family_time.items()) + ")", ""]
    lines += info_lines(info)
    if "load" in info:
        lines.append(f"- {info['load']}")
    if info.get("interference"):
        lines.append("- CPU capacity used by other processes during each family (from "
                     "/proc/stat minus this process; 0% = the machine to itself): " + ", ".join(
                         f"{k} {100 * v:.0f}%" for k, v in info["interference"].items()))
    lines += [f"- numba cache: {'on-disk (warm)' if args.numba_cache else 'fresh temporary folder (cold compile)'}; "
              f"`import mtlreg` took {import_s:.2f} s", ""]
    lines += [
        "Every objective is computed by `benchmarks/_common.py::objective` from the returned "
        "coefficients (the package's scaling: per task the mean loss, unpenalised per-task "
        "intercepts). f* = best objective of any run on the problem. 'time to 1e-6' = wall "
        "time of the first run (each run from scratch, tolerance ladder) with "
        "(f - f*)/|f*| <= 1e-6; '> t' = never reached, t = its last (most effortful) run. "
        "'speed-up vs best peer' = best peer time / this time (> 1: faster than every peer). "
        "'compile / setup': numba compile of a tiny warm-up fit (ours, skglm; incremental "
        "in run order: kernels shared with an earlier row were compiled there), cvxpy "
        "build + canonicalisation (included in its time). Plots: `solvers_<problem>.png` "
        "(git-ignored).", ""]
    lines.append("## Summary per problem")
    lines.append("")
    lines.append("| problem | f* | best of ours (s) | best peer (s) | best peer / best ours "
                 "| (best ours - best peer)/abs(f*) |")
    lines.append("|---|---|---|---|---|---|")
    for s in summaries:
        bo, bp = s["best_ours"], s["best_peer"]

        def show(b):
            if b is None:
                return "n/a"
            return f"{b[2]}: {'' if b[1] else '> '}{b[0]:.3g}"

        ratio = ""
        if bo and bp and bo[0] > 0:
            r = bp[0] / bo[0]
            ratio = (f"{r:.3g}" if bo[1] and bp[1] else f">= {r:.3g}" if bo[1]
                     else f"<= {r:.3g}" if bp[1] else "?")
        gap = s["ours_minus_peers"]
        lines.append(f"| {s['problem']} | {s['f_star']:.10g} | {show(bo)} | {show(bp)} | "
                     f"{ratio} | {gap:.1e} |")
    school = [s for s in summaries if s["problem"].startswith("b_") and s["best_ours"]]
    if school:
        lines += ["", "## (b) School: cvxpy against our best solver (project target >= 100)",
                  "", "'cvxpy total' is what a cvxpy user waits for (build + canonicalise + "
                  "solve); 'solver only' is the conic solver's own time as reported by cvxpy.",
                  "", "| problem | our best (s) | cvxpy best total (s) | ratio | cvxpy best "
                  "solver only (s) | ratio |", "|---|---|---|---|---|---|"]
        for s in school:
            bo, bp = s["best_ours"], s["best_peer"]
            so = s.get("cvxpy_solver_only")
            r1 = f"{bp[0] / bo[0]:.3g}" if bp and bp[1] and bo[1] else "n/a"
            r2 = f"{so[0] / bo[0]:.3g}" if so and bo[1] else "n/a"
            lines.append(f"| {s['problem']} | {bo[2]}: {bo[0]:.3g} | "
                         f"{bp[2] + ': ' + format(bp[0], '.3g') if bp else 'n/a'} | {r1} | "
                         f"{so[1] + ': ' + format(so[0], '.3g') if so else 'n/a'} | {r2} |")
    lines += ["", "## All solvers", ""] + TABLE_HEADER + markdown_rows(rows)
    if _COMPILE:
        lines += ["", "## Warm-up fits (compile or cache load), in run order", "",
                  "| warm-up | s |", "|---|---|"]
        for k, v in _COMPILE.items():
            lines.append(f"| {k} | {'n/a' if isinstance(v, Exception) else f'{v:.2f}'} |")
    if scaling:
        lines += ["", "## (e) Scaling of GroupLassoRegressor(solver='auto', tol=1e-6)", "",
                  "Shared design, Toeplitz 0.5, 10% informative rows, alpha_max/10; base "
                  "n=500, d=500, T=10, one variable changed at a time. Plot: "
                  "`solvers_scaling.png`.", "",
                  "| varied | values | times (s) | iterations | exponent (all) | "
                  "exponent (upper half) |", "|---|---|---|---|---|---|"]
        for var, r in scaling.items():
            lines.append(f"| {var} | {', '.join(str(x[0]) for x in r['rows'])} | "
                         f"{', '.join(f'{x[1]:.3g}' for x in r['rows'])} | "
                         f"{', '.join(str(x[2]) for x in r['rows'])} | {r['exponent']:.2f} | "
                         f"{r['exponent_upper_half']:.2f} |")
    Path(path).write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
