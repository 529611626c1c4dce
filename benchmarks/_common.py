"""Shared pieces of the solver benchmarks: ONE objective function, timing, ladders, output.

Every solver, ours or a peer, is scored by :func:`objective` below, evaluated on the
``coef`` / ``intercept`` it returned (never on the value a solver reports about itself),
so that a convention mismatch (scaling, intercept handling) shows up as a gap in the
objective instead of hiding behind each solver's own bookkeeping.

The objective is the package's (see ``mtlreg/_layout.py``), with task weights 1::

    sum_t 1/n_t * sum_{i in task t} loss(y_it, x_i . w_t + b_t)  +  penalty(W)

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


def data_term(X, y, coef, intercept, *, codes=None, loss="squared"):
    """Sum over tasks of the mean loss of the task.

    Shared design: ``X (n, d)``, ``y (n, T)``; per-task layout: ``X (N, d)`` (features
    only), ``y (N,)`` and ``codes (N,)`` in ``0..T-1``. ``coef (T, d)``, ``intercept (T,)``.
    """
    coef = np.asarray(coef, dtype=np.float64)
    intercept = np.asarray(intercept, dtype=np.float64).ravel()
    if codes is None:
        Z = np.asarray(X @ coef.T) + intercept[None, :]
        Y = np.asarray(y, dtype=np.float64).reshape(Z.shape)
        per_obs = _loss(Y, Z, loss)
        return float(np.sum(per_obs.mean(axis=0)))
    z = _per_task_pred(X, codes, coef, intercept)
    per_obs = _loss(np.asarray(y, dtype=np.float64), z, loss)
    n_t = np.bincount(codes, minlength=coef.shape[0])
    sums = np.bincount(codes, weights=per_obs, minlength=coef.shape[0])
    return float(np.sum(sums / n_t))


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
              parts=None, **pen):
    """THE objective every solver is scored with (see the module docstring)."""
    if parts is not None:
        coef = np.asarray(parts[0]) + np.asarray(parts[1])
    return data_term(X, y, coef, intercept, codes=codes, loss=loss) + penalty_value(
        coef, penalty, parts=parts, **pen)


# ------------------------------------------------------------------------ timing
def timed(fn: Callable, *, repeats=3, threshold=0.5):
    """Wall time of ``fn()`` (perf_counter): median of ``repeats`` runs when the first
    takes less than ``threshold`` seconds, else the single run. Returns (time, result)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        out = fn()
        times = [time.perf_counter() - t0]
        if times[0] < threshold:
            for _ in range(repeats - 1):
                t0 = time.perf_counter()
                out = fn()
                times.append(time.perf_counter() - t0)
    return float(np.median(times)), out


@dataclass
class Record:
    effort: str
    time: float
    objective: float
    info: dict = field(default_factory=dict)


@dataclass
class Trace:
    """All runs of one solver on one problem."""

    solver: str
    family: str  # "ours" or "peer"
    compile_s: float | None = None  # numba compile (ours, skglm) or cvxpy build+canonicalise
    records: list = field(default_factory=list)
    note: str = ""
    spent: float = 0.0  # wall time spent in the ladder (repeats included)
    extra: dict = field(default_factory=dict)  # e.g. cvxpy's solver-only time

    @property
    def ok(self):
        return bool(self.records)


