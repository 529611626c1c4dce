"""Time to a relative suboptimality of 1e-6: mtlreg's solvers against the peers, one run.

    python benchmarks/bench_solvers.py                 # everything (~15 min on 2 cores)
    python benchmarks/bench_solvers.py --quick         # small problems, few levels (~5 min)
    python benchmarks/bench_solvers.py --only school   # one problem family (repeatable):
                                                       # shared, path, school, malsar,
                                                       # classifiers, logistic, relations,
                                                       # scaling, large

Method (see benchmarks/README.md): every solver is run several times with increasing
effort (tolerance ladder, each run from scratch); each run gives (wall time, objective),
the objective being computed by ONE numpy function (``_common.objective``) from the
returned coefficients and intercepts. ``f*`` is the best objective any run of any
solver reached on the problem; a solver's time to 1e-6 is the time of its first run with
``(f - f*) / |f*| <= 1e-6``. Two times per run: the whole fit from the user's arrays
(what a user waits for) and the solver alone; numba compile times (ours, skglm) in their
own column, never inside a run. Our default (``solver="auto"``) is listed first; the
explicit solvers beside it. By default numba compiles into a fresh temporary cache (cold
compile); ``--numba-cache`` keeps the on-disk cache.

Writes benchmarks/results/solvers.md, solvers_<problem>.png and solvers_raw.json
(``--quick``: solvers_quick.md, ...; ``--only F``: solvers_F.md, ... (solvers_quick_F.md
with both), so that a smoke or partial run never overwrites a full one).
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
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    TARGET,
    Trace,
    cpu_snapshot,
    dump_json,
    machine_info,
    other_cpu_share,
    plot_traces,
    subopt_function,
    summarise,
)
from _large import family_large, family_logistic  # noqa: E402
from _ours import (  # noqa: E402
    Problem,
    add_fresh_process_times,
    per_task_problem,
    run_ours,
    solver_names,
    strengths_at_tenth,
)
from _peers import (  # noqa: E402
    run_celer_mtl,
    run_celer_path,
    run_cvxpy,
    run_skglm_mtl,
    run_skglm_path,
    run_sklearn_mtl,
    run_sklearn_path,
)
from _relations import family_relations  # noqa: E402
from _report import family_scaling, plot_scaling, print_rows, write_markdown  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
# run order: the large problem last (its ~5 GB of allocations make the VM reclaim memory
# for a while, which slowed the next problems down in a trial run)
FAMILIES = ("shared", "path", "school", "malsar", "classifiers", "logistic", "relations",
            "scaling", "large")
# issue 15's targets: (best peer time) / (our default's time), whole fits side by side
TARGETS = {"shared": (5, "fastest peer"), "path": (5, "fastest peer"),
           "school": (100, "best cvxpy solver"), "malsar": (100, "best cvxpy solver"),
           "classifiers": (10, "best cvxpy solver"),
           "relations": (100, "best cvxpy solver"),  # issue 11: the task-relation models
           "relations/logistic": (10, "best cvxpy solver")}  # their classifiers


def _shared_data(n, d, T):
    from mtlreg.datasets import make_multitask_regression

    return make_multitask_regression(n, d, T, n_informative=d // 10, correlation=0.5,
                                     noise=1.0, random_state=0)


# ======================================================================== (a) shared
def family_shared(cfg):
    from mtlreg import GroupLassoRegressor

    sizes = [("small", 200, 500, 10)] + ([] if cfg.quick else [("medium", 1000, 5000, 20)])
    out = []
    for size, n, d, T in sizes:
        X, Y = _shared_data(n, d, T)
        amax = GroupLassoRegressor().compute_alpha_max(X, Y)
        for div in (10, 100):
            alpha = amax / div
            p = Problem(f"a_{size}_amax{div}",
                        f"(a) shared design {size} n={n} d={d} T={T}, Toeplitz 0.5, "
                        f"alpha=alpha_max/{div}", X, Y, penalty="l21",
                        pen=dict(alpha=alpha), n_tasks=T)
            print(f"\n== {p.title}", flush=True)
            est = GroupLassoRegressor(alpha=alpha)
            traces = [run_ours(p, est, s, cfg.ours(size), fresh=True)
                      for s in solver_names(est)]
            traces.append(run_sklearn_mtl(p, alpha, cfg.peers(size)))
            traces.append(run_celer_mtl(p, alpha, cfg.peers(size)))
            traces.append(run_skglm_mtl(p, alpha, cfg.peers(size)))
            if size == "small":
                for which in ("Clarabel", "SCS"):
                    traces.append(run_cvxpy(p, which, cfg))
            out.append((p, traces))
    return out


# ====================================================================== (a') path
def family_path(cfg):
    """A 30-alpha grid from alpha_max down to alpha_max/100 (``alpha_grid(eps=1e-2)``; the
    *CV default goes on to 1e-3 alpha_max, which a full run cannot afford for every peer),
    warm-started, against the peers' paths on the same grid."""
    from mtlreg import GroupLassoRegressor, alpha_grid

    size, n, d, T = ("small", 200, 500, 10) if cfg.quick else ("medium", 1000, 5000, 20)
    X, Y = _shared_data(n, d, T)
    grid = alpha_grid(GroupLassoRegressor(), X, Y, n_alphas=30, eps=1e-2)
    p = Problem(f"a_{size}_path30", f"(a') shared design {size} n={n} d={d} T={T}: path of "
                "30 alphas, alpha_max to alpha_max/100", X, Y,
                penalty="l21", pen={}, n_tasks=T, alphas=grid)
    print(f"\n== {p.title}", flush=True)
    est = GroupLassoRegressor()
    traces = [run_ours(p, est, s, cfg.ours("path")) for s in ("auto", "bcd")]
    pc = cfg.peers("path")
    traces += [run_sklearn_path(p, pc), run_celer_path(p, pc), run_skglm_path(p, pc)]
    return [(p, traces)]


