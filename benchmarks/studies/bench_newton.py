"""Newton vs FISTA vs cvxpy+Clarabel for every classifier on School (issue 15, item 1).

School (139 schools, 15 362 students, 28 features), labels ``score > median``, per-task
mean logistic loss with intercepts (MALSAR's ``Logistic_L21`` setting), raw and
standardised features, ``alpha`` in {0.01, 0.1} (``beta = alpha`` for the robust and fused
models, ``alpha / 2`` for the dirty one; other parameters at their defaults).

For every (classifier, features, alpha):

* our estimator with ``solver="newton"`` (what ``"auto"`` picks here) and
  ``solver="fista"``, each run from scratch along a ladder ``tol = 1e-3 .. 1e-10``
  (FISTA's stopping once a run is within 1e-8 of Newton's best, or the ladder ran past
  its 40 s budget); time = ``perf_counter`` around ``fit`` (validation included), CPU time beside;
* cvxpy + Clarabel at tight settings (``tol_gap_abs = tol_gap_rel = tol_feas = 1e-10``),
  build + canonicalisation + solve timed together (the solve alone in its own column);
  skipped for the semidefinite problems (trace norm, robust MTL, clustered: minutes
  each) unless ``--slow-cvxpy``;
* every run scored by ONE function: the per-task mean logistic loss computed here in
  numpy from ``coef_`` / ``intercept_`` on the raw data, plus the penalty's value (the
  package's penalty object, on the solver variable, e.g. ``[B; S]``); cvxpy's own value
  at its solution is checked against that score (a wrong cvxpy model would show up);
* ``f*`` = the best score of any run; time to 1e-6 = the first run of the ladder with
  ``(f - f*) / |f*| <= 1e-6``.

Compile time apart: ``--compile`` also runs, per classifier and solver, one fresh
process with an empty numba cache that fits twice (raw, alpha 0.01, tol 1e-6): compile
= first fit - second fit.

    python benchmarks/studies/bench_newton.py      # full run, writes results/newton.md
    python benchmarks/studies/bench_newton.py --quick  # group lasso only, raw features
    python benchmarks/studies/bench_newton.py --features raw --alpha 0.01 --budget 20 \
        --only GroupLasso ...                      # a subset
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # this folder
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # benchmarks/
# this checkout's mtlreg, not another installed one
sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))
from _common import cpu_snapshot, info_lines, machine_info, other_cpu_share  # noqa: E402

import mtlreg  # noqa: E402
from mtlreg.datasets import load_school  # noqa: E402

TOLS = [1e-3, 1e-4, 1e-5, 1e-6, 1e-7, 1e-8, 1e-9, 1e-10]
TARGET = 1e-6
BUDGET_S = 40.0  # per ladder: no new run once the ladder has spent this long

NAMES = ["GroupLasso", "SparseGroupLasso", "TraceNorm", "Dirty", "MeanRegularized",
         "Independent", "GraphRegularized", "TemporalGroupLasso", "FusedGroupLasso",
         "RobustMultiTask", "RobustFeatureLearning", "Clustered"]
SDP = {"TraceNorm", "RobustMultiTask", "Clustered"}


def params(name, alpha):
    p = {"alpha": alpha}
    if name == "Dirty":
        p["beta"] = alpha / 2
    if name in ("RobustMultiTask", "RobustFeatureLearning", "FusedGroupLasso"):
        p["beta"] = alpha
    return p


def school(standardise):
    d = load_school()
    F = d.data[:, 1:].copy()
    if standardise:
        F = (F - F.mean(axis=0)) / F.std(axis=0)
    y = (d.target > np.median(d.target)).astype(float)
    return F, y, d.task


def make(name, alpha, solver, tol):
    cls = getattr(mtlreg, name + "Classifier")
    return cls(**params(name, alpha), task_column=0, solver=solver, tol=tol,
               max_iter=100_000)


# ------------------------------------------------------------------- scoring
def data_term(F, y, task, coef, intercept):
    z = np.einsum("ij,ij->i", F, coef[task]) + intercept[task]
    loss = np.logaddexp(0.0, z) - y * z
    return float(np.sum(np.bincount(task, loss) / np.bincount(task)))


def variable(est):
    """The solver variable the penalty is defined on (W, or the two stacked parts)."""
    for first in ("coef_shared_", "coef_lowrank_"):
        if hasattr(est, first) and hasattr(est, "coef_outlier_"):
            return np.vstack([getattr(est, first).T, est.coef_outlier_.T])
    if hasattr(est, "coef_specific_"):
        return np.vstack([est.coef_shared_.T, est.coef_specific_.T])
    return est.coef_.T


def score(est, F, y, task):
    return data_term(F, y, task, est.coef_, est.intercept_) + float(
        est._make_penalty().value(variable(est)))


# --------------------------------------------------------------------- cvxpy
def cvx_problem(name, alpha, F, y, task, est):
    """Our objective in cvxpy; ``est`` (fitted) gives the task graph where needed."""
    import cvxpy as cp

    n, d = F.shape
    T = int(task.max()) + 1
    two = name in ("Dirty", "RobustMultiTask", "RobustFeatureLearning")
    P = cp.Variable((d, T))
    Q = cp.Variable((d, T)) if two else None
    W = P + Q if two else P
    b = cp.Variable(T)
    terms = []
    for t in range(T):
        rows = np.flatnonzero(task == t)
        z = F[rows] @ W[:, t] + b[t]
        terms.append(cp.sum(cp.logistic(z) - cp.multiply(y[rows], z)) / len(rows))
    data = cp.sum(cp.hstack(terms))
    p = {**est.get_params()}
    a = p["alpha"]
    rows21 = lambda M: cp.sum(cp.norm(M, 2, axis=1))  # noqa: E731
    if name == "GroupLasso":
        reg = a * rows21(W)
    elif name == "SparseGroupLasso":
        r = p["l1_ratio"]
        reg = a * (r * cp.sum(cp.abs(W)) + (1 - r) * rows21(W))
    elif name == "TraceNorm":
        reg = a * cp.normNuc(W)
    elif name == "Dirty":
        block = (cp.sum(cp.max(cp.abs(P), axis=1)) if p["block_norm"] == "l1inf"
                 else rows21(P))
        reg = a * block + p["beta"] * cp.sum(cp.abs(Q))
    elif name == "MeanRegularized":
        reg = 0.5 * a * cp.sum_squares(W - cp.sum(W, axis=1, keepdims=True) / T) \
            + 0.5 * p["l2_reg"] * cp.sum_squares(W)
    elif name == "Independent":
        reg = 0.5 * a * cp.sum_squares(W) if p["penalty"] == "l2" else a * cp.sum(cp.abs(W))
    elif name in ("GraphRegularized", "TemporalGroupLasso"):
        lam, U = np.linalg.eigh(est.task_graph_laplacian_)
        R = U * np.sqrt(np.clip(lam, 0, None))  # L = R R^T
        sparse = (cp.sum(cp.abs(W)) if p.get("sparsity", "l21") == "l1" else rows21(W))
        reg = 0.5 * p["rho"] * cp.sum_squares(W @ R) + a * sparse \
            + 0.5 * p["l2_reg"] * cp.sum_squares(W)
    elif name == "FusedGroupLasso":
        r = p["l1_ratio"]
        reg = a * (r * cp.sum(cp.abs(W)) + (1 - r) * rows21(W)) \
            + p["beta"] * cp.sum(cp.abs(W[:, 1:] - W[:, :-1]))
    elif name == "RobustMultiTask":
        reg = a * cp.normNuc(P) + p["beta"] * cp.sum(cp.norm(Q, 2, axis=0))
    elif name == "RobustFeatureLearning":
        reg = a * rows21(P) + p["beta"] * cp.sum(cp.norm(Q, 2, axis=0))
    elif name == "Clustered":
        eta, k = p["eta"], p["n_clusters"]
        M = cp.Variable((T, T), symmetric=True)
        reg = a * eta * (1 + eta) * cp.matrix_frac(W.T, eta * np.eye(T) + M)
        cons = [cp.trace(M) == k, M >> 0, np.eye(T) - M >> 0]
        return cp.Problem(cp.Minimize(data + reg), cons), P, Q, b
    else:
        raise ValueError(name)
    return cp.Problem(cp.Minimize(data + reg)), P, Q, b


def run_cvxpy(name, alpha, F, y, task, est):
    import cvxpy as cp

    t0, c0 = time.perf_counter(), time.process_time()
    prob, P, Q, b = cvx_problem(name, alpha, F, y, task, est)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            prob.solve(solver=cp.CLARABEL, tol_gap_abs=1e-10, tol_gap_rel=1e-10,
                       tol_feas=1e-10, max_iter=500)
    except cp.SolverError as exc:
        return {"status": f"failed: {exc}"[:80]}
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    solve_s = prob.solver_stats.solve_time if prob.solver_stats else float("nan")
    if P.value is None:
        return {"status": prob.status}
    # score the cvxpy solution with the same function as ours, through a stand-in estimator
    stand_in = make(name, alpha, "auto", 1e-4)
    stand_in.__dict__.update({k: v for k, v in est.__dict__.items()
                              if k not in stand_in.get_params()})  # fitted state, graph
    Wv = P.value + (Q.value if Q is not None else 0.0)
    stand_in.coef_ = np.ascontiguousarray(Wv.T)
    stand_in.intercept_ = np.asarray(b.value).ravel()
    if hasattr(est, "coef_outlier_"):
        first = "coef_shared_" if hasattr(est, "coef_shared_") else "coef_lowrank_"
        setattr(stand_in, first, P.value.T)
        stand_in.coef_outlier_ = Q.value.T
    elif hasattr(est, "coef_specific_"):
        stand_in.coef_shared_, stand_in.coef_specific_ = P.value.T, Q.value.T
    f = score(stand_in, F, y, task)
    return {"status": prob.status, "time": wall, "cpu": cpu, "solve_s": solve_s,
            "objective": f, "cvx_value": float(prob.value)}


# ---------------------------------------------------------------------- ours
def ladder(name, alpha, solver, F, y, task, X, f_ref=None):
    """Runs along TOLS; stops past the budget, or once within 1e-8 of ``f_ref`` (the best
    objective of the ladders run before: the runs after could not change the time to
    1e-6)."""
    runs, spent, best = [], 0.0, np.inf
    make(name, alpha, solver, 1e-2).fit(X, y)  # compiled before timing (numba cache)
    for tol in TOLS:
        est = make(name, alpha, solver, tol)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t0, c0 = time.perf_counter(), time.process_time()
            est.fit(X, y)
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        f = score(est, F, y, task)
        runs.append({"tol": tol, "time": wall, "cpu": cpu, "objective": f,
                     "n_iter": int(est.n_iter_)})
        spent += wall
        best = min(best, f)
        if spent > BUDGET_S or (f_ref is not None and (f - f_ref) / abs(f_ref) <= 1e-8):
            break
    return runs, est


def first_reaching(runs, f_star, target=TARGET):
    for r in runs:
        if (r["objective"] - f_star) / abs(f_star) <= target:
            return r
    return None


def compile_probe(name, solver):
    """In a fresh process with an empty numba cache: first fit - second fit."""
    code = (
        "import time, numpy as np, sys; sys.path.insert(0, 'benchmarks/studies');"
        "t=time.perf_counter(); import bench_newton as b; imp=time.perf_counter()-t;"
        "F, y, task = b.school(False); X = np.column_stack([task, F]);"
        f"e=b.make({name!r}, 0.01, {solver!r}, 1e-6);"
        "t=time.perf_counter(); e.fit(X, y); t1=time.perf_counter()-t;"
        f"e=b.make({name!r}, 0.01, {solver!r}, 1e-6);"
        "t=time.perf_counter(); e.fit(X, y); t2=time.perf_counter()-t;"
        "print(imp, t1, t2)")
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, MTLREG_CACHE_DIR=cache, PYTHONWARNINGS="ignore")
        root = os.path.join(os.path.dirname(__file__), "..", "..")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=root, env=env, check=False)
    try:
        imp, t1, t2 = map(float, out.stdout.split()[-3:])
    except ValueError:
        return None
    return {"import": imp, "first": t1, "warm": t2, "compile": t1 - t2}


def cell(r):
    return "not reached" if r is None else "%.2f (%.2f)" % (r["time"], r["cpu"])


def fmt(r, key="time"):
    return "not reached" if r is None else f"{r[key]:.2f}"


def main():
    global BUDGET_S
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", action="append", help="classifier name(s), e.g. Dirty")
    parser.add_argument("--slow-cvxpy", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--features", choices=["raw", "std", "both"], default="both")
    parser.add_argument("--alpha", type=float, action="append")
    parser.add_argument("--budget", type=float, default=BUDGET_S,
                        help="seconds per tol ladder (default 40)")
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "results"))
    args = parser.parse_args()
    names = ["GroupLasso"] if args.quick else (args.only or NAMES)
    feats = [False] if args.quick else {"raw": [False], "std": [True],
                                        "both": [False, True]}[args.features]
    alphas = [0.01] if args.quick else (args.alpha or [0.01, 0.1])
    BUDGET_S = args.budget
    info = machine_info()
    command = "python benchmarks/studies/bench_newton.py " + " ".join(sys.argv[1:])
    rows, raw = [], []
    start = cpu_snapshot()
    for name in names:
        for std in feats:
            F, y, task = school(std)
            X = np.column_stack([task, F])
            for alpha in alphas:
                auto = make(name, alpha, "auto", 1e-4)
                auto.fit(X, y)
                t0, c0 = time.perf_counter(), time.process_time()
                auto = make(name, alpha, "auto", 1e-4).fit(X, y)
                default = (time.perf_counter() - t0, time.process_time() - c0)
                f_default = score(auto, F, y, task)
                res = {}
                res["newton"], est = ladder(name, alpha, "newton", F, y, task, X)
                res["fista"], _ = ladder(name, alpha, "fista", F, y, task, X,
                                         f_ref=min(r["objective"] for r in res["newton"]))
                cvx = {"status": "skipped (SDP; --slow-cvxpy)"}
                if name not in SDP or args.slow_cvxpy:
                    cvx = run_cvxpy(name, alpha, F, y, task, est)
                scores = [r["objective"] for s in res.values() for r in s]
                if "objective" in cvx:
                    scores.append(cvx["objective"])
                f_star = min(scores)
                hit = {s: first_reaching(res[s], f_star) for s in res}
                cvx_ok = "objective" in cvx and (cvx["objective"] - f_star) / abs(f_star) <= TARGET
                row = {"name": name, "features": "std" if std else "raw", "alpha": alpha,
                       "f_star": f_star, "default": default,
                       "default_subopt": (f_default - f_star) / abs(f_star),
                       "newton": hit["newton"], "fista": hit["fista"], "cvx": cvx,
                       "cvx_ok": cvx_ok}
                rows.append(row)
                raw.append({**row, "runs": res})
                print(name, row["features"], alpha, "newton", fmt(hit["newton"]), "fista",
                      fmt(hit["fista"]), "cvxpy", cvx.get("time", cvx.get("status")),
                      flush=True)
    share = other_cpu_share(start)
    compile_rows = []
    if args.compile:
        for name in names:
            for solver in ("newton", "fista"):
                compile_rows.append((name, solver, compile_probe(name, solver)))
                print("compile", name, solver, compile_rows[-1][2], flush=True)
    write(args, command, info, rows, raw, compile_rows, share)


def write(args, command, info, rows, raw, compile_rows, share):
    os.makedirs(args.out, exist_ok=True)
    suffix = "_quick" if args.quick else ("" if not args.only and args.features == "both"
                                          and not args.alpha else "_subset")
    lines = [
        "# Newton vs FISTA vs cvxpy+Clarabel: every classifier on School (issue 15, item 1)",
        "",
        f"Command: `{command}` (from the repository root).",
        "",
        *info_lines(info),
        f"- Other processes used {100 * share:.0f}% of the machine's CPU during the run "
        "(0% = quiet machine).",
        "",
        "School, labels `score > median`, per-task mean logistic loss with intercepts. "
        "Time (s) = wall time of the whole `fit` of the first run of a tol ladder "
        "(1e-3 .. 1e-10, each run from scratch) whose objective is within 1e-6 (relative) "
        "of `f*`, the best objective of any run; CPU time of that run in parentheses. "
        "All runs scored by one function (numpy data term + the penalty's value). "
        "cvxpy: build + canonicalise + Clarabel (tol 1e-10), one solve; its solver-only "
        "time in the notes column. Numba compile time is not inside any timed run "
        "(see the compile table). `auto` at the default tol=1e-4 first (it picks Newton "
        "for every classifier here).",
        "",
        "| classifier | features | alpha | auto, tol=1e-4: time (s) / rel. subopt | "
        "newton to 1e-6 (s) | fista to 1e-6 (s) | cvxpy+Clarabel (s) | "
        "fista / newton | cvxpy / newton | notes |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        nw, fi, cv = r["newton"], r["fista"], r["cvx"]
        ratio_f = (f"{fi['time'] / nw['time']:.1f}x" if nw and fi
                   else (f"> {max(x['time'] for x in raw_runs(raw, r, 'fista')) / nw['time']:.0f}x"
                         if nw else "-"))
        cv_t = cv.get("time")
        ratio_c = (f"{cv_t / nw['time']:.1f}x" if nw and cv_t and r["cvx_ok"] else "-")
        cv_cell = (f"{cv_t:.2f} ({cv['cpu']:.2f})" if cv_t else cv.get("status", "-"))
        notes = []
        if cv_t:
            notes.append(f"Clarabel solve {cv['solve_s']:.2f} s, "
                         f"rel. subopt {(cv['objective'] - r['f_star']) / abs(r['f_star']):.1e}, "
                         f"cvxpy value - our score {cv['cvx_value'] - cv['objective']:.1e}")
        if nw:
            notes.append(f"newton tol {nw['tol']:g}, {nw['n_iter']} it")
        if fi:
            notes.append(f"fista tol {fi['tol']:g}, {fi['n_iter']} it")
        d = r["default"]
        lines.append(
            f"| {r['name']} | {r['features']} | {r['alpha']} | {d[0]:.2f} ({d[1]:.2f}) / "
            f"{r['default_subopt']:.1e} | "
            f"{cell(nw)} | {cell(fi)} | "
            f"{cv_cell} | {ratio_f} | {ratio_c} | {'; '.join(notes)} |")
    if compile_rows:
        lines += ["", "## Compile time (fresh process, empty numba cache; School raw, "
                  "alpha 0.01, tol 1e-6)", "",
                  "| classifier | solver | import (s) | first fit (s) | warm fit (s) | "
                  "compile = first - warm (s) |", "|---|---|---|---|---|---|"]
        for name, solver, c in compile_rows:
            if c is None:
                lines.append(f"| {name} | {solver} | failed | | | |")
            else:
                lines.append(f"| {name} | {solver} | {c['import']:.2f} | {c['first']:.2f} | "
                             f"{c['warm']:.2f} | {c['compile']:.2f} |")
    path = os.path.join(args.out, f"newton{suffix}.md")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(args.out, f"newton{suffix}_raw.json"), "w") as f:
        json.dump({"command": command, "info": info, "rows": raw}, f, default=str, indent=1)
    print("wrote", path)


def raw_runs(raw, row, solver):
    for r in raw:
        if (r["name"], r["features"], r["alpha"]) == (row["name"], row["features"],
                                                      row["alpha"]):
            return r["runs"][solver]
    return []


if __name__ == "__main__":
    main()
