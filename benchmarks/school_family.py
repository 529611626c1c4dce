"""School, per-task layout: every formulation next to the independent baselines, 10 seeds.

Protocol (issue 3): 75% / 25% split inside every school, features standardised on
the training part, parameters chosen by GridSearchCV (3 folds stratified by school)
on the training part; test explained variance and RMSE pooled over the test students.

    python benchmarks/school_family.py [--seeds 10]

Writes benchmarks/results/school_family.md.
"""

import argparse
import platform
import sys
import time
from pathlib import Path

from mtlreg.demo import format_table, run

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import git_commit  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=10)
    args = parser.parse_args()
    start = time.perf_counter()
    rows = run(seeds=tuple(range(args.seeds)), verbose=False)
    table = format_table(rows, args.seeds)
    elapsed = time.perf_counter() - start
    out = Path(__file__).parent / "results" / "school_family.md"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        "# School: the MTL family against independent baselines\n\n"
        f"Command: `python benchmarks/school_family.py --seeds {args.seeds}`; commit "
        f"{git_commit()}; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} "
        f"({platform.processor() or platform.machine()}, {elapsed:.0f} s in all).\n\n"
        + table + "\n"
    )
    print(table)
    print(f"\nwritten to {out} ({elapsed:.0f} s)")


if __name__ == "__main__":
    main()
