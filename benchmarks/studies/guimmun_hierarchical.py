"""HierarchicalClassifier (the logistic mixed model by the Laplace approximation) on
mlmRev's guImmun against the classification baselines of ``bench_multilevel.py``
(issue 25: "log-loss no worse than the mixed logistic").

The protocol and the baselines are bench_multilevel's, imported from
``_multilevel_data`` (loader, per-group 75/25 split, inner folds) and
``_multilevel_methods`` (pooled logistic + one-hot with C by inner CV, statsmodels
``BinomialBayesMixedGLM`` by ``fit_vb``): seeds 0, 1, 2, test log-loss, fit times side by
side in one run. HierarchicalClassifier has nothing to tune (the variance components
are estimated in the fit) and runs on the raw features (it standardises internally; its
fit does not depend on the feature scale). Configurations: a random intercept (the
default, lme4's ``glmer(immun ~ ... + (1 | comm))`` without mlmRev's ``(1 | mom)``
level); every effect random with a diagonal and with a full covariance.

    python benchmarks/studies/guimmun_hierarchical.py [--seeds 0 1 2]

Writes ``benchmarks/results/guimmun_hierarchical.md``.
"""

import argparse
import os
import sys
import time
import warnings
from datetime import datetime, timezone

import numpy as np

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # benchmarks/
sys.path.insert(0, HERE)

import _multilevel_methods as B  # noqa: E402
from _common import git_commit, machine_info  # noqa: E402
from _multilevel_data import inner_folds, load_guimmun, split  # noqa: E402

OUT = os.path.join(HERE, "results", "guimmun_hierarchical.md")
CONFIGS = [("intercept", "full"), ("all", "diagonal"), ("all", "full")]
AIC_ROW = "HierarchicalClassifier, the configuration of lowest AIC (time: all three fits)"


def agq_gap(est, sp, nodes=25):
    """The fitted random-intercept model's log-likelihood by adaptive Gauss-Hermite
    quadrature with ``nodes`` nodes (at the fitted parameters) minus the Laplace value
    ``log_likelihood_``: how far the Laplace approximation is from the marginal
    likelihood on these data (lme4 offers nAGQ > 1 for this model)."""
    from scipy.special import expit

    x, wq = np.polynomial.hermite.hermgauss(nodes)
    tau2 = float(est.covariance_[0, 0])
    total = 0.0
    for t in np.unique(sp.gtr):
        rows = sp.gtr == t
        eta0 = est.population_intercept_ + sp.Xtr[rows] @ est.population_coef_
        y = sp.ytr[rows]
        c = est.random_effects_[np.searchsorted(est.tasks_, t), 0]
        mu = expit(eta0 + c)
        s = 1.0 / np.sqrt(np.sum(mu * (1 - mu)) + 1.0 / tau2)
        ck = c + np.sqrt(2.0) * s * x
        eta = eta0[:, None] + ck[None, :]
        h = (np.sum(y[:, None] * eta - np.logaddexp(0.0, eta), axis=0) - 0.5 * ck**2 / tau2
             - 0.5 * np.log(2 * np.pi * tau2))
        total += np.log(np.sqrt(2.0) * s) + np.logaddexp.reduce(np.log(wq) + x**2 + h)
    return total - est.log_likelihood_


