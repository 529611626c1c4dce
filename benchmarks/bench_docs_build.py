"""Time the documentation build as the README gives it, and each gallery example.

Runs, from the repository root, the README's command (after ``pip install -e ".[docs]"``)

    python -m sphinx -W --keep-going -b html docs docs/_build/html

into a clean output folder (``docs/_build`` and the generated gallery removed first),
records its wall time and the CPU time of the build and its children, the 1-minute
load average before and after (``os.getloadavg``: other jobs may share the machine),
and, from the pages sphinx-gallery writes, every example's running time. Writes
``benchmarks/results/docs_build.md``.

    python benchmarks/bench_docs_build.py
"""

import argparse
import os
import platform
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import git_commit  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", "docs",
           "docs/_build/html"]
TIME_RE = re.compile(r"\*\*Total running time of the script:\*\* \((\d+) minutes ([\d.]+) "
                     r"seconds\)")


def _children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _numba_cache_note():
    cache = os.environ.get("MTLREG_CACHE_DIR") or os.path.expanduser("~/.cache/mtlreg")
    return (f"numba cache `{cache}` "
            + ("present (kernels compiled before)" if os.path.isdir(cache) and os.listdir(cache)
               else "empty (the examples compile the kernels)"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "docs_build.md"))
    parser.add_argument("--commit", default=None,
                        help="the commit to name, when run in an export without .git "
                        "(git archive HEAD: no other work in progress in docs/)")
    args = parser.parse_args(argv)
    for folder in ("docs/_build", "docs/auto_examples", "docs/generated"):
        shutil.rmtree(ROOT / folder, ignore_errors=True)
    cache_note = _numba_cache_note()
    load_before = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), _children_cpu()
    res = subprocess.run(COMMAND, cwd=ROOT, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - t0, _children_cpu() - c0
    load_after = os.getloadavg()[0]
    if res.returncode:
        sys.stdout.write(res.stdout[-5000:] + res.stderr[-5000:])
        raise SystemExit(f"the build failed (exit {res.returncode})")
    examples = sorted((ROOT / "examples").glob("plot_*.py"))
    times = {}
    for ex in examples:
        page = ROOT / "docs" / "auto_examples" / (ex.stem + ".rst")
        m = TIME_RE.search(page.read_text())
        times[ex.name] = 60 * int(m.group(1)) + float(m.group(2))
    lines = [
        "# Documentation build", "",
        f"Command: `python benchmarks/bench_docs_build.py` (runs `{' '.join(COMMAND[1:])}` "
        f"with `{Path(sys.executable).name}`, into a clean `docs/_build`); git "
        f"{args.commit or git_commit()}{' (an export of it)' if args.commit else ''}; "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"{cache_note}.", "",
        f"1-minute load average before / after: {load_before:.1f} / {load_after:.1f} on "
        f"{os.cpu_count()} cores (other jobs share this machine: wall times grow with "
        "the load, CPU times much less).", "",
        f"Whole build (`-W`: warnings are errors; it passed): {wall:.0f} s wall, {cpu:.0f} s "
        f"CPU. The gallery: {len(examples)} examples (`examples/plot_*.py`), "
        f"{sum(times.values()):.0f} s in all (sphinx-gallery's own timing of each).", "",
        "| example | running time (s) |", "|---|---|",
    ]
    lines += [f"| {name} | {t:.1f} |" for name, t in sorted(times.items(), key=lambda kv: -kv[1])]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
