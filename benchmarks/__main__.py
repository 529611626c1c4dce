"""The benchmarks' one entry point: one command per question.

    python -m benchmarks                        # list the questions
    python -m benchmarks solvers --only school  # run one; the options go to its script
    python -m benchmarks school --help          # the script's own options

Run it from the checkout's root: the question's script runs in a new Python process with
this checkout first on ``PYTHONPATH`` (so that it measures this checkout's ``mtlreg``, also
in the new processes it starts). Each script writes its results file under
``benchmarks/results/`` with the command, the commit and the machine's load.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# question -> (script in benchmarks/, what it answers, results file)
QUESTIONS = {
    "solvers": ("bench_solvers.py",
                "speed against the peers (scikit-learn, celer, skglm, cvxpy): time to a relative "
                "suboptimality of 1e-6, every solver on the same tolerance ladder",
                "results/solvers.md (--only F: solvers_F.md; --quick: solvers_quick.md)"),
    "first-use": ("bench_first_use.py",
                  "the first fit after installing (numba compiles), the first fit in a new "
                  "process, a warm fit, `import mtlreg`, the demo",
                  "results/first_use.md"),
    "scale": ("bench_scale.py",
              "many tasks, Dask, float32 (minutes to hours; --parts picks the sections)",
              "results/scale.md"),
    "cv": ("bench_cv_school.py",
           "cross-validation on School: the *CV estimators' warm paths against GridSearchCV",
           "results/cv_school.md"),
    "school": ("school_family.py",
               "School quality: every formulation and task-relation model against the "
               "baselines, parameters by inner CV, over --seeds splits",
               "results/school_family.md"),
    "torch": ("bench_torch.py",
              "the torch bridge: epoch and fit times, TorchFISTA against numba, networks "
              "against the linear models on School (needs the torch extra)",
              "results/torch.md"),
    "multilevel": ("bench_multilevel.py",
                   "real grouped data: the family against the multilevel baselines",
                   "results/multilevel.md"),
    "hierarchical": ("bench_hierarchical.py",
                     "hierarchical (shrunk-intercept) models on real grouped data",
                     "results/hierarchical.md"),
}


def _usage():
    lines = [__doc__.strip(), "", "Questions:"]
    for name, (script, what, out) in QUESTIONS.items():
        here = "" if (HERE / script).exists() else "  [not in this checkout yet]"
        lines.append(f"  {name:13s} {what}\n  {'':13s} -> benchmarks/{out} "
                     f"(benchmarks/{script}){here}")
    lines += ["", "One-off studies (their results stay in benchmarks/results/): "
              "benchmarks/studies/, see benchmarks/README.md."]
    return "\n".join(lines)


def command_for(question, args):
    """The command line that answers ``question`` with the script's options ``args``."""
    script = HERE / QUESTIONS[question][0]
    return [sys.executable, str(script), *args]


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] in ("-h", "--help", "list"):
        print(_usage())
        return 0
    question, args = argv[0], argv[1:]
    if question not in QUESTIONS:
        print(f"unknown question {question!r}; one of: {', '.join(QUESTIONS)}", file=sys.stderr)
        return 2
    script = HERE / QUESTIONS[question][0]
    if not script.exists():
        print(f"{question}: benchmarks/{script.name} is not in this checkout yet", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
    cmd = command_for(question, args)
    print("$ python " + " ".join([f"benchmarks/{script.name}", *args]), flush=True)
    return subprocess.run(cmd, cwd=ROOT, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