# ======================================================================== (b) school
def _school(standardise=False):
    from sklearn.preprocessing import StandardScaler

    from mtlreg.datasets import load_school

    data = load_school()
    Xfull = data.data.copy()
    if standardise:
        Xfull[:, 1:] = StandardScaler().fit_transform(Xfull[:, 1:])
    return Xfull, data.target


def _school_problem(cfg, key, title, est, Xfull, y, penalty, pen, loss="squared"):
    p = per_task_problem(key, title, Xfull, y, penalty=penalty, pen=pen, loss=loss,
                         task_weights=getattr(est, "task_weights", None),
                         fit_intercept=est.fit_intercept)
    p.gram_form = loss == "squared"
    print(f"\n== {p.title}", flush=True)
    traces = [run_ours(p, est, s, cfg.ours("school"), fresh=True) for s in solver_names(est)]
    for which in ("Clarabel", "SCS"):
        if which == "Clarabel" and penalty == "trace" and not cfg.slow_cvxpy:
            traces.append(Trace("cvxpy Clarabel", "peer", note=(
                "skipped (run with --slow-cvxpy): the nuclear norm is an SDP with a "
                f"{Xfull.shape[1] - 1 + p.n_tasks}-wide PSD block, solved by interior-point "
                "iterations that each take long here; Clarabel's time_limit is only checked "
                "between iterations")))
            continue
        traces.append(run_cvxpy(p, which, cfg))
    return p, traces


def family_school(cfg):
    from mtlreg import (
        DirtyRegressor,
        GroupLassoRegressor,
        MeanRegularizedRegressor,
        SparseGroupLassoRegressor,
        TraceNormRegressor,
    )

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
    for feat_name in (("standardised",) if cfg.quick else ("raw", "standardised")):
        Xfull, y = _school(feat_name == "standardised")
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
            out.append(_school_problem(
                cfg, f"b_{name.replace(' ', '_')}_{feat_name}",
                f"(b) School {feat_name}: {name}, {desc}", est, Xfull, y, penalty, pen))
    return out


