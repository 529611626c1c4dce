"""Shared pieces of the solver benchmarks: ONE objective function, timing, ladders, output.

Every solver, ours or a peer, is scored by :func:`objective` below, evaluated on the
``coef`` / ``intercept`` it returned (never on the value a solver reports about itself),
so that a convention mismatch (scaling, intercept handling) shows up as a gap in the
objective instead of hiding behind each solver's own bookkeeping.

The objective is the package's (see ``mtlreg/_tasks/layout.py``), task weights ``lambda_t``
(1 by default; MALSAR's summed squared loss is ``lambda_t = 2 n_t``)::

    sum_t lambda_t/n_t * sum_{i in task t} loss(y_it, x_i . w_t + b_t)  +  penalty(W)

(the task-relation penalties: ``_relation_penalties.py``)

with ``loss = (y - z)^2 / 2`` (squared) or ``log(1 + e^z) - y z`` (logistic, y in {0, 1}).
For a shared design without missing labels it is ``1/(2n) ||Y - XW - 1 b^T||_F^2 + pen``,
scikit-learn's ``MultiTaskLasso`` convention.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

TARGET = 1e-6  # relative suboptimality that defines "solved"


# ---------------------------------------------------------------------- objective
def _per_task_pred(X, codes, coef, intercept):
    """``z_i = x_i . coef[codes[i]] + intercept[codes[i]]`` (dense or sparse X)."""
    import scipy.sparse as sp

    if sp.issparse(X):
        X = sp.csr_matrix(X)
        z = np.asarray(X.multiply(coef[codes]).sum(axis=1)).ravel()
    else:
        z = np.einsum("ij,ij->i", X, coef[codes])
    return z + intercept[codes]


def data_term(X, y, coef, intercept, *, codes=None, loss="squared", task_weights=None):
    """Sum over tasks of the mean loss of the task (times ``task_weights[t]`` if given).

    Shared design: ``X (n, d)``, ``y (n, T)``; per-task layout: ``X (N, d)`` (features
    only), ``y (N,)`` and ``codes (N,)`` in ``0..T-1``. ``coef (T, d)``, ``intercept (T,)``.
    """
    coef = np.asarray(coef, dtype=np.float64)
    intercept = np.asarray(intercept, dtype=np.float64).ravel()
    if codes is None:
        Z = np.asarray(X @ coef.T) + intercept[None, :]
        Y = np.asarray(y, dtype=np.float64).reshape(Z.shape)
        per_task = _loss(Y, Z, loss).mean(axis=0)
        if task_weights is not None:
            per_task = per_task * np.asarray(task_weights, dtype=np.float64)
        return float(np.sum(per_task))
    z = _per_task_pred(X, codes, coef, intercept)
    per_obs = _loss(np.asarray(y, dtype=np.float64), z, loss)
    n_t = np.bincount(codes, minlength=coef.shape[0])
    sums = np.bincount(codes, weights=per_obs, minlength=coef.shape[0])
    weights = 1.0 if task_weights is None else np.asarray(task_weights, dtype=np.float64)
    return float(np.sum(weights * sums / n_t))


def _loss(y, z, loss):
    if loss == "squared":
        return 0.5 * (y - z) ** 2
    if loss == "logistic":
        return np.logaddexp(0.0, z) - y * z
    raise ValueError(loss)


def penalty_value(W, penalty, *, alpha=0.0, beta=0.0, l1_ratio=0.5, l2_reg=0.0,
                  block_norm="l1inf", parts=None):
    """Penalty of ``W (T, d)`` (rows of ``W.T`` = features); ``parts = (B, S)`` for dirty."""
    W = np.asarray(W, dtype=np.float64)
    rows = W.T  # (d, T): one row per feature, the package's orientation
    if penalty == "l21":
        val = alpha * np.sum(np.sqrt(np.sum(rows**2, axis=1)))
    elif penalty == "sgl":
        val = alpha * (l1_ratio * np.sum(np.abs(rows))
                       + (1 - l1_ratio) * np.sum(np.sqrt(np.sum(rows**2, axis=1))))
    elif penalty == "trace":
        val = alpha * np.sum(np.linalg.svd(rows, compute_uv=False))
    elif penalty == "l1":
        val = alpha * np.sum(np.abs(rows))
    elif penalty == "none":  # ridge only (IndependentRegressor/Classifier, penalty="l2")
        val = 0.0
    elif penalty == "meanreg":
        dev = rows - rows.mean(axis=1, keepdims=True)
        val = 0.5 * alpha * np.sum(dev**2)
    elif penalty == "dirty":
        B, S = (np.asarray(p, dtype=np.float64).T for p in parts)
        if block_norm == "l1inf":
            block = np.sum(np.max(np.abs(B), axis=1))
        else:
            block = np.sum(np.sqrt(np.sum(B**2, axis=1)))
        val = alpha * block + beta * np.sum(np.abs(S))
        # the ridge term of the dirty model acts on the stacked variable [B; S]
        return float(val + 0.5 * l2_reg * (np.sum(B**2) + np.sum(S**2)))
    else:
        raise ValueError(penalty)
    return float(val + 0.5 * l2_reg * np.sum(rows**2))


def objective(X, y, coef, intercept, *, codes=None, loss="squared", penalty="l21",
              parts=None, task_weights=None, **pen):
    """THE objective every solver is scored with (see the module docstring)."""
    from _relation_penalties import RELATION_PENALTIES, relation_penalty_value

    if parts is not None:
        coef = np.asarray(parts[0]) + np.asarray(parts[1])
    value = relation_penalty_value if penalty in RELATION_PENALTIES else penalty_value
    return data_term(X, y, coef, intercept, codes=codes, loss=loss,
                     task_weights=task_weights) + value(coef, penalty, parts=parts, **pen)


# ------------------------------------------------------------------------ timing
def timed(fn: Callable, *, repeats=3, threshold=0.5, fast=0.05, fast_repeats=7):
    """Run ``fn()`` (a dict, optionally with ``solve_s``: the solver alone) and time it:
    wall (perf_counter) and CPU (process_time) of the whole call, the median of
    ``repeats`` runs when the first takes less than ``threshold`` seconds (of
    ``fast_repeats`` when under ``fast``: fits of 10-30 ms varied by up to 40% between
    medians of 3 at the same iterations), else the single run. Returns (wall, solve or
    None, cpu, result of the last run)."""
    walls, solves, cpus = [], [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        k = 0
        while k < (fast_repeats if repeats > 1 and walls and walls[0] < fast else repeats):
            k += 1
            c0, t0 = time.process_time(), time.perf_counter()
            out = fn()
            walls.append(time.perf_counter() - t0)
            cpus.append(time.process_time() - c0)
            if isinstance(out, dict) and out.get("solve_s") is not None:
                solves.append(out["solve_s"])
            if walls[0] >= threshold:
                break
    solve = float(np.median(solves)) if solves else None
    return float(np.median(walls)), solve, float(np.median(cpus)), out


@dataclass
class Record:
    effort: str
    time: float  # wall time of the whole call (what the user waits for)
    objective: float
    info: dict = field(default_factory=dict)
    solve: float | None = None  # the solver alone, where it can be told apart
    cpu: float | None = None  # CPU time of the whole call (this process)


@dataclass
class Trace:
    """All runs of one solver on one problem."""

    solver: str
    family: str  # "ours" or "peer"
    compile_s: float | None = None  # one-time numba compile of a warm-up fit (ours, skglm)
    records: list = field(default_factory=list)
    note: str = ""
    spent: float = 0.0  # wall time spent in the ladder (repeats included)
    extra: dict = field(default_factory=dict)  # e.g. fresh-process fit time
    default: bool = False  # our estimator as a user gets it (solver="auto")

    @property
    def ok(self):
        return bool(self.records)


def run_ladder(trace: Trace, fit: Callable, efforts, score: Callable, *, budget_s=60.0,
               repeats=3, rate_key=None, max_iter=None, verbose=True):
    """Run ``fit(effort, max_iter)`` for increasing ``efforts`` (each from scratch).

    ``fit`` returns a dict with ``coef``, ``intercept`` (and optionally ``parts``,
    ``n_iter``, ``converged``, ``solve_s``, ``objs``); ``score(result) -> objective``
    (a path: the sum, with the per-alpha values in ``objs``). Stops when the time spent
    exceeds ``budget_s``, or when the objective stopped moving (three equal values in a
    row, or two when the last run was capped by max_iter). If the solver reports
    ``n_iter``, later runs get ``max_iter`` capped so that they fit in the remaining
    budget (``rate_key`` truthy).
    """
    sec_per_iter = None
    for effort in efforts:
        if trace.spent > budget_s:
            trace.note = _add(trace.note, f"ladder stopped at the time budget ({budget_s:.0f} s)")
            break
        cap = max_iter
        if rate_key and sec_per_iter and max_iter:
            left = max(budget_s - trace.spent, 0.1 * budget_s)
            cap = int(min(max_iter, max(20, left / sec_per_iter)))
            done = max(int(np.max(r.info.get("n_iter", 0))) for r in trace.records)
            if cap <= done:  # could not even redo the previous run: nothing to gain
                trace.note = _add(trace.note, f"ladder stopped at the time budget "
                                              f"({budget_s:.0f} s)")
                break
        t0 = time.perf_counter()
        try:
            t, solve, cpu, res = timed(lambda: fit(effort, cap), repeats=repeats)
        except Exception as exc:  # a peer that breaks: say so, keep going
            trace.spent += time.perf_counter() - t0
            trace.note = _add(trace.note, f"{type(exc).__name__} at {effort}: {exc}"[:300])
            break
        trace.spent += time.perf_counter() - t0
        obj = score(res)
        info = {k: res[k] for k in ("n_iter", "converged", "objs") if k in res}
        if cap is not None and cap != max_iter:
            info["max_iter"] = cap
        trace.records.append(Record(str(effort), t, obj, info, solve, cpu))
        n_iter = res.get("n_iter")
        if n_iter:
            sec_per_iter = t / max(int(np.max(n_iter)), 1)
        if verbose:
            shown = {k: v for k, v in info.items() if k != "objs"}
            sv = "" if solve is None else f" (solve {solve:.4f} s)"
            print(f"    {trace.solver:28s} {str(effort):>10s}  {t:9.4f} s{sv}  f={obj:.12e}  "
                  f"{shown}", flush=True)
        objs = [r.objective for r in trace.records]
        if len(objs) >= 3 and _same(objs[-1], objs[-2]) and _same(objs[-2], objs[-3]):
            break  # three levels, one answer: converged for good
        if len(objs) >= 3 and all(_same(objs[-k], objs[-k - 1], 1e-11) for k in (1, 2)):
            break
        if len(objs) >= 2 and _same(objs[-1], objs[-2]) and res.get("converged") is False:
            trace.note = _add(trace.note, "stalls at max_iter")
            break
    return trace


def _same(a, b, rtol=1e-14):
    return abs(a - b) <= rtol * max(abs(a), abs(b), 1e-300)


def _add(note, text):
    return text if not note else f"{note}; {text}"


# ------------------------------------------------------------------- summarising
def rel_subopt(f, f_star):
    return (f - f_star) / max(abs(f_star), 1e-300)


def subopt_function(traces):
    """``(f_star, subopt(record))``. One problem: f* = the best objective of any run of any
    solver. A path (records carry ``info["objs"]``, one objective per alpha): f*_k per
    alpha, and a run's suboptimality is its worst alpha's, ``max_k (f_k - f*_k)/|f*_k|``."""
    recs = [r for tr in traces for r in tr.records if np.isfinite(r.objective)]
    if recs and all("objs" in r.info for r in recs):
        star = np.min([r.info["objs"] for r in recs], axis=0)

        def subopt(r):
            return float(np.max((np.asarray(r.info["objs"]) - star)
                                / np.maximum(np.abs(star), 1e-300)))
        return float(np.sum(star)), subopt
    f_star = min((r.objective for r in recs), default=np.nan)
    return f_star, lambda r: rel_subopt(r.objective, f_star)


def first_at_target(trace: Trace, subopt, target=TARGET):
    """(record, reached): the first run within ``target``, else (the last run, False)."""
    for r in trace.records:
        if subopt(r) <= target:
            return r, True
    return (trace.records[-1] if trace.records else None), False


def fmt_time(t, reached=True):
    if t is None:
        return "n/a"
    s = f"{t:.3g}" if t >= 1e-3 else f"{t:.2e}"
    return s if reached else f"> {s}"


def ratio_text(t_peer, peer_reached, t_ours, ours_reached):
    """best peer time / our time, with the bound's direction when one did not get there."""
    if t_peer is None or t_ours is None or t_ours <= 0:
        return ""
    val = t_peer / t_ours
    if ours_reached and peer_reached:
        return f"{val:.3g}"
    if ours_reached:  # the peer never got there: its time is a lower bound
        return f">= {val:.3g}"
    if peer_reached:
        return f"<= {val:.3g}"
    return "?"


