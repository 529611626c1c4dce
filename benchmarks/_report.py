"""Output of the solver benchmark: the scaling family, the console rows, the Markdown file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from _common import TABLE_HEADER, fmt_time, info_lines, markdown_rows, timed
from _ours import COMPILE, warm


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
            t, _, _, e = timed(lambda: est.fit(X, Y))
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



def print_rows(rows, summary):
    print(f"  f* = {summary['f_star']:.15g}; (best ours - best peer)/|f*| = "
          f"{summary['ours_minus_peers']:.2e}")
    for line in markdown_rows(rows):
        print("  " + line)


def _ratio_cell(row, key):
    return row[key] if row and row[key] else "n/a"


def _met(summary):
    """Whether our default meets the problem's target, fit against fit."""
    target, d = summary.get("target"), summary.get("default")
    if not target or not d or not d["ratio"]:
        return ""
    txt = d["ratio"].lstrip(">=< ").strip()
    try:
        val = float(txt)
    except ValueError:
        return "?"
    if d["ratio"].startswith("<="):
        return "no" if val < target[0] else "?"
    return "yes" if val >= target[0] else "no"


def summary_lines(summaries):
    lines = ["| problem | target (best peer / ours) | default `auto`: fit s (solver alone s) "
             "| best peer fit / fit | best peer solver / solver | met | best explicit solver: "
             "fit s, ratio | best peer: fit s (solver alone s) |",
             "|---|---|---|---|---|---|---|---|"]
    for s in summaries:
        d, e, bp, bps = s["default"], s["best_explicit"], s["best_peer"], s["best_peer_solve"]
        target = f">= {s['target'][0]} vs {s['target'][1]}" if s.get("target") else ""
        dflt = "n/a"
        if d and d["time"] is not None:
            solve = f" ({fmt_time(d['solve'], d['reached'])})" if d["solve_known"] else ""
            dflt = fmt_time(d["time"], d["reached"]) + solve
        expl = "n/a"
        if e and e["time"] is not None:
            expl = (f"{e['solver'].split()[-1]}: {fmt_time(e['time'], e['reached'])}, "
                    f"{e['ratio'] or 'n/a'}")
        peer = "n/a"
        if bp:
            peer = f"{bp[2]}: {'' if bp[1] else '> '}{bp[0]:.3g}"
            if bps and bps[2] != bp[2] or (bps and abs(bps[0] - bp[0]) > 1e-12):
                peer += f" ({bps[2]}: {'' if bps[1] else '> '}{bps[0]:.3g})"
        lines.append(f"| {s['problem']} | {target} | {dflt} | {_ratio_cell(d, 'ratio')} | "
                     f"{_ratio_cell(d, 'ratio_solve')} | {_met(s)} | {expl} | {peer} |")
    return lines


def write_markdown(path, command, info, import_s, rows, summaries, scaling, family_time,
                   total, args):
    lines = ["# Solver benchmark: time to a relative suboptimality of 1e-6", "",
             f"Command: `{command}` ({total:.0f} s wall, {info.get('cpu_total', 0):.0f} s CPU "
             "of this process, in all: " + ", ".join(
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
        "coefficients, in the problem's own scaling (the package's by default: per task the "
        "mean loss, unpenalised per-task intercepts; MALSAR's where stated). f* = best "
        "objective of any run on the problem (a path: per alpha, and a run's suboptimality "
        "is its worst alpha's). Each run is from scratch (tolerance ladder); 'fit to 1e-6' = "
        "wall time of the whole call from the user's arrays (input checks, conversions, "
        "cvxpy's building and canonicalisation, the solve) of the first run with "
        "(f - f*)/|f*| <= 1e-6; '> t': never reached, t = its last run. 'solver alone' = our "
        "solver call / cvxpy's reported solver time ('(= fit)': the peer's call cannot be "
        "split); 'setup' = fit - solver alone. 'compile (once)' = a tiny warm-up fit of the "
        "same configuration before the ladder (numba: ours, skglm; incremental in run order, "
        "a kernel shared with an earlier row was compiled there), never inside a timed run. "
        "'first fit, new process' = our default's fit at the same tol in a new Python "
        "process, numba's cache on disk. Ratios: best peer time / this time (> 1: faster "
        "than every peer); fit against fit, and solver against solver. Our default "
        "(`solver=\"auto\"`) comes first, the explicit solvers beside it. Plots: "
        "`solvers_<problem>.png` (git-ignored).", ""]
    lines += ["## Summary per problem: our default against the best peer", ""]
    lines += summary_lines(summaries)
    lines += ["", "## All solvers", ""] + TABLE_HEADER + markdown_rows(rows)
    if COMPILE:
        lines += ["", "## Warm-up fits (compile or cache load), in run order", "",
                  "| warm-up | s |", "|---|---|"]
        for k, v in COMPILE.items():
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