# ================================================================ (b') MALSAR setting
def family_malsar(cfg):
    """School raw, MALSAR's Least_* objective: summed squared loss
    ``sum_t ||X_t w_t - y_t||^2`` (task_weights = 2 n_t), no intercept."""
    from mtlreg import DirtyRegressor, GroupLassoRegressor, IndependentRegressor, TraceNormRegressor

    Xfull, y = _school()
    n_t = np.bincount(np.unique(Xfull[:, 0], return_inverse=True)[1]).astype(float)
    common = dict(task_column=0, task_weights=2 * n_t, fit_intercept=False)
    forms = [
        ("Least_L21", GroupLassoRegressor(**common), "l21", None),
        ("Least_Trace", TraceNormRegressor(**common), "trace", None),
        ("Least_Dirty", DirtyRegressor(block_norm="l1inf", alpha=100.0, beta=10.0, **common),
         "dirty", "alpha=100, beta=10 (issue 15's setting)"),
        ("Least_Lasso", IndependentRegressor(penalty="l1", **common), "l1", None),
    ]
    if cfg.quick:
        forms = forms[:1] + forms[2:3]
    out = []
    for name, est, penalty, desc in forms:
        if desc is None:
            strengths = strengths_at_tenth(est, Xfull, y)
            est.set_params(**strengths)
            desc = ", ".join(f"{k}={k}_max/10={v:.4g}" for k, v in strengths.items())
        pen = {k: v for k, v in est.get_params().items()
               if k in ("alpha", "beta", "block_norm", "l2_reg")}
        out.append(_school_problem(
            cfg, f"b_malsar_{name}", f"(b') School raw, MALSAR {name}: summed squared loss "
            f"(task_weights=2 n_t), no intercept, {desc}", est, Xfull, y, penalty, pen))
    return out


