"""Problem family (b''') of the solver benchmark: the task-relation models on School
(issue 11), against cvxpy with each objective written from the estimator's docstring
(``_relation_penalties.py``).

School raw (``load_school()``, per-task layout, 139 tasks, 28 features), the package's
objective (per task the mean loss, unpenalised per-task intercepts). Parameters: the
middle of ``school_family.py``'s grids where it has the model; the temporal models
(TGL, fused), which it leaves out (School has no time order), take ``alpha_max/10`` as
the School group lasso problems do, the task order being the task index order (the
sorted school ids, ``task_order=None``). Classifiers: labels ``y > median(y)``,
``alpha = alpha_max/10`` (and ``beta = beta_max/10``) where that is finite, the other
parameters as the regressors' or the defaults.
"""

from __future__ import annotations

import numpy as np
from _common import Trace
from _ours import per_task_problem, run_ours, solver_names
from _peers import run_cvxpy
from _relation_penalties import SDP

PEN_KEYS = ("alpha", "beta", "rho", "l1_ratio", "l2_reg", "eta", "n_clusters")


def _school():
    from mtlreg.datasets import load_school

    data = load_school()
    return data.data.copy(), data.target


def _forms(classifier):
    """(name, estimator class, penalty, fixed parameters, rule for the strengths)."""
    import mtlreg

    kind = "Classifier" if classifier else "Regressor"
    if not classifier:  # school_family.py's middle values where it has the model
        forms = [
            ("GraphRegularized", "graph",
             {"graph": "complete", "sparsity": "l1", "rho": 10.0, "alpha": 0.1}, None),
            ("TemporalGroupLasso", "tgl", {"rho": 10.0}, "tenth"),
            ("FusedGroupLasso", "fused", {"l1_ratio": 0.5}, "tenth_fused"),
            ("SparseTraceNorm", "sparse_trace", {"alpha": 10.0, "l1_ratio": 0.3}, None),
            ("RobustMultiTask", "robust", {"alpha": 10.0, "beta": 30.0}, None),
            ("RobustFeatureLearning", "rmtfl", {"alpha": 10.0, "beta": 30.0}, None),
            ("Clustered", "clustered", {"n_clusters": 3, "alpha": 0.3, "eta": 1.0}, None),
        ]
    else:
        forms = [
            ("GraphRegularized", "graph", {"graph": "complete", "sparsity": "l1"}, "tenth"),
            ("TemporalGroupLasso", "tgl", {}, "tenth"),
            ("FusedGroupLasso", "fused", {"l1_ratio": 0.5}, "tenth_fused"),
            ("SparseTraceNorm", "sparse_trace", {"l1_ratio": 0.3}, "tenth"),
            ("RobustMultiTask", "robust", {}, "tenth"),
            ("RobustFeatureLearning", "rmtfl", {}, "tenth"),
            ("Clustered", "clustered", {"n_clusters": 3}, None),
        ]
    return [(name, getattr(mtlreg, name + kind), penalty, fixed, rule)
            for name, penalty, fixed, rule in forms]


def _strengths(est, rule, Xfull, y):
    """``alpha = alpha_max/10`` (``beta = beta_max/10`` where the model has one; the fused
    model: ``beta = alpha/10``); the description of the parameters."""
    params = {}
    if rule:
        amax = est.compute_alpha_max(Xfull, y)
        params["alpha"] = amax / 10
        desc = [f"alpha=alpha_max/10={amax / 10:.4g}"]
        if hasattr(est, "compute_beta_max"):
            params["beta"] = est.compute_beta_max(Xfull, y) / 10
            desc.append(f"beta=beta_max/10={params['beta']:.4g}")
        elif rule == "tenth_fused":
            params["beta"] = params["alpha"] / 10
            desc.append(f"beta=alpha/10={params['beta']:.4g}")
        est.set_params(**params)
    all_params = est.get_params()
    shown = [f"{k}={all_params[k]:g}" for k in PEN_KEYS if k in all_params and k not in params]
    return ", ".join((desc if rule else []) + shown)


# ``--skip-slow``: formulations whose solvers are impractically slow on School (at the time
# of writing: the sparse + trace norm model's prox, a dual iteration per FISTA step)
SLOW = ("SparseTraceNorm",)
# classifiers without a problem here, and why: their cvxpy problem is an SDP (a PSD cone of
# size about d + T = 167) plus one exponential cone per row (15 362); Clarabel is skipped on
# the SDPs (as for the trace norm), and SCS alone needs several times its time limit there
# (results/relations_check.md), so the family's run stays near 15 minutes without them
_SDP_LOGISTIC = "cvxpy: an SDP plus 15 362 exponential cones (see _relations.CLF_LEFT_OUT)"
CLF_LEFT_OUT = {"SparseTraceNorm": _SDP_LOGISTIC, "RobustMultiTask": _SDP_LOGISTIC,
                "Clustered": _SDP_LOGISTIC}


def family_relations(cfg):
    Xfull, target = _school()
    out = []
    for classifier in (False, True):
        y = (target > np.median(target)).astype(np.float64) if classifier else target
        forms = _forms(classifier)
        if cfg.quick:
            keep = ("GraphRegularized", "RobustFeatureLearning") if classifier else (
                "GraphRegularized", "TemporalGroupLasso", "RobustFeatureLearning",
                "Clustered")
            forms = [f for f in forms if f[0] in keep]
        for name, cls, penalty, fixed, rule in forms:
            if classifier and name in CLF_LEFT_OUT:
                print(f"\n== {cls.__name__}: left out, {CLF_LEFT_OUT[name]}", flush=True)
                continue
            est = cls(task_column=0, **fixed)
            desc = _strengths(est, rule, Xfull, y)
            params = est.get_params()
            pen = {k: params[k] for k in PEN_KEYS if k in params}
            key = f"b_rel_{'clf_' if classifier else ''}{name}"
            label = "y > median, " if classifier else ""
            title = f"(b''') School raw, {label}{cls.__name__}: {desc}"
            if name in ("TemporalGroupLasso", "FusedGroupLasso"):
                title += "; tasks in index order"
            if name in SLOW and cfg.skip_slow:
                print(f"\n== {title}: skipped (--skip-slow)", flush=True)
                continue
            out.append(relation_problem(cfg, key, title, est, Xfull, y, penalty, pen,
                                        "logistic" if classifier else "squared"))
    return out


def relation_problem(cfg, key, title, est, Xfull, y, penalty, pen, loss):
    p = per_task_problem(key, title, Xfull, y, penalty=penalty, pen=pen, loss=loss,
                         task_weights=None, fit_intercept=est.fit_intercept)
    p.gram_form = loss == "squared"
    print(f"\n== {p.title}", flush=True)
    traces = [run_ours(p, est, s, cfg.ours("school"), fresh=True) for s in solver_names(est)]
    for which in ("Clarabel", "SCS"):
        if which == "Clarabel" and penalty in SDP and not cfg.slow_cvxpy:
            traces.append(Trace("cvxpy Clarabel", "peer", note=(
                "skipped (run with --slow-cvxpy): an SDP with a PSD block of size about "
                f"{Xfull.shape[1] - 1 + p.n_tasks}, interior-point iterations that each take "
                "long here; Clarabel's time_limit is only checked between iterations")))
            continue
        traces.append(run_cvxpy(p, which, cfg))
    return p, traces