def hierarchical(sp, random_effects, covariance):
    from mtlreg import HierarchicalClassifier

    Xtr = np.column_stack([sp.gtr, sp.Xtr])
    Xte = np.column_stack([sp.gte, sp.Xte])
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est = HierarchicalClassifier(random_effects, covariance=covariance, task_column=0)
        est.fit(Xtr, sp.ytr)
    seconds = time.perf_counter() - t0
    p = est.predict_proba(Xte)[:, 1]
    q = len(est.covariance_)
    n_cov = {"full": q * (q + 1) // 2, "diagonal": q}[covariance]
    n_fixed = int(np.count_nonzero(est.population_coef_)) + 1
    aic = -2.0 * est.log_likelihood_ + 2.0 * (n_cov + n_fixed)
    kinds = sorted({type(w.message).__name__ for w in caught})
    choice = (f"logL {est.log_likelihood_:.3f}, AIC {aic:.2f}, converged {est.converged_}, "
              f"{est.n_iter_} iterations, random-intercept sd "
              f"{np.sqrt(est.covariance_[0, 0]):.3g}")
    if random_effects == "intercept":
        choice += f", 25-node AGQ logL minus Laplace logL {agq_gap(est, sp):+.4f}"
    if kinds:
        choice += ", warnings: " + " ".join(kinds)
    return B.Outcome(B.test_score(sp.task, sp.yte, p), float("nan"), seconds, choice, aic=aic)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args(argv)
    command = "python benchmarks/studies/guimmun_hierarchical.py" + (
        f" --seeds {' '.join(map(str, args.seeds))}" if args.seeds != [0, 1, 2] else "")
    start = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    load0 = os.getloadavg()
    commit = git_commit()
    t_all = time.perf_counter()
    data = load_guimmun()
    jobs = [("baseline: pooled logistic + one-hot (C by inner CV)", B.pooled_logistic_onehot),
            ("baseline: BinomialBayesMixedGLM (fit_vb)", B.bayes_mixed_glm)]
    jobs += [(f"HierarchicalClassifier({r!r}, covariance={c!r})",
              lambda sp, r=r, c=c: hierarchical(sp, r, c)) for r, c in CONFIGS]
    rows = {label: [] for label, _ in jobs}
    rows[AIC_ROW] = []
    for seed in args.seeds:
        tr, te = split(data.groups, seed)
        sp = B.Split(data.X[tr], data.y[tr], data.groups[tr], data.X[te], data.y[te],
                     data.groups[te], inner_folds(data.groups[tr], seed), data.task, 0)
        for label, fn in jobs:
            out = fn(sp)
            rows[label].append(out)
            print(f"seed {seed} {label}: log-loss {out.score:.4f} {out.seconds:.2f}s "
                  f"{out.choice}", flush=True)
        # the configuration with the lowest AIC (no test data, no inner CV)
        hier = [(label, rows[label][-1]) for label, _ in jobs if label.startswith("Hier")]
        label, best = min(hier, key=lambda item: item[1].aic)
        rows[AIC_ROW].append(B.Outcome(best.score, float("nan"), sum(o.seconds for _, o in hier),
                                       f"{label[label.index('(') + 1:-1]}, AIC {best.aic:.2f}"))
    total = time.perf_counter() - t_all
    load1 = os.getloadavg()
    write(args.out, data, args.seeds, rows, command, commit, start, load0, load1, total)


def write(path, data, seeds, rows, command, commit, start, load0, load1, total):
    info = machine_info()
    v = info["versions"]
    n_one = _one_class_groups(data)
    lines = [
        "# HierarchicalClassifier on guImmun against the mixed logistic (issue 25)", "",
        f"- Command: `{command}`",
        f"- Commit at the start: {commit}; started {start}. This script, the estimator "
        f"and the criterion as committed at {own_commit()} (a flag of uncommitted changes "
        "means other sessions' work in progress in the shared tree, not these files)",
        f"- Machine: {info.get('cpu', '?')}, {info.get('cores_available', '?')} cores, shared; "
        f"load average (1, 5, 15 min) at start {tuple(round(x, 2) for x in load0)}, at end "
        f"{tuple(round(x, 2) for x in load1)}",
        f"- Versions: Python {info['python']}, numpy {v['numpy']}, scipy {v['scipy']}, "
        f"sklearn {v['sklearn']}, mtlreg {v['mtlreg']}",
        f"- Total wall time: {total:.0f} s",
        "- Protocol: bench_multilevel's (benchmarks/_multilevel_data.py: per group, sorted "
        "order, one `numpy.random.default_rng(seed)`, `floor(n_t/4)` rows to test; the "
        "baselines from benchmarks/_multilevel_methods.py, unchanged: pooled "
        "LogisticRegression on [X, one-hot(group)] with C by 5-fold inner CV over raw and "
        "standardised features; BinomialBayesMixedGLM fit_vb on standardised features, "
        "test probabilities from the posterior means).",
        "- HierarchicalClassifier: no tuning, raw features (standardised inside; the fit "
        "does not depend on the scale), defaults (tol=1e-6). Test probabilities: the "
        "conditional modes of the group's effects (every test group is in training). "
        "AIC = -2 logL (Laplace) + 2 (fixed effects + covariance parameters).",
        "",
        f"{len(data.y)} rows, {data.n_groups} groups, {data.X.shape[1]} features; "
        f"{n_one} groups have one class only (all rows). Formula: {data.formula}.",
        "",
        "test log-loss, each seed and the mean; time: mean seconds a seed (the whole "
        "search + refit for the pooled logistic; one fit for the mixed models).",
        "",
        "| method | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | time (s) |",
        "|---|" + "---|" * (len(seeds) + 2),
    ]
    for label, outs in rows.items():
        scores = [o.score for o in outs]
        lines.append(f"| {label} | " + " | ".join(f"{s:.4f}" for s in scores)
                     + f" | **{np.mean(scores):.4f}** | {np.mean([o.seconds for o in outs]):.2f} |")
    glmm = np.mean([o.score for o in rows["baseline: BinomialBayesMixedGLM (fit_vb)"]])
    ours = np.mean([o.score for o in rows["HierarchicalClassifier('intercept', "
                                          "covariance='full')"]])
    lines += ["", f"Random intercept against BinomialBayesMixedGLM: mean log-loss {ours:.4f} "
              f"vs {glmm:.4f} ({glmm - ours:+.4f}; positive: ours lower).", "",
              "Per seed:", ""]
    for label, outs in rows.items():
        for s, o in zip(seeds, outs):
            lines.append(f"- {label}, seed {s}: {o.choice}")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {path}")


def own_commit():
    """The last commit of the files this study measures, with a flag if they differ from it."""
    import subprocess

    files = ["benchmarks/studies/guimmun_hierarchical.py", "mtlreg/mixed/_laplace.py",
             "mtlreg/linear_model/_hierarchical_logistic.py"]
    root = os.path.dirname(HERE)
    try:
        head = subprocess.run(["git", "log", "-1", "--format=%h", "--", *files], cwd=root,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *files], cwd=root,
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + (" (these files modified since)" if dirty else "")


def _one_class_groups(data):
    return int(sum(len(np.unique(data.y[data.groups == g])) == 1
                   for g in np.unique(data.groups)))


if __name__ == "__main__":
    main()