def summarise(problem, traces, target=TARGET):
    """Rows for the Markdown table, and the problem-level summary.

    Per run two times: ``fit`` (the whole call from the user's arrays: input checks,
    conversions, cvxpy's problem building and canonicalisation) and ``solve`` (the
    solver alone: our solver call, cvxpy's reported solver time; sklearn, celer and skglm
    give no split, their fit time stands for both). ``setup = fit - solve``. One-time
    numba compilation is never in a run: it has its own column."""
    f_star, subopt = subopt_function(traces)
    at = {tr.solver: first_at_target(tr, subopt, target) for tr in traces}

    def times(tr):
        rec, reached = at[tr.solver]
        if rec is None:
            return None, None, reached
        return rec.time, (rec.solve if rec.solve is not None else rec.time), reached

    def best(family, key, exclude_default=False):
        cand = []
        for tr in traces:
            if tr.family != family or not tr.records or (exclude_default and tr.default):
                continue
            fit_t, solve_t, reached = times(tr)
            cand.append(((fit_t, solve_t)[key], reached, tr.solver))
        reached = [c for c in cand if c[1]]
        if reached:
            return min(reached)
        return max(cand) if cand else None  # nobody reached: the largest lower bound

    peer_fit, peer_solve = best("peer", 0), best("peer", 1)
    rows = []
    for tr in traces:
        rec, reached = at[tr.solver]
        fit_t, solve_t, _ = times(tr)
        final = min((subopt(r) for r in tr.records), default=np.nan)
        setup = None
        if rec is not None and rec.solve is not None:
            setup = max(rec.time - rec.solve, 0.0)
        rows.append(dict(
            problem=problem, solver=tr.solver, family=tr.family, default=tr.default,
            compile=tr.compile_s, setup=setup, time=fit_t, solve=solve_t,
            solve_known=rec is not None and rec.solve is not None,
            cpu=None if rec is None else rec.cpu, reached=reached,
            ratio=ratio_text(*(peer_fit[:2] if peer_fit else (None, False)), fit_t, reached),
            ratio_solve=ratio_text(*(peer_solve[:2] if peer_solve else (None, False)),
                                   solve_t, reached),
            fresh=tr.extra.get("fresh"), final=final, note=tr.note, n_runs=len(tr.records)))
    # convention check: best objective of ours vs best of the peers
    ours = [r.objective for tr in traces if tr.family == "ours" for r in tr.records]
    peers = [r.objective for tr in traces if tr.family == "peer" for r in tr.records]
    gap = (min(ours) - min(peers)) / abs(f_star) if ours and peers else np.nan
    default = next((row for row in rows if row["default"]), None)
    explicit = best("ours", 0, exclude_default=True)
    explicit_row = next((row for row in rows if explicit and row["solver"] == explicit[2]),
                        None)
    summary = dict(problem=problem, f_star=f_star, best_peer=peer_fit,
                   best_peer_solve=peer_solve, default=default, best_explicit=explicit_row,
                   best_ours=best("ours", 0), ours_minus_peers=gap)
    return rows, summary


