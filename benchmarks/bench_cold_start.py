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
name, kw, data_name = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
cls = getattr(mtlreg, name)
if data_name == "school":
    data = load_school()
    X, y = data.data, data.target
    est = cls(task_column=0, **kw)
elif data_name == "shared":  # the medium shared design of bench_solvers.py
    X, y = mtlreg.datasets.make_multitask_regression(
        1000, 5000, 20, n_informative=500, correlation=0.5, noise=1.0, random_state=0)
    est = cls(**kw)
else:  # "logistic": the logistic problem of bench_solvers.py
    X, y = mtlreg.datasets.make_multitask_classification(
        500, 200, 10, n_informative=10, correlation=0.5, random_state=0)
    est = cls(**kw)
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
    ("GroupLassoRegressor", {}, "school"),
    ("TraceNormRegressor", {}, "school"),
    ("DirtyRegressor", {"block_norm": "l1inf"}, "school"),
    ("MeanRegularizedRegressor", {"alpha": 1.0}, "school"),
    ("SparseGroupLassoRegressor", {}, "school"),
    ("GroupLassoRegressor", {}, "shared"),
    ("GroupLassoClassifier", {}, "logistic"),
]


def run(name, kw, data_name):
    out = subprocess.run([sys.executable, "-c", CHILD, name, json.dumps(kw), data_name],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    rows = []
    for name, kw, data_name in CASES:
        run(name, kw, data_name)  # writes the cache if this is the first run since a change
        r = run(name, kw, data_name)
        rows.append((name, kw, data_name, r))
        print(f"{name:28s} {data_name:8s} import {r['import_s']:.2f} s  first fit {r['first_s']:.3f} s  "
              f"warm fit {r['warm_s']:.3f} s  cold-start overhead "
              f"{r['first_s'] - r['warm_s']:.3f} s", flush=True)
    out = Path(__file__).parent / "results" / "cold_start.md"
    lines = ["# Cold start: first fit in a fresh process (numba cache on disk) vs warm fit",
             "", "Command: `python benchmarks/bench_cold_start.py`; alpha_max/10 on School (per-task "
             "layout), the medium shared design (n=1000, d=5000, T=20) and the logistic "
             "problem (n=500, d=200, T=10) of `bench_solvers.py`.", "",
             "| estimator | data | import mtlreg (s) | first fit (s) | warm fit (s) | "
             "overhead (s) |",
             "|---|---|---|---|---|---|"]
    for name, kw, data_name, r in rows:
        label = name + (f" {kw}" if kw else "")
        lines.append(f"| {label} | {data_name} | {r['import_s']:.2f} | {r['first_s']:.3f} | "
                     f"{r['warm_s']:.3f} | {r['first_s'] - r['warm_s']:.3f} |")
    out.write_text("\n".join(lines) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
