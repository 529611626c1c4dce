"""The problems of the solver benchmark and how mtlreg's estimators are run on them.

Every run of ours is timed twice over: the whole ``fit`` from the user's arrays (what a
user waits for: input checks, layout, the solve, the result) and the solver alone (the
estimator's ``_solve`` call, timed by a temporary wrapper, see :func:`solve_timer`).
One-time numba compilation is never inside a run: a tiny fit of the same configuration
is timed first (:func:`warm`). The default estimator (``solver="auto"``) can also be timed
in a fresh Python process, numba's cache on disk (:func:`fresh_process_fit`).
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from _common import Trace, objective, run_ladder


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
    task_weights: object = None  # (T,) or None (all 1)
    fit_intercept: bool = True
    gram_form: bool = False  # few features: our squared loss runs on Gram matrices
    alphas: object = None  # a path: the grid (decreasing); pen["alpha"] is then unused

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
        """The objective of a solution; for a path, the sum over the grid, with the
        per-alpha values in ``res["objs"]`` (filled in here)."""
        if self.alphas is None:
            return self._objective(res["coef"], res["intercept"], res.get("parts"),
                                   self.pen)
        objs = [self._objective(c, b, None, dict(self.pen, alpha=a))
                for a, c, b in zip(self.alphas, res["coefs"], res["intercepts"])]
        res["objs"] = objs
        return float(np.sum(objs))

    def _objective(self, coef, intercept, parts, pen):
        return objective(self.X, self.y, coef, intercept, codes=self.codes, loss=self.loss,
                         penalty=self.penalty, parts=parts, task_weights=self.task_weights,
                         **pen)


def per_task_problem(key, title, Xfull, y, **kw):
    codes = np.unique(Xfull[:, 0], return_inverse=True)[1].astype(np.intp)
    X = np.ascontiguousarray(Xfull[:, 1:])
    return Problem(key, title, X, np.asarray(y, dtype=np.float64), codes=codes,
                   n_tasks=int(codes.max()) + 1, **kw)


# ===================================================================== compile times
COMPILE = {}  # warm-up key -> seconds of the first tiny fit in this process


def warm(key, fn):
    """Time ``fn()`` the first time ``key`` is seen (numba compile, or cache load)."""
    if key not in COMPILE:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0 = time.perf_counter()
            try:
                fn()
            except Exception as exc:  # noqa: BLE001 - reported as n/a by the caller
                COMPILE[key] = exc
                return exc
            COMPILE[key] = time.perf_counter() - t0
        print(f"  [warm-up] {key}: {COMPILE[key]:.2f} s", flush=True)
    return COMPILE[key]


def tiny_like(problem):
    """A tiny problem that takes the same code path (layout, loss, Gram form or not)."""
    from mtlreg.datasets import make_multitask_classification, make_multitask_regression

    gram = problem.gram_form
    if problem.loss == "logistic":
        layout = "per_task" if problem.per_task else "shared"
        return make_multitask_classification(40, 8, 3, layout=layout, random_state=0)
    if problem.per_task:
        if gram:  # many rows per task, few features: Gram form
            return make_multitask_regression(30, 5, 4, layout="per_task", random_state=0)
        return make_multitask_regression(5, 40, 3, layout="per_task", random_state=0)
    if gram:
        return make_multitask_regression(200, 5, 3, random_state=0)
    return make_multitask_regression(20, 60, 3, random_state=0)


# ========================================================================= runners
@contextlib.contextmanager
def solve_timer(est_class):
    """Within the block, ``est_class._solve`` (the solver call of ``fit`` and of
    ``regularization_path``) adds its wall time to ``box[0]``."""
    box = [0.0]
    original = est_class.__dict__.get("_solve")
    inherited = getattr(est_class, "_solve")

    def timed_solve(self, *args, **kwargs):
        t0 = time.perf_counter()
        try:
            return inherited(self, *args, **kwargs)
        finally:
            box[0] += time.perf_counter() - t0

    est_class._solve = timed_solve
    try:
        yield box
    finally:
        if original is None:
            del est_class._solve
        else:
            est_class._solve = original


def _ours_fit(est, problem):
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning

    Xfit, y = problem.fit_X(), problem.y

    def fit(tol, max_iter):
        e = clone(est).set_params(tol=tol, max_iter=int(max_iter))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            with solve_timer(type(e)) as box:
                if problem.alphas is None:
                    e.fit(Xfit, y)
                else:
                    from mtlreg import regularization_path

                    path = regularization_path(e, Xfit, y, alphas=problem.alphas)
        conv = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
        if problem.alphas is not None:
            return dict(coefs=path.coefs[0], intercepts=path.intercepts[0],
                        n_iter=int(path.n_iters.sum()), converged=conv, solve_s=box[0])
        res = dict(coef=e.coef_, intercept=e.intercept_, n_iter=int(e.n_iter_),
                   converged=conv, solve_s=box[0])
        first = getattr(e, "coef_shared_", getattr(e, "coef_lowrank_", None))
        if first is not None:  # dirty: shared + specific; robust, rMTFL: + outlier tasks
            res["parts"] = (first, getattr(e, "coef_specific_", getattr(e, "coef_outlier_",
                                                                         None)))
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


def _tiny_fit(est, Xt, yt, path=False):
    """Fit a clone of ``est`` on the tiny problem with its strengths scaled to that problem:
    the big problem's alpha can exceed the tiny one's alpha_max, and a fit that stops at
    the null model compiles nothing of the solver. Array task weights do not fit the tiny
    problem: they are dropped (they change no code path)."""
    from sklearn.base import clone

    e = clone(est).set_params(tol=1e-4, max_iter=200)
    if e.get_params().get("task_weights") is not None:
        e.set_params(task_weights=None)
    e.set_params(**strengths_at_tenth(e, Xt, yt))
    if path:
        from mtlreg import regularization_path

        return regularization_path(e, Xt, yt, n_alphas=5)
    return e.fit(Xt, yt)


def solver_names(est):
    """Our solvers for ``est``: ``auto`` (the default) first, then every explicit one the
    estimator accepts (read from the estimator, so a new solver shows up by itself)."""
    return ["auto"] + [s for s in type(est)._solvers if s != "auto"]


def run_ours(problem, est, solver, effort, *, label=None, fresh=False):
    """Our estimator ``est`` (configured: alpha, ...) with ``solver``, tolerance ladder;
    ``fresh``: the default (``solver="auto"``) is also timed in a new process."""
    from sklearn.base import clone

    base = type(est).__name__.replace("Regressor", "").replace("Classifier", " clf")
    name = label or f"mtlreg {base} {solver}"
    est = clone(est).set_params(solver=solver)
    if problem.per_task:
        est.set_params(task_column=0)
    tr = Trace(name, "ours", default=solver == "auto")
    Xt, yt = tiny_like(problem)
    kind = ("per_task" if problem.per_task else "shared") + (
        "/gram" if problem.gram_form else "") + f"/{problem.loss}" + (
        "/path" if problem.alphas is not None else "")
    key = f"mtlreg {type(est).__name__}({getattr(est, 'block_norm', '')}) {solver} {kind}"
    c = warm(key, lambda: _tiny_fit(est, Xt, yt, path=problem.alphas is not None))
    if isinstance(c, Exception):
        tr.note = f"n/a: {str(c).splitlines()[0][:160]}"
        return tr
    tr.compile_s = c
    run_ladder(tr, _ours_fit(est, problem), effort.tols, problem.score,
               budget_s=effort.budget, rate_key=True, max_iter=effort.max_iter)
    if fresh and solver == "auto" and tr.records:
        # timed by the caller (add_fresh_process_times) once f* is known: at the first
        # tolerance of the ladder that reached 1e-6
        tr.extra["fresh_est"] = est
    return tr


def add_fresh_process_times(problem, traces, subopt, target):
    """For each trace marked by ``run_ours(fresh=True)``: the first fit in a new process
    at the tolerance of its first run within ``target`` (``tr.extra["fresh"]``)."""
    from _common import first_at_target

    for tr in traces:
        est = tr.extra.pop("fresh_est", None)
        if est is None or problem.alphas is not None:
            continue
        rec, reached = first_at_target(tr, subopt, target)
        if not reached:
            continue
        try:
            out = fresh_process_fit(est.set_params(tol=float(rec.effort)), problem.fit_X(),
                                    problem.y)
        except (subprocess.CalledProcessError, OSError, ValueError) as exc:
            tr.note = (tr.note + "; " if tr.note else "") + f"fresh process failed: {exc}"[:200]
            continue
        tr.extra["fresh"] = out["fit_s"]
        tr.extra["fresh_cpu"] = out["cpu_s"]
        print(f"    {tr.solver}: first fit in a new process {out['fit_s']:.4f} s "
              f"(CPU {out['cpu_s']:.4f} s; import mtlreg {out['import_s']:.2f} s)", flush=True)


# ==================================================================== fresh process
_CHILD = r"""
import json, pickle, resource, sys, time, warnings
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t0 = time.perf_counter()
import mtlreg
t_import = time.perf_counter() - t0
with open(sys.argv[1], "rb") as f:
    est, X, y = pickle.load(f)
warnings.simplefilter("ignore")
t0, c0 = time.perf_counter(), cpu()
est.fit(X, y)
print(json.dumps(dict(import_s=t_import, fit_s=time.perf_counter() - t0, cpu_s=cpu() - c0)))
"""


def fresh_process_fit(est, X, y):
    """The first ``est.fit(X, y)`` in a new Python process that shares this process's
    numba cache folder (so the kernels are loaded from disk, not compiled): wall and CPU
    seconds of the fit, and of ``import mtlreg``. The data reach the child by pickle,
    outside the timed call (they are the user's arrays, already in memory)."""
    with tempfile.NamedTemporaryFile(suffix=".pkl", delete=False) as f:
        pickle.dump((est, X, y), f, protocol=pickle.HIGHEST_PROTOCOL)
        path = f.name
    import mtlreg

    root = os.path.dirname(os.path.dirname(mtlreg.__file__))  # the mtlreg this process uses
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    try:
        out = subprocess.run([sys.executable, "-c", _CHILD, path], capture_output=True,
                             text=True, check=True, env=env)
        return json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        os.unlink(path)
