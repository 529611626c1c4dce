"""The peers of the solver benchmark: scikit-learn, celer, skglm, cvxpy.

Each runner returns a :class:`_common.Trace` (a tolerance ladder, every run scored by
``_common.objective``). Their ``fit`` functions return no ``solve_s`` where the peer's
own call cannot be split (sklearn, celer, skglm: their fit time stands for the solver
time); cvxpy reports its solver time apart from building and canonicalising.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import scipy.sparse as sp
from _common import Trace, run_ladder
from _ours import tiny_like, warm
from _relation_penalties import RELATION_PENALTIES, TWO_PARTS, relation_cvx_penalty


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

    tr = _skglm_trace("skglm MultiTaskLasso", problem)
    return run_ladder(tr, fit, cfg.skglm_tols, problem.score, budget_s=cfg.peer_budget)


def _skglm_trace(name, problem):
    """A peer trace for skglm's MultiTaskLasso, its compile time measured apart (one fit of
    a tiny problem like ``problem``; ``None`` when that fit failed)."""
    from skglm import MultiTaskLasso

    tr = Trace(name, "peer")
    Xt, Yt = tiny_like(problem)
    c = warm("skglm MultiTaskLasso (dense)",
             lambda: MultiTaskLasso(alpha=0.01, tol=1e-6).fit(Xt, Yt))
    tr.compile_s = None if isinstance(c, Exception) else c
    return tr


# --------------------------------------------------------------------------- cvxpy
def cvxpy_build(problem):
    """Our objective, written in cvxpy: returns (cvxpy problem, extract function)."""
    import cvxpy as cp

    d, T = problem.X.shape[1], problem.n_tasks
    X, y = problem.X, problem.y
    pen = problem.pen
    dirty = problem.penalty in ("dirty",) + TWO_PARTS  # W = B + S, both variables
    if dirty:
        B, S = cp.Variable((d, T)), cp.Variable((d, T))
        W = B + S
    else:
        W = cp.Variable((d, T))
    b = cp.Variable(T) if problem.fit_intercept else np.zeros(T)
    lam = (np.ones(T) if problem.task_weights is None
           else np.asarray(problem.task_weights, dtype=np.float64))
    if not problem.per_task:
        n = X.shape[0]
        Z = X @ W + np.ones((n, 1)) @ cp.reshape(b, (1, T), order="C")
        if problem.loss == "squared":
            data = cp.sum_squares(cp.multiply(y - Z, np.sqrt(lam)[None, :])) / (2 * n)
        else:
            data = cp.sum(cp.multiply(cp.logistic(Z) - cp.multiply(y, Z), lam[None, :])) / n
    else:
        terms = []
        for t in range(T):
            rows = np.flatnonzero(problem.codes == t)
            z_t = X[rows] @ W[:, t] + b[t]
            if problem.loss == "squared":
                terms.append((y[rows] - z_t) * np.sqrt(lam[t] / (2.0 * len(rows))))
            else:
                terms.append(cp.sum(cp.logistic(z_t) - cp.multiply(y[rows], z_t))
                             * (lam[t] / len(rows)))
        data = cp.sum_squares(cp.hstack(terms)) if problem.loss == "squared" else cp.sum(
            cp.hstack(terms))
    alpha = pen.get("alpha", 0.0)
    l2 = pen.get("l2_reg", 0.0)
    constraints = []
    if problem.penalty in RELATION_PENALTIES:  # the ridge term is in there
        reg, constraints = relation_cvx_penalty(problem.penalty, W, (B, S) if dirty else None,
                                                pen, T)
        l2 = 0.0
    elif problem.penalty == "l21":
        reg = alpha * cp.sum(cp.norm(W, 2, axis=1))
    elif problem.penalty == "sgl":
        r = pen["l1_ratio"]
        reg = alpha * (r * cp.sum(cp.abs(W)) + (1 - r) * cp.sum(cp.norm(W, 2, axis=1)))
    elif problem.penalty == "trace":
        reg = alpha * cp.normNuc(W)
    elif problem.penalty == "l1":
        reg = alpha * cp.sum(cp.abs(W))
    elif problem.penalty == "none":
        reg = 0.0
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
    prob = cp.Problem(cp.Minimize(data + reg), constraints)

    def extract():
        intercept = np.asarray(b.value if problem.fit_intercept else b).ravel()
        res = dict(coef=np.asarray(W.value).T, intercept=intercept)
        if dirty:
            res["parts"] = (np.asarray(B.value).T, np.asarray(S.value).T)
        return res

    return prob, extract


# cvxpy climbs a tolerance ladder like every other contestant (issue 26 item 16): each run
# from scratch (building, canonicalising, solving) at one tolerance, scored by the same
# objective; its time to 1e-6 is that of its first run within 1e-6 (``run_ladder``,
# ``first_at_target``), as for us and the other peers.
CVXPY_EPS = [10.0 ** -k for k in range(3, 11)]  # 1e-3 .. 1e-10
CVXPY_QUICK_EPS = [1e-3, 1e-5, 1e-7, 1e-9]


def cvxpy_opts(which, eps):
    """Solver options at tolerance ``eps``: SCS ``eps_abs = eps_rel = eps``; Clarabel
    ``tol_gap_abs = tol_gap_rel = tol_feas = eps`` (and ``tol_ktratio = min(1e-6, 100 eps)``,
    its default 1e-6 at loose levels, 1e-8 at 1e-10: the former single tight solve)."""
    if which == "SCS":
        return dict(solver="SCS", eps_abs=eps, eps_rel=eps, max_iters=200_000)
    return dict(solver="CLARABEL", tol_gap_abs=eps, tol_gap_rel=eps, tol_feas=eps,
                tol_ktratio=min(1e-6, 100 * eps), max_iter=400)


def W_missing(prob):
    return any(v.value is None for v in prob.variables())


def run_cvxpy(problem, which, cfg):
    """A tolerance ladder (``CVXPY_EPS``), each run timed as a cvxpy user waits for it
    (building the expression, canonicalisation, the solve); the solver's own time
    (``solver_stats.solve_time``) is the "solver alone" time, the rest is setup. Every
    solve has the solver's time limit (``cfg.scs_time_limit``, ``cfg.clarabel_time_limit``);
    the ladder stops at twice that limit in all, or at a solve that fails."""
    tr = Trace(f"cvxpy {which}", "peer")
    limit = cfg.scs_time_limit if which == "SCS" else cfg.clarabel_time_limit
    statuses = []

    def fit(eps, _max_iter):
        opts = cvxpy_opts(which, eps)
        opts["time_limit_secs" if which == "SCS" else "time_limit"] = limit
        t0 = time.perf_counter()
        prob, extract = cvxpy_build(problem)
        t_build = time.perf_counter() - t0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prob.solve(**opts)
        status = prob.status
        setup = t_build + (prob.compilation_time or 0.0)
        if status != "optimal" and setup + (prob.solver_stats.solve_time or 0.0) >= 0.95 * limit:
            status += f" (time limit {limit:g} s)"
        statuses.append((eps, status))
        if W_missing(prob):
            raise RuntimeError(f"status {prob.status}, no solution returned")
        return dict(extract(), solve_s=prob.solver_stats.solve_time,
                    converged=prob.status == "optimal")

    # one level at a time through run_ladder (the same timing, repeats and scoring), but
    # without its "three levels, one answer" stop: SCS tests convergence at intervals and
    # returned the same iterate at eps 1e-4, 1e-5 and 1e-6 on MALSAR's Least_L21 (3.9e-6
    # from f*), so an unchanged answer does not mean converged here. The ladder stops at
    # its time budget or at a failed solve.
    for eps in CVXPY_QUICK_EPS if getattr(cfg, "quick", False) else CVXPY_EPS:
        n_before = len(tr.records)
        run_ladder(tr, fit, [eps], problem.score, budget_s=2 * limit)
        if len(tr.records) == n_before:  # budget spent, or the solve failed (noted)
            break
    if statuses:
        # one entry per distinct status, with the tolerances that gave it
        seen = {}
        for e, st in dict(statuses).items():  # the last repeat of each tolerance
            seen.setdefault(st, []).append(f"{e:.0e}")
        text = "; ".join(f"status {st} at eps {', '.join(es)}" for st, es in seen.items())
        tr.note = (f"{tr.note}; " if tr.note else "") + text
    return tr


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




# ------------------------------------------------------------------------ paths
def _centred(X, Y):
    xm, ym = X.mean(axis=0), Y.mean(axis=0)
    return np.asfortranarray(X - xm), np.asfortranarray(Y - ym), xm, ym


def _path_result(coefs, xm, ym):
    """coefs (A, T, d) -> the per-alpha coefficients and intercepts ``ym - W xm``."""
    coefs = np.asarray(coefs)
    return dict(coefs=coefs, intercepts=[ym - W @ xm for W in coefs])


def run_sklearn_path(problem, cfg):
    """scikit-learn's multitask lasso path (``lasso_path`` with 2-D Y: the coordinate
    descent of ``MultiTaskLasso``, warm-started along the grid, as ``MultiTaskLassoCV``
    runs it), on X and Y centred as ``MultiTaskLasso`` centres them."""
    from sklearn.linear_model import lasso_path

    def fit(tol, max_iter):
        Xc, Yc, xm, ym = _centred(problem.X, problem.y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            _, coefs, _ = lasso_path(Xc, Yc, alphas=problem.alphas, tol=tol,
                                     max_iter=int(max_iter))
        return _path_result(np.moveaxis(coefs, -1, 0), xm, ym)  # (T, d, A) -> (A, T, d)

    tr = Trace("sklearn lasso_path (MultiTaskLasso CD)", "peer")
    return run_ladder(tr, fit, cfg.peer_tols, problem.score, budget_s=cfg.peer_budget,
                      max_iter=cfg.peer_max_iter)


def run_celer_path(problem, cfg):
    from celer.homotopy import mtl_path

    def fit(tol, _max_iter):
        Xc, Yc, xm, ym = _centred(problem.X, problem.y)
        _, coefs, _ = mtl_path(Xc, Yc, alphas=problem.alphas, tol=tol, max_iter=100)
        return _path_result(np.moveaxis(coefs, -1, 0), xm, ym)  # (T, d, A) -> (A, T, d)

    tr = Trace("celer mtl_path", "peer")
    return run_ladder(tr, fit, cfg.peer_tols, problem.score, budget_s=cfg.peer_budget)


def run_skglm_path(problem, cfg):
    """skglm has no multitask path function: ``MultiTaskLasso(warm_start=True)`` refitted
    along the grid (its own warm start)."""
    from skglm import MultiTaskLasso

    def fit(tol, _max_iter):
        m = MultiTaskLasso(alpha=problem.alphas[0], tol=tol, max_iter=100,
                           fit_intercept=True, warm_start=True)
        coefs, intercepts = [], []
        for a in problem.alphas:
            m.set_params(alpha=a).fit(problem.X, problem.y)
            coefs.append(np.array(m.coef_))
            intercepts.append(np.asarray(m.intercept_, dtype=float).copy())
        return dict(coefs=coefs, intercepts=intercepts)

    tr = _skglm_trace("skglm MultiTaskLasso (warm_start loop)", problem)
    return run_ladder(tr, fit, cfg.skglm_tols, problem.score, budget_s=cfg.peer_budget)
