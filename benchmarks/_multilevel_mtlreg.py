"""The mtlreg side of ``bench_multilevel.py``: the models a user would try, in the
``task_column`` layout (X = [group id, features]), tuned by their ``*CV`` twins on the same
inner folds as the baselines; picked up automatically when the package grows them:

- ``intercept_reg`` (shrunk intercepts): when the estimator has it, it is tuned too, through
  the twin's own grid parameter ``intercept_regs`` if there is one, otherwise by one ``*CV``
  search per value of :data:`INTERCEPT_REGS` (the best inner-CV loss over all wins);
- ``mtlreg.HierarchicalRegressor`` / ``HierarchicalClassifier`` (empirical Bayes, nothing to
  tune): scored by the same 5 inner folds (so that it can be picked) and refitted.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from _multilevel_methods import Outcome, test_score

REGRESSORS = ["MeanRegularizedRegressorCV", "IndependentRegressorCV", "GroupLassoRegressorCV",
              "TraceNormRegressorCV"]
CLASSIFIERS = ["MeanRegularizedClassifierCV", "IndependentClassifierCV",
               "GroupLassoClassifierCV", "TraceNormClassifierCV"]
HIERARCHICAL = {"regression": "HierarchicalRegressor", "classification": "HierarchicalClassifier"}
INTERCEPT_REGS = [0.0, 0.01, 0.1, 1.0, 10.0]


# the hierarchical model's configurations: the two mixed models of the baselines (random
# intercept; intercept + a slope on the main predictor), every effect random with a diagonal
# covariance, and the defaults (every effect, full covariance); the last two only up to
# MAX_FULL_EFFECTS random effects (School's 28 were cut at 12 when a diagonal fit took 26 s
# and a full one over 2 min; at d4e75a7 on the whole of School, load 1.4: 0.76 s diagonal,
# 3.3 s full, so every data set here now gets them)
HIERARCHICAL_CONFIGS = {"intercept": {"random_effects": "intercept"},
                        "intercept + main slope": {"random_effects": "main"},
                        "all, diagonal": {"random_effects": "all", "covariance": "diagonal"},
                        "all, full": {"random_effects": "all", "covariance": "full"}}
# (explicit: HierarchicalClassifier's default random_effects is "intercept", so the
# configurations written as the regressor's defaults fitted a random intercept only)
MAX_FULL_EFFECTS = 40


def available(task, n_features):
    """``[(label, name, params)]``: the mtlreg models to run for this task, the new ones
    when the package has them."""
    import mtlreg

    names = [(n, n, {}) for n in (REGRESSORS if task == "regression" else CLASSIFIERS)]
    for name in (REGRESSORS if task == "regression" else []):  # REML: the squared loss
        base = name[:-2]  # alpha="reml" (tuning without a grid), where the estimator offers it
        try:
            getattr(mtlreg, base)(alpha="reml")._validate_params()
        except Exception:  # noqa: BLE001 - not offered
            continue
        names.append((f"{base}(alpha='reml')", base, {"alpha": "reml"}))
        # random intercepts too (both strengths by REML), where offered; and with
        # task_weights="samples", under which the twin's noise is homoscedastic (the data
        # term's weights c_it = lambda_t s_i / n_t equal for every row), as in MixedLM
        both = {"alpha": "reml", "intercept_reg": "reml"}
        try:
            getattr(mtlreg, base)(**both)._validate_params()
        except Exception:  # noqa: BLE001 - not offered
            continue
        names.append((f"{base}(alpha='reml', intercept_reg='reml')", base, both))
        names.append((f"{base}(alpha='reml', intercept_reg='reml', task_weights='samples')",
                      base, dict(both, task_weights="samples")))
    if hasattr(mtlreg, HIERARCHICAL[task]):
        for label, params in HIERARCHICAL_CONFIGS.items():
            if params.get("random_effects", "all") == "all" and n_features + 1 > MAX_FULL_EFFECTS:
                continue
            names.append((f"{HIERARCHICAL[task]}({label})", HIERARCHICAL[task], params))
    return names


def _design(sp, scaling, const):
    Xtr, Xte = sp.features(scaling)
    parts_tr, parts_te = [sp.gtr.astype(float), Xtr], [sp.gte.astype(float), Xte]
    if const:  # a hand-made constant column, fit_intercept=False (see issue 25)
        parts_tr.append(np.ones(len(Xtr)))
        parts_te.append(np.ones(len(Xte)))
    return np.column_stack(parts_tr), np.column_stack(parts_te)


def _predict(sp, est, X):
    if sp.task == "regression":
        return est.predict(X)
    return est.predict_proba(X)[:, 1]


def _short(exc):
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ").replace("|", "/")
    return text if len(text) < 220 else text[:217] + "..."


def _errors_text(errors):
    """``[(scaling, message)]`` -> one line, a message said once for all its scalings."""
    by_message = {}
    for scaling, message in errors:
        by_message.setdefault(message, []).append(scaling)
    return "; ".join(f"{'/'.join(sc)}: {msg}" for msg, sc in by_message.items())


def _warning_note(caught):
    from sklearn.exceptions import ConvergenceWarning

    n = sum(issubclass(w.category, ConvergenceWarning) for w in caught)
    return f", {n} ConvergenceWarning(s)" if n else ""


def run_cv_model(sp, name, const=False, n_alphas=30):
    """One ``*CV`` estimator: both scalings (x the intercept_reg grid); the lowest inner-CV
    loss (the minimum over its path of the mean over folds) wins and is scored on test."""
    import mtlreg

    cls = getattr(mtlreg, name)
    base_params = cls._estimator_class().get_params()
    cv_params = cls().get_params()
    grid = [None]
    extra = {}
    if "intercept_reg" in base_params and not const:  # no intercept with the constant column
        if "intercept_regs" in cv_params:
            extra["intercept_regs"] = INTERCEPT_REGS
        else:
            grid = INTERCEPT_REGS
    if "unseen_tasks" in cv_params:
        extra["unseen_tasks"] = "shared"  # never needed on these folds, harmless
    if const:
        extra["fit_intercept"] = False
    t0 = time.perf_counter()
    best, errors, notes = None, [], ""
    for scaling in ("raw", "std"):
        Xtr, Xte = _design(sp, scaling, const)
        for ir in grid:
            kw = dict(extra, task_column=0, cv=sp.folds, n_alphas=n_alphas)
            if ir is not None:
                kw["intercept_reg"] = ir
            try:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    est = cls(**kw).fit(Xtr, sp.ytr)
            except Exception as exc:  # noqa: BLE001 - recorded in the results
                errors.append((scaling, _short(exc)))
                if "intercept_regs" not in kw:
                    continue
                # free intercepts (intercept_reg=0) refuse tasks with one class: the grid
                # without 0
                kw["intercept_regs"] = [v for v in INTERCEPT_REGS if v > 0]
                try:
                    with warnings.catch_warnings(record=True) as caught:
                        warnings.simplefilter("always")
                        est = cls(**kw).fit(Xtr, sp.ytr)
                except Exception as exc2:  # noqa: BLE001 - recorded in the results
                    errors.append((scaling + " without intercept_reg=0", _short(exc2)))
                    continue
            notes += _warning_note(caught)
            loss = float(getattr(est, est._path_name).mean(axis=-1).min())
            if best is None or loss < best[0]:
                best = (loss, scaling, ir, est, Xte)
    seconds = time.perf_counter() - t0
    if best is None:
        return Outcome(seconds=seconds, error=_errors_text(errors))
    loss, scaling, ir, est, Xte = best
    alphas = np.ravel(est.alphas_)
    edge = " (grid edge)" if est.alpha_ in (alphas.min(), alphas.max()) else ""
    choice = f"{scaling}, alpha={est.alpha_:.3g}{edge}"
    second = est._second[0] + "_" if est._second else None
    if second and hasattr(est, second):
        choice += f", {est._second[0]}={getattr(est, second):.3g}"
    if ir is None and "intercept_regs" in extra and hasattr(est, "intercept_reg_"):
        ir = est.intercept_reg_
    if ir is not None:
        choice += f", intercept_reg={ir:g}" + (" (grid edge)" if ir in (
            min(INTERCEPT_REGS), max(INTERCEPT_REGS)) and ir != 0 else "")
    choice += notes
    if errors:
        choice += "; failed: " + _errors_text(errors)
    return Outcome(test_score(sp.task, sp.yte, _predict(sp, est, Xte)), loss, seconds, choice)


def run_plain_model(sp, name, params):
    """An estimator with nothing to tune (the hierarchical one): inner-CV loss on the same
    folds, standardised features (a REML fit with a full covariance does not depend on the
    scaling), then the refit."""
    from _multilevel_methods import _loss

    import mtlreg

    cls = getattr(mtlreg, name)
    t0 = time.perf_counter()
    best, errors, notes = None, [], ""
    params = {k: ([sp.main] if v == "main" else v) for k, v in params.items()}

    def make():
        return cls(task_column=0, **params)

    # the hierarchical model: standardised features only; the others (alpha="reml"): both
    for scaling in ("std",) if name.startswith("Hierarchical") else ("raw", "std"):
        Xtr, Xte = _design(sp, scaling, False)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                loss = np.mean([_loss(sp.task, sp.ytr[te], _predict(
                    sp, make().fit(Xtr[tr], sp.ytr[tr]), Xtr[te]))
                    for tr, te in sp.folds])
                est = make().fit(Xtr, sp.ytr)
        except Exception as exc:  # noqa: BLE001 - recorded in the results
            errors.append((scaling, _short(exc)))
            continue
        notes += _warning_note(caught)
        if best is None or loss < best[0]:
            best = (float(loss), scaling, est, Xte)
    seconds = time.perf_counter() - t0
    if best is None:
        return Outcome(seconds=seconds, error=_errors_text(errors))
    loss, scaling, est, Xte = best
    extra = f", alpha_={est.alpha_:.3g}" if params.get("alpha") == "reml" else ""
    if params.get("intercept_reg") == "reml":
        extra += f", intercept_reg_={est.intercept_reg_:.3g}"
    aic = float("nan")
    if hasattr(est, "converged_"):
        extra = f", converged={est.converged_}, log-likelihood {est.log_likelihood_:.2f}"
        aic = hierarchical_aic(est, params)
        extra += f", {'REML' if sp.task == 'regression' else 'Laplace'} AIC {aic:.2f}"
    return Outcome(test_score(sp.task, sp.yte, _predict(sp, est, Xte)), loss, seconds,
                   f"{scaling}, {params or 'defaults'}{extra}{notes}", aic=aic)


def hierarchical_aic(est, params):
    """``-2 llf + 2 k`` of a fitted hierarchical model, ``k`` its covariance parameters
    (``q (q + 1) / 2`` full, ``q`` diagonal, ``q`` random effects, the intercept's
    included) plus the regressor's noise variance. Every configuration here has the same
    fixed effects (all features), so their likelihoods compare: the regressor's REML ones
    (Pinheiro & Bates 2000, sec. 2.4.2: REML criteria compare covariance structures with
    the same fixed effects), the classifier's Laplace-approximated ML ones."""
    q = len(est.random_features_) + 1
    k = q if params.get("covariance") == "diagonal" else q * (q + 1) // 2
    return -2.0 * est.log_likelihood_ + 2.0 * (k + int(hasattr(est, "noise_variance_")))


def run(sp, name, params=None, const=False, n_alphas=30):
    if name.endswith("CV"):
        return run_cv_model(sp, name, const, n_alphas)
    return run_plain_model(sp, name, params or {})
