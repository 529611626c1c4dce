"""Cold start: what the first fit in a fresh process costs over a warm fit.

Each formulation runs in its own fresh Python process, twice in a row: the first
process writes numba's on-disk cache if needed (``cache=True``), the second one is
measured: ``import mtlreg``, the first ``fit`` (loads the compiled kernels from the
cache) and the best of three further fits, on School (per-task layout,
alpha = alpha_max / 10). The target of issue 5: first fit - warm fit < 1 s.

    python benchmarks/bench_cold_start.py
"""

import json
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
import mtlreg
from mtlreg.datasets import load_school
t_import = time.perf_counter() - t0
name, kw = sys.argv[1], json.loads(sys.argv[2])
cls = getattr(mtlreg, name)
data = load_school()
X, y = data.data, data.target
est = cls(task_column=0, **kw)
params = {"alpha": est.compute_alpha_max(X, y) / 10} if "alpha" not in kw else {}
if name.startswith("Dirty"):
    params["beta"] = est.compute_beta_max(X, y) / 10
est.set_params(**params)
t0 = time.perf_counter()
est.fit(X, y)
first = time.perf_counter() - t0
warm = []
for _ in range(3):
    t0 = time.perf_counter()
    est.fit(X, y)
    warm.append(time.perf_counter() - t0)
print(json.dumps(dict(import_s=t_import, first_s=first, warm_s=min(warm))))
"""

CASES = [
    ("GroupLassoRegressor", {}),
    ("TraceNormRegressor", {}),
    ("DirtyRegressor", {"block_norm": "l1inf"}),
    ("MeanRegularizedRegressor", {"alpha": 1.0}),
    ("SparseGroupLassoRegressor", {}),
]


def run(name, kw):
    out = subprocess.run([sys.executable, "-c", CHILD, name, json.dumps(kw)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    rows = []
    for name, kw in CASES:
        run(name, kw)  # writes the cache if this is the first run since a change
        r = run(name, kw)
        rows.append((name, kw, r))
        print(f"{name:28s} import {r['import_s']:.2f} s  first fit {r['first_s']:.3f} s  "
              f"warm fit {r['warm_s']:.3f} s  cold-start overhead "
              f"{r['first_s'] - r['warm_s']:.3f} s", flush=True)
    out = Path(__file__).parent / "results" / "cold_start.md"
    lines = ["# Cold start: first fit in a fresh process (numba cache on disk) vs warm fit",
             "", "Command: `python benchmarks/bench_cold_start.py`; School, alpha_max/10.", "",
             "| estimator | import mtlreg (s) | first fit (s) | warm fit (s) | overhead (s) |",
             "|---|---|---|---|---|"]
    for name, kw, r in rows:
        label = name + (f" {kw}" if kw else "")
        lines.append(f"| {label} | {r['import_s']:.2f} | {r['first_s']:.3f} | "
                     f"{r['warm_s']:.3f} | {r['first_s'] - r['warm_s']:.3f} |")
    out.write_text("\n".join(lines) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