# ================================================================= (b'') classifiers
def family_classifiers(cfg):
    """School raw, labels y > median(y), every classifier with its default parameters
    (GroupLassoClassifier's alpha=0.01 is MALSAR's Logistic_L21 setting): per task the
    mean logistic loss, unpenalised per-task intercepts."""
    from mtlreg import (
        DirtyClassifier,
        GroupLassoClassifier,
        IndependentClassifier,
        MeanRegularizedClassifier,
        SparseGroupLassoClassifier,
        TraceNormClassifier,
    )

    Xfull, target = _school()
    y = (target > np.median(target)).astype(np.float64)
    forms = [
        (GroupLassoClassifier, "l21"), (SparseGroupLassoClassifier, "sgl"),
        (TraceNormClassifier, "trace"), (DirtyClassifier, "dirty"),
        (MeanRegularizedClassifier, "meanreg"), (IndependentClassifier, "none"),
    ]
    if cfg.quick:
        forms = [forms[0], forms[4]]
    out = []
    for cls, penalty in forms:
        est = cls(task_column=0)
        params = est.get_params()
        pen = {k: params[k] for k in ("alpha", "beta", "block_norm", "l1_ratio", "l2_reg")
               if k in params}
        if cls is IndependentClassifier:  # penalty="l2": (alpha + l2_reg)/2 ||W||^2
            pen = dict(l2_reg=params["alpha"] + params["l2_reg"])
        desc = ", ".join(f"{k}={params[k]}" for k in ("alpha", "beta", "l2_reg") if k in params)
        out.append(_school_problem(
            cfg, f"b_clf_{cls.__name__}", f"(b'') School raw, y > median: {cls.__name__} "
            f"(defaults: {desc})", est, Xfull, y, penalty, pen, loss="logistic"))
    return out


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
        self.scs_time_limit = 8.0 if quick else 15.0
        self.clarabel_time_limit = 15.0 if quick else 30.0
        ours = [10.0 ** -k for k in range(2, 11)]  # 1e-2 .. 1e-10
        peer = [10.0 ** -k for k in range(2, 13)]  # 1e-2 .. 1e-12
        if quick:
            ours = [1e-2, 1e-4, 1e-6, 1e-8, 1e-10]
            peer = [1e-2, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12]
        self._ours_tols, self._peer_tols = ours, peer

    def ours(self, size):
        tols = self._ours_tols
        budget = {"small": 15, "medium": 30, "school": 8, "large": 120, "logistic": 20,
                  "path": 25}[size]
        if size == "large" and not self.quick:
            tols = [1e-2, 1e-4, 1e-6, 1e-8]
        if self.quick:
            budget = min(budget, 6)
        return Effort(tols, budget, max_iter=100_000)

    def peers(self, size):
        budget = {"small": 15, "medium": 30, "large": 30, "logistic": 20,
                  "path": 25}.get(size, 15)
        tols = self._peer_tols
        if self.quick:
            budget = min(budget, 6)
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
    parser.add_argument("--no-fresh", action="store_true",
                        help="skip the first fits in a new process")
    parser.add_argument("--skip-slow", action="store_true",
                        help="relations: leave out the formulations whose solvers are "
                             "impractically slow on School (SparseTraceNorm)")
    parser.add_argument("--out", default=str(RESULTS), help="output folder")
    args = parser.parse_args()
    cfg = Config(args.quick)
    cfg.slow_cvxpy = args.slow_cvxpy
    cfg.skip_slow = args.skip_slow
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    families = [f for f in FAMILIES if f in args.only] if args.only else list(FAMILIES)
    load_start = os.getloadavg()
    # a smoke run (--quick) or a partial one (--only) never overwrites the full run's files
    stem = "solvers" + ("_quick" if args.quick else "") + (
        "_" + "_".join(families) if args.only else "")
    command = "python benchmarks/bench_solvers.py" + " ".join(
        [""] + sys.argv[1:]).rstrip()
    start = time.perf_counter()
    cpu_start = time.process_time()
    t0 = time.perf_counter()
    import mtlreg  # noqa: F401  (import time is reported)
    import_s = time.perf_counter() - t0
    info = machine_info()

    all_rows, summaries, scaling, family_time, interference = [], [], None, {}, {}
    raw = {"command": command, "machine": info, "problems": {}}
    runners = dict(shared=family_shared, path=family_path, school=family_school,
                   malsar=family_malsar, classifiers=family_classifiers,
                   logistic=family_logistic, relations=family_relations,
                   large=family_large)
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
                if not args.no_fresh:
                    _, subopt = subopt_function(traces)
                    add_fresh_process_times(p, traces, subopt, TARGET)
                rows, summary = summarise(p.key, traces)
                all_rows += rows
                summary.update(title=p.title, family=fam,
                               target=TARGETS.get(f"{fam}/{p.loss}", TARGETS.get(fam)))
                summaries.append(summary)
                plot_traces(p.title, traces, out_dir / f"{stem}_{p.key}.png")
                raw["problems"][p.key] = dict(title=p.title, traces=traces, summary=summary)
                print_rows(rows, summary)
        family_time[fam] = time.perf_counter() - t_fam
        interference[fam] = other_cpu_share(snap)
        dump_json(out_dir / f"{stem}_raw.json", raw)
    total = time.perf_counter() - start
    info["cpu_total"] = time.process_time() - cpu_start
    info["load"] = (f"load average at start {load_start[0]:.2f} / {load_start[1]:.2f} / "
                    f"{load_start[2]:.2f}, at end {' / '.join(f'{x:.2f}' for x in os.getloadavg())}"
                    " (1 / 5 / 15 min; this run alone accounts for about 1-2)")
    info["interference"] = interference
    write_markdown(out_dir / f"{stem}.md", command, info, import_s, all_rows, summaries,
                   scaling, family_time, total, args)
    print(f"\nwritten to {out_dir / (stem + '.md')} ({total:.0f} s in all)")


if __name__ == "__main__":
    main()