def run_ladder(trace: Trace, fit: Callable, efforts, score: Callable, *, budget_s=60.0,
               repeats=3, rate_key=None, max_iter=None, verbose=True):
    """Run ``fit(effort, max_iter)`` for increasing ``efforts`` (each from scratch).

    ``fit`` returns a dict with ``coef``, ``intercept`` (and optionally ``parts``,
    ``n_iter``, ``converged``); ``score(result) -> objective``. Stops when the time
    spent exceeds ``budget_s``, or when the objective stopped moving (three equal
    values in a row, or two when the last run was capped by max_iter). If the
    solver reports ``n_iter``, later runs get ``max_iter`` capped so that they fit
    in the remaining budget (``rate_key`` truthy).
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
            t, res = timed(lambda: fit(effort, cap), repeats=repeats)
        except Exception as exc:  # a peer that breaks: say so, keep going
            trace.spent += time.perf_counter() - t0
            trace.note = _add(trace.note, f"{type(exc).__name__} at {effort}: {exc}"[:300])
            break
        trace.spent += time.perf_counter() - t0
        obj = score(res)
        info = {k: res[k] for k in ("n_iter", "converged") if k in res}
        if cap is not None and cap != max_iter:
            info["max_iter"] = cap
        trace.records.append(Record(str(effort), t, obj, info))
        n_iter = res.get("n_iter")
        if n_iter:
            sec_per_iter = t / max(int(np.max(n_iter)), 1)
        if verbose:
            print(f"    {trace.solver:28s} {str(effort):>10s}  {t:9.4f} s  f={obj:.12e}  {info}",
                  flush=True)
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


def time_to_target(trace: Trace, f_star, target=TARGET):
    """(time, reached) of the first run within ``target`` relative suboptimality;
    (time of the last run, False) if none."""
    for r in trace.records:
        if rel_subopt(r.objective, f_star) <= target:
            return r.time, True
    if not trace.records:
        return None, False
    return trace.records[-1].time, False


def fmt_time(t, reached=True):
    if t is None:
        return "n/a"
    s = f"{t:.3g}" if t >= 1e-3 else f"{t:.2e}"
    return s if reached else f"> {s}"


def summarise(problem, traces, target=TARGET):
    """Rows for the Markdown table, and the problem-level summary."""
    objs = [r.objective for tr in traces for r in tr.records if np.isfinite(r.objective)]
    f_star = min(objs) if objs else np.nan
    times = {tr.solver: time_to_target(tr, f_star, target) for tr in traces}

    def best(family):
        cand = [(times[tr.solver][0], times[tr.solver][1], tr.solver) for tr in traces
                if tr.family == family and tr.records]
        reached = [c for c in cand if c[1]]
        if reached:
            return min(reached)
        if cand:  # nobody reached: the largest lower bound
            return max(cand)
        return None

    best_peer, best_ours = best("peer"), best("ours")
    rows = []
    for tr in traces:
        t, reached = times[tr.solver]
        final = (min(rel_subopt(r.objective, f_star) for r in tr.records) if tr.records
                 else np.nan)
        ratio = ""
        if best_peer is not None and t is not None and t > 0:
            tp, peer_reached = best_peer[0], best_peer[1]
            val = tp / t
            if reached and peer_reached:
                ratio = f"{val:.3g}"
            elif reached:  # the peer never got there: its time is a lower bound
                ratio = f">= {val:.3g}"
            elif peer_reached:
                ratio = f"<= {val:.3g}"
            else:
                ratio = "?"
        rows.append(dict(problem=problem, solver=tr.solver, family=tr.family,
                         compile=tr.compile_s, time=t, reached=reached, ratio=ratio,
                         final=final, note=tr.note, n_runs=len(tr.records)))
    # convention check: best objective of ours vs best of the peers
    ours = [r.objective for tr in traces if tr.family == "ours" for r in tr.records]
    peers = [r.objective for tr in traces if tr.family == "peer" for r in tr.records]
    gap = (min(ours) - min(peers)) / abs(f_star) if ours and peers else np.nan
    summary = dict(problem=problem, f_star=f_star, best_peer=best_peer, best_ours=best_ours,
                   ours_minus_peers=gap)
    return rows, summary


def markdown_rows(rows):
    out = []
    for r in rows:
        comp = "" if r["compile"] is None else f"{r['compile']:.3g}"
        final = "n/a" if not np.isfinite(r["final"]) else f"{r['final']:.1e}"
        out.append(f"| {r['problem']} | {r['solver']} | {comp} | "
                   f"{fmt_time(r['time'], r['reached'])} | {r['ratio']} | {final} | "
                   f"{r['note']} |")
    return out


TABLE_HEADER = ["| problem | solver | compile / setup s | time to 1e-6 s | speed-up vs best peer "
                "| best rel. subopt | notes |",
                "|---|---|---|---|---|---|---|"]


# ---------------------------------------------------------------------- plotting
def plot_traces(title, traces, f_star, path, target=TARGET):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    floor = 1e-16
    for tr in traces:
        if not tr.records:
            continue
        t = [r.time for r in tr.records]
        s = [max(rel_subopt(r.objective, f_star), floor) for r in tr.records]
        style = "-o" if tr.family == "ours" else "--s"
        ax.loglog(t, s, style, label=tr.solver, markersize=4)
    ax.axhline(target, color="k", lw=0.8, ls=":")
    ax.set_xlabel("wall time (s)")
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
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                                text=True, cwd=os.path.dirname(__file__), check=False)
        dirty = subprocess.run(["git", "status", "--porcelain", "mtlreg"], capture_output=True,
                               text=True, cwd=os.path.join(os.path.dirname(__file__), ".."),
                               check=False)
        info["git"] = commit.stdout.strip() + (" (mtlreg/ has uncommitted changes)"
                                               if dirty.stdout.strip() else "")
    except OSError:
        pass
    return info


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
