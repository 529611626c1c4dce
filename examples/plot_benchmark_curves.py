"""
============================================
Solver benchmark: time against suboptimality
============================================

This example **plots stored measurements**; it runs no solver. The data are
``benchmarks/results/solvers_raw.json``, written by
``python benchmarks/bench_solvers.py`` (the full run, about 9 minutes on a
2-core machine, with scikit-learn, celer, skglm and cvxpy installed), and the
commit and machine they were measured on are read from the file and printed
below. Every solver was run several times with increasing effort (a ladder of
tolerances, each run from scratch); each run gives one point (wall time,
objective), the objective being computed by one shared numpy function from the
returned coefficients. The relative suboptimality is
:math:`(f - f^\\star) / |f^\\star|` with :math:`f^\\star` the best objective any
run of any solver reached on that problem; the dotted line is the target
:math:`10^{-6}` of ``benchmarks/results/solvers.md``. Solid lines: mtlreg's
solvers; dashed: the peers. Compile time (numba) is excluded from the times.
"""

# %%
import json
import re
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullFormatter


def results_file():
    here = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
    for base in (here, *here.parents):
        candidate = base / "benchmarks" / "results" / "solvers_raw.json"
        if candidate.exists():
            return candidate
    raise FileNotFoundError("benchmarks/results/solvers_raw.json")


raw = json.loads(results_file().read_text())
machine = raw["machine"]
print(f"measured at commit {machine['git']} with `{raw['command']}`")
print(f"machine: {machine['cpu']}, {machine['cores_available']} cores, "
      f"{machine['ram_gib']} GiB; " + ", ".join(f"{k} {v}" for k, v in
                                                 machine["versions"].items()))

PROBLEMS = ["a_medium_amax10", "a_medium_amax100", "b_Dirty_l1inf_raw",
            "c_per_task_T500_d1000", "d_logistic_n500", "b_TraceNorm_standardised"]
TARGET, FLOOR = 1e-6, 1e-16

# %%
fig, axes = plt.subplots(2, 3, figsize=(14, 9))
for ax, key in zip(axes.ravel(), PROBLEMS):
    problem = raw["problems"][key]
    traces = [t for t in problem["traces"] if t["records"]]
    f_star = min(r["objective"] for t in traces for r in t["records"]
                 if np.isfinite(r["objective"]))
    peer_style = iter(["--s", "--^", "--v", "--D", "--x", "--P"])
    ours_style = iter(["-o", "-o", "-o", "-o"])
    for t in traces:
        times = [r["time"] for r in t["records"]]
        subopt = [max((r["objective"] - f_star) / abs(f_star), FLOOR) for r in t["records"]]
        ours = t["family"] == "ours"
        label = t["solver"].replace("mtlreg ", "ours: ")
        ax.loglog(times, subopt, next(ours_style if ours else peer_style), label=label,
                  ms=4, lw=1.8 if ours else 1.2)
    ax.axhline(TARGET, color="k", lw=0.8, ls=":")
    title = re.sub(r"(alpha_max/\d+)=[\d.]+", r"\1", problem["title"])
    ax.set_title("\n".join(textwrap.wrap(title, 48)), fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.legend(fontsize=7, loc="upper right")
for ax in axes[1]:
    ax.set_xlabel("wall time (s)")
for ax in axes[:, 0]:
    ax.set_ylabel("relative suboptimality")
fig.suptitle(f"stored measurements, commit {machine['git']}", fontsize=11)
fig.tight_layout(rect=(0, 0, 1, 0.97))
plt.show()

# %%
# Time to reach the target, per solver, for the problems above (``inf``: never
# reached within the ladder).
for key in PROBLEMS:
    problem = raw["problems"][key]
    traces = [t for t in problem["traces"] if t["records"]]
    f_star = min(r["objective"] for t in traces for r in t["records"])
    print(problem["title"])
    for t in traces:
        hit = [r["time"] for r in t["records"]
               if (r["objective"] - f_star) / abs(f_star) <= TARGET]
        print(f"    {t['solver']:55s} {min(hit) if hit else float('inf'):9.4f} s")
