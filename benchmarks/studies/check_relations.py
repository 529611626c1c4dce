"""Check of the relations family's objectives (``bench_solvers.py --only relations``).

For every School problem of the family (``_relations.py``): our estimator fitted at
``tol=1e-10``; (1) the benchmark's penalty (``_relation_penalties.py``, written from the
docstring) against the estimator's own penalty value at that solution; (2) the
benchmark's objective of that solution against a cvxpy solve at tight settings
(Clarabel at 1e-11 where the problem has no PSD cone, else SCS at 1e-10 with a time
limit), the cvxpy problem being the benchmark's own (``_peers.cvxpy_build``).

    python benchmarks/studies/check_relations.py       # regressors and classifiers
    python benchmarks/studies/check_relations.py --skip-slow  # without SparseTraceNorm

Writes benchmarks/results/relations_check.md (command, commit, times).
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/
from _common import data_term, git_commit  # noqa: E402
from _ours import per_task_problem  # noqa: E402
from _peers import cvxpy_build  # noqa: E402
from _relation_penalties import SDP  # noqa: E402
from _relations import CLF_LEFT_OUT, PEN_KEYS, SLOW, _forms, _school, _strengths  # noqa: E402

SCS_LIMIT = 120.0
SLOW_MAX_ITER = 3000  # our fit of the slow formulations is capped (its stop_crit_ is shown)


def check(name, cls, penalty, fixed, rule, Xfull, y, loss):
    est = cls(task_column=0, **fixed)
    desc = _strengths(est, rule, Xfull, y)
    params = est.get_params()
    pen = {k: params[k] for k in PEN_KEYS if k in params}
    p = per_task_problem(name, name, Xfull, y, penalty=penalty, pen=pen, loss=loss)
    max_iter = SLOW_MAX_ITER if name in SLOW else 200_000
    t0 = time.perf_counter()
    est.set_params(tol=1e-10, max_iter=max_iter).fit(Xfull, y)
    t_fit = time.perf_counter() - t0
    res = {"coef": est.coef_, "intercept": est.intercept_}
    first = getattr(est, "coef_shared_", getattr(est, "coef_lowrank_", None))
    V = est.coef_.T
    if first is not None:  # the two-part models: the variable is [P; Q]
        res["parts"] = (first, est.coef_outlier_)
        V = np.vstack([first.T, est.coef_outlier_.T])
    f_ours = p.score(res)
    bench_pen = f_ours - data_term(p.X, p.y, est.coef_, est.intercept_, codes=p.codes,
                                   loss=loss)
    own_pen = est._make_penalty().value(np.ascontiguousarray(V))
    prob, extract = cvxpy_build(p)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if penalty in SDP:
            solver = "SCS"
            prob.solve(solver="SCS", eps_abs=1e-10, eps_rel=1e-10, max_iters=1_000_000,
                       time_limit_secs=SCS_LIMIT)
        else:
            solver = "Clarabel"
            prob.solve(solver="CLARABEL", tol_gap_abs=1e-11, tol_gap_rel=1e-11,
                       tol_feas=1e-11, max_iter=500)
    t_cvx = time.perf_counter() - t0
    f_cvx = p.score(extract())
    row = (f"| {loss} | {cls.__name__} | {desc} | {t_fit:.3g} | {est.n_iter_} | "
           f"{est.stop_crit_:.2g} | {(bench_pen - own_pen) / abs(own_pen):.1e} | "
           f"{solver} {prob.status} | {t_cvx:.3g} | {f_ours:.12e} | {f_cvx:.12e} | "
           f"{(f_ours - f_cvx) / abs(f_cvx):.1e} |")
    print(row, flush=True)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-slow", action="store_true")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "results"))
    args = parser.parse_args()
    start = time.perf_counter()
    commit = git_commit()  # at the start: what is measured, not what is edited meanwhile
    Xfull, target = _school()
    rows = []
    for classifier in (False, True):
        y = (target > np.median(target)).astype(np.float64) if classifier else target
        for name, cls, penalty, fixed, rule in _forms(classifier):
            if name in SLOW and args.skip_slow:
                continue
            rows.append(check(name, cls, penalty, fixed, rule, Xfull, y,
                              "logistic" if classifier else "squared"))
    lines = [
        "# The relations family's objectives: benchmark against estimator and cvxpy", "",
        (f"Command: `python benchmarks/studies/check_relations.py{' --skip-slow' if args.skip_slow else ''}`"
         f" ({time.perf_counter() - start:.0f} s); mtlreg commit: {commit}"), "",
        ("Our estimator at tol=1e-10 (max_iter 200 000; "
        f"{', '.join(SLOW)}: {SLOW_MAX_ITER}); 'penalty: bench vs estimator' = (benchmark's "
        "penalty - the estimator's `_make_penalty().value`) / |the latter| at that solution; "
        "cvxpy: the benchmark's own problem (`_peers.cvxpy_build`), Clarabel at 1e-11, or "
        f"SCS at 1e-10 with a {SCS_LIMIT:g} s limit on the SDPs; last column (f_ours - "
        "f_cvxpy) / |f_cvxpy|, both by `_common.objective`. Classifiers left out of the "
        f"benchmark (still checked here): {', '.join(CLF_LEFT_OUT)}. Times on a loaded "
        "machine (shared cores)."), "",
        ("| loss | estimator | parameters | our fit s | n_iter | stop_crit_ | penalty: bench "
         "vs estimator | cvxpy | cvxpy s | f ours | f cvxpy | ours - cvxpy (rel.) |"),
        "|---|---|---|---|---|---|---|---|---|---|---|---|"] + rows
    out = Path(args.out) / "relations_check.md"
    out.write_text("\n".join(lines) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