def markdown_rows(rows):
    def num(x, fmt=".3g"):
        return "" if x is None else format(x, fmt)

    out = []
    for r in rows:
        final = "n/a" if not np.isfinite(r["final"]) else f"{r['final']:.1e}"
        solve = fmt_time(r["solve"], r["reached"]) if r["solve_known"] else "(= fit)"
        name = r["solver"] + (" **(default)**" if r["default"] else "")
        out.append(f"| {r['problem']} | {name} | {num(r['compile'])} | {num(r['setup'])} | "
                   f"{fmt_time(r['time'], r['reached'])} | {solve} | {num(r['cpu'])} | "
                   f"{num(r['fresh'])} | {r['ratio']} | {r['ratio_solve']} | {final} | "
                   f"{r['note']} |")
    return out


TABLE_HEADER = [
    "| problem | solver | compile s (once) | setup s | fit to 1e-6 s (user waits) | "
    "solver alone s | fit CPU s | first fit, new process s | best peer fit / fit | "
    "best peer solver / solver | best rel. subopt | notes |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|"]


# ---------------------------------------------------------------------- plotting
def plot_traces(title, traces, path, target=TARGET):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    _, subopt = subopt_function(traces)
    floor = 1e-16
    for tr in traces:
        if not tr.records:
            continue
        t = [r.time for r in tr.records]
        s = [max(subopt(r), floor) for r in tr.records]
        style = "-o" if tr.family == "ours" else "--s"
        ax.loglog(t, s, style, label=tr.solver, markersize=4)
    ax.axhline(target, color="k", lw=0.8, ls=":")
    ax.set_xlabel("wall time of the whole fit (s)")
    ax.set_ylabel("relative suboptimality (floor 1e-16)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="best")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------- interference
def cpu_snapshot():
    """(wall, busy CPU seconds of the whole machine, CPU seconds of this process)."""
    import resource

    busy = float("nan")
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal ...
        busy = (sum(fields[:3]) + sum(fields[5:8])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        pass
    own = sum(resource.getrusage(who)[k] for who in (resource.RUSAGE_SELF,
                                                      resource.RUSAGE_CHILDREN) for k in (0, 1))
    return time.perf_counter(), busy, own


def other_cpu_share(start, end=None):
    """Share of the machine's CPU capacity used by OTHER processes between two snapshots
    (0: the benchmark had the machine to itself)."""
    end = end or cpu_snapshot()
    wall = end[0] - start[0]
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    other = (end[1] - start[1]) - (end[2] - start[2])
    return max(other, 0.0) / max(wall * cores, 1e-9)


# ------------------------------------------------------------------ machine info
def machine_info():
    info = {"python": sys.version.split()[0], "platform": platform.platform()}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        info["cpu"] = platform.processor() or platform.machine()
    try:
        info["cores_available"] = len(os.sched_getaffinity(0))
    except AttributeError:
        info["cores_available"] = os.cpu_count()
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
        info["ram_gib"] = round(kb / 2**20, 1)
    except (OSError, ValueError, IndexError):
        pass
    versions = {}
    for mod in ("numpy", "scipy", "sklearn", "numba", "cvxpy", "clarabel", "scs", "celer",
                "skglm", "mtlreg"):
        try:
            versions[mod] = __import__(mod).__version__
        except Exception:  # noqa: BLE001 - informational only
            versions[mod] = "absent"
    info["versions"] = versions
    try:
        import numpy as _np  # BLAS
        cfg = _np.show_config(mode="dicts")
        info["blas"] = cfg.get("Build Dependencies", {}).get("blas", {}).get("name", "?")
    except Exception:  # noqa: BLE001
        pass
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS", "NUMBA_CACHE_DIR"):
        if os.environ.get(var):
            info[var] = os.environ[var]
    info["git"] = git_commit()
    return info


def git_commit():
    """Short hash of this checkout's HEAD, with a flag when mtlreg/ or benchmarks/ have
    uncommitted changes; "unknown" outside git."""
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=root, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "mtlreg", "benchmarks"],
                               capture_output=True, text=True, cwd=root, check=False)
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    changed = [ln for ln in dirty.stdout.splitlines() if not ln[3:].startswith(
        "benchmarks/results")]
    return commit + (" (uncommitted changes in mtlreg/ or benchmarks/)" if changed else "")


def info_lines(info):
    v = info.get("versions", {})
    lines = [
        f"- CPU: {info.get('cpu', '?')}, {info.get('cores_available', '?')} cores available, "
        f"{info.get('ram_gib', '?')} GiB RAM; {info.get('platform', '')}",
        f"- Python {info['python']}; " + ", ".join(f"{k} {val}" for k, val in v.items())
        + (f"; BLAS: {info['blas']}" if "blas" in info else ""),
    ]
    env = {k: info[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                "NUMBA_NUM_THREADS") if k in info}
    if env:
        lines.append("- Threads: " + ", ".join(f"{k}={val}" for k, val in env.items()))
    if "git" in info:
        lines.append(f"- mtlreg commit: {info['git']}")
    return lines


def dump_json(path, obj):
    def default(o):
        if isinstance(o, (np.floating, np.integer)):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        if isinstance(o, (Trace, Record)):
            return o.__dict__
        return str(o)

    with open(path, "w") as f:
        json.dump(obj, f, indent=1, default=default)
