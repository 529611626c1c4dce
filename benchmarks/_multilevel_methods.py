"""The methods of ``bench_multilevel.py``: the baselines a statistician fits first and the
mtlreg models, each tuned on the training part only and scored on the test part.

Every runner takes a :class:`Split` and returns a :class:`Outcome` (test score, the inner-CV
loss it was chosen by, the seconds of its whole search + refit, a line saying what it chose).
Regression: pooled test explained variance ``100 (1 - MSE / var(y_test))``; classification:
test log-loss. "raw or standardised, whichever inner CV prefers": the tuned methods run on both
(``StandardScaler`` fitted on the training part) and keep the one with the lower inner-CV loss;
their time counts both searches.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.preprocessing import StandardScaler


@dataclass
class Split:
    Xtr: np.ndarray
    ytr: np.ndarray
    gtr: np.ndarray
    Xte: np.ndarray
    yte: np.ndarray
    gte: np.ndarray
    folds: list
    task: str
    main: int  # column of the main predictor
    quick: bool = False
    scaled: dict = field(default_factory=dict)

    def features(self, scaling):
        """(X train, X test) raw or standardised (scaler fitted on the training part)."""
        if scaling == "raw":
            return self.Xtr, self.Xte
        if "std" not in self.scaled:
            sc = StandardScaler().fit(self.Xtr)
            self.scaled["std"] = (sc.transform(self.Xtr), sc.transform(self.Xte))
        return self.scaled["std"]


@dataclass
class Outcome:
    score: float = float("nan")  # explained variance (%) or log-loss
    cv_loss: float = float("nan")  # inner-CV MSE or log-loss of the chosen setting
    seconds: float = float("nan")
    choice: str = ""
    error: str = ""
    aic: float = float("nan")  # hierarchical fits: REML AIC, -2 llf + 2 (covariance params + 1)


def test_score(task, y, pred):
    """Explained variance in % (regression, pred = values) or log-loss (pred = P(y=1))."""
    if task == "regression":
        return 100.0 * (1.0 - np.mean((y - pred) ** 2) / np.var(y))
    p = np.clip(pred, 1e-15, 1 - 1e-15)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log1p(-p)))


def _loss(task, y, pred):
    if task == "regression":
        return float(np.mean((y - pred) ** 2))
    return test_score(task, y, pred)


def _codes(g_fit, g_other):
    """Codes of ``g_other`` in the sorted groups of ``g_fit`` (-1: unseen)."""
    groups = np.unique(g_fit)
    pos = np.searchsorted(groups, g_other)
    pos = np.minimum(pos, len(groups) - 1)
    return groups, np.where(groups[pos] == g_other, pos, -1)


def full_rank_columns(X, tol=1e-9):
    """Columns of X kept so that ``[1, X]`` has full column rank (pivoted QR, in order)."""
    A = np.column_stack([np.ones(len(X)), X])
    A = A / np.maximum(np.linalg.norm(A, axis=0), 1e-300)
    keep = [0]
    for j in range(1, A.shape[1]):
        r = np.linalg.matrix_rank(A[:, keep + [j]], tol=tol * np.sqrt(len(X)))
        if r == len(keep) + 1:
            keep.append(j)
    return [j - 1 for j in keep[1:]]


# ----------------------------------------------------------------------- ridge family
def ridge_alphas(quick):
    return np.logspace(-3, 5, 9 if quick else 33)


def _pooled_onehot_fit(X, y, g, alphas):
    """Ridge on ``[X, one-hot(g)]`` (same alpha on both, intercept unpenalised) for every
    alpha: the indicators are eliminated exactly (their block of the normal equations is
    diagonal), leaving a (d+1) x (d+1) system per alpha."""
    groups, codes = _codes(g, g)
    A = np.column_stack([np.ones(len(y)), X])
    counts = np.bincount(codes, minlength=len(groups)).astype(float)
    S = np.stack([np.bincount(codes, weights=A[:, j], minlength=len(groups))
                  for j in range(A.shape[1])], axis=1)
    sy = np.bincount(codes, weights=y, minlength=len(groups))
    AtA, Aty = A.T @ A, A.T @ y
    P = np.eye(A.shape[1])
    P[0, 0] = 0.0
    out = []
    for alpha in alphas:
        dinv = 1.0 / (counts + alpha)
        M = AtA + alpha * P - S.T @ (dinv[:, None] * S)
        beta = np.linalg.solve(M, Aty - S.T @ (dinv * sy))
        u = dinv * (sy - S @ beta)
        out.append((groups, beta, u))
    return out


def _pooled_onehot_predict(model, X, g):
    groups, beta, u = model
    _, codes = _codes(groups, g)
    return beta[0] + X @ beta[1:] + np.where(codes >= 0, u[np.maximum(codes, 0)], 0.0)


def _independent_fit(X, y, g, alphas):
    """One ridge per group (intercept unpenalised), the same alpha for all, every alpha:
    per-group centred Gram matrices, one eigendecomposition each."""
    groups, codes = _codes(g, g)
    G, d = len(groups), X.shape[1]
    counts = np.bincount(codes, minlength=G).astype(float)
    xm = np.stack([np.bincount(codes, weights=X[:, j], minlength=G) for j in range(d)], axis=1)
    xm /= counts[:, None]
    ym = np.bincount(codes, weights=y, minlength=G) / counts
    Xc, yc = X - xm[codes], y - ym[codes]
    order = np.argsort(codes, kind="stable")  # every group has a row: reduceat by group
    starts = np.searchsorted(codes[order], np.arange(G))
    Xs = Xc[order]
    gram = np.add.reduceat(Xs[:, :, None] * Xs[:, None, :], starts, axis=0)
    rhs = np.add.reduceat(Xs * yc[order][:, None], starts, axis=0)
    lam, V = np.linalg.eigh(gram)
    proj = np.einsum("gji,gj->gi", V, rhs)
    out = []
    for alpha in alphas:
        w = np.einsum("gij,gj->gi", V, proj / (np.maximum(lam, 0.0) + alpha))
        b = ym - np.einsum("gi,gi->g", xm, w)
        out.append((groups, w, b, float(np.mean(y))))
    return out


def _independent_predict(model, X, g):
    groups, w, b, fallback = model
    _, codes = _codes(groups, g)
    c = np.maximum(codes, 0)
    return np.where(codes >= 0, np.einsum("ij,ij->i", X, w[c]) + b[c], fallback)


def _tuned_closed_form(sp, fit, predict):
    t0 = time.perf_counter()
    alphas = ridge_alphas(sp.quick)
    best = None
    for scaling in ("raw", "std"):
        Xtr, Xte = sp.features(scaling)
        cv = np.zeros(len(alphas))
        for tr, te in sp.folds:
            models = fit(Xtr[tr], sp.ytr[tr], sp.gtr[tr], alphas)
            cv += [_loss(sp.task, sp.ytr[te], predict(m, Xtr[te], sp.gtr[te])) for m in models]
        cv /= len(sp.folds)
        k = int(np.argmin(cv))
        if best is None or cv[k] < best[0]:
            best = (cv[k], scaling, alphas[k], k)
    cv_loss, scaling, alpha, k = best
    Xtr, Xte = sp.features(scaling)
    model = fit(Xtr, sp.ytr, sp.gtr, [alpha])[0]
    pred = predict(model, Xte, sp.gte)
    edge = " (grid edge)" if k in (0, len(alphas) - 1) else ""
    return Outcome(test_score(sp.task, sp.yte, pred), cv_loss, time.perf_counter() - t0,
                   f"{scaling}, alpha={alpha:.3g}{edge}")


def pooled_ridge_onehot(sp):
    return _tuned_closed_form(sp, _pooled_onehot_fit, _pooled_onehot_predict)


def independent_ridge(sp):
    return _tuned_closed_form(sp, _independent_fit, _independent_predict)


# ------------------------------------------------------------------------ mixed models
# statsmodels' default (bfgs, then lbfgs, cg) fails to converge on Exam; a user retries
MIXEDLM_METHODS = [None, "powell", "nm"]


def mixedlm(sp, slope):
    """statsmodels MixedLM, REML, random intercept (+ a random slope on the main predictor),
    raw features (its predictions do not depend on the scaling of the features). Exactly
    collinear columns are dropped first. Optimiser: statsmodels' default chain; if it does
    not converge, ``method="powell"``, then ``"nm"`` (the first converged fit is kept, else
    the first fit). Prediction: fixed part + the group's BLUP."""
    from statsmodels.regression.mixed_linear_model import MixedLM

    t0 = time.perf_counter()
    keep = full_rank_columns(sp.Xtr)
    if slope and sp.main not in keep:
        keep = keep + [sp.main]
    exog = np.column_stack([np.ones(len(sp.ytr)), sp.Xtr[:, keep]])
    re_cols = [sp.main] if slope else []
    exog_re = np.column_stack([np.ones(len(sp.ytr))] + [sp.Xtr[:, j] for j in re_cols])
    model = MixedLM(sp.ytr, exog, groups=sp.gtr, exog_re=exog_re)
    res, res_ok, kinds, tried = None, False, [], []
    for method in MIXEDLM_METHODS:  # statsmodels' default chain first, then derivative-free
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fit = model.fit(reml=True, **({} if method is None else {"method": method}))
            except Exception as exc:  # noqa: BLE001 - recorded, the next method is tried
                tried.append(f"{method or 'default'} failed ({type(exc).__name__})")
                continue
        ok = fit.converged and np.isfinite(fit.llf)
        tried.append(f"{method or 'default'}: converged={fit.converged}, llf={fit.llf:.2f}")
        if res is None or (ok and (not res_ok or fit.llf > res.llf)):
            res, res_ok, kinds = fit, ok, sorted({type(w.message).__name__ for w in caught})
        if ok:
            break
    if res is None:
        return Outcome(seconds=time.perf_counter() - t0, error="; ".join(tried))
    fe = np.asarray(res.fe_params)
    pred = fe[0] + sp.Xte[:, keep] @ fe[1:]
    re = res.random_effects
    Zte = np.column_stack([np.ones(len(sp.yte))] + [sp.Xte[:, j] for j in re_cols])
    blup = np.array([np.asarray(re[g]) if g in re else np.zeros(Zte.shape[1]) for g in sp.gte])
    pred = pred + np.einsum("ij,ij->i", Zte, blup)
    choice = "; ".join(tried)
    if len(keep) < sp.Xtr.shape[1]:
        choice += f", {sp.Xtr.shape[1] - len(keep)} collinear column(s) dropped"
    if kinds:
        choice += ", warnings: " + " ".join(kinds)
    return Outcome(test_score(sp.task, sp.yte, pred), float("nan"), time.perf_counter() - t0,
                   choice)


def mixedlm_intercept(sp):
    return mixedlm(sp, slope=False)


def mixedlm_slope(sp):
    return mixedlm(sp, slope=True)


def pooled_logistic_onehot(sp):
    """scikit-learn LogisticRegression (l2, lbfgs) on ``[X, one-hot(group)]``, C by inner CV."""
    from sklearn.linear_model import LogisticRegression

    t0 = time.perf_counter()
    groups = np.unique(sp.gtr)

    def onehot(g):
        return (g[:, None] == groups[None, :]).astype(float)

    Cs = np.logspace(-3, 3, 7 if sp.quick else 13)
    best = None
    for scaling in ("raw", "std"):
        Xtr, _ = sp.features(scaling)
        A = np.column_stack([Xtr, onehot(sp.gtr)])
        cv = np.zeros(len(Cs))
        for tr, te in sp.folds:
            for i, C in enumerate(Cs):
                m = LogisticRegression(C=C, max_iter=5000).fit(A[tr], sp.ytr[tr])
                cv[i] += _loss(sp.task, sp.ytr[te], m.predict_proba(A[te])[:, 1]) / len(sp.folds)
        k = int(np.argmin(cv))
        if best is None or cv[k] < best[0]:
            best = (cv[k], scaling, Cs[k], k)
    cv_loss, scaling, C, k = best
    Xtr, Xte = sp.features(scaling)
    m = LogisticRegression(C=C, max_iter=5000).fit(np.column_stack([Xtr, onehot(sp.gtr)]), sp.ytr)
    p = m.predict_proba(np.column_stack([Xte, onehot(sp.gte)]))[:, 1]
    edge = " (grid edge)" if k in (0, len(Cs) - 1) else ""
    return Outcome(test_score(sp.task, sp.yte, p), cv_loss, time.perf_counter() - t0,
                   f"{scaling}, C={C:.3g}{edge}")


def bayes_mixed_glm(sp):
    """statsmodels BinomialBayesMixedGLM, random intercept per group, standardised features,
    ``fit_vb``; test probabilities from the posterior means (fixed part + the group's)."""
    from statsmodels.genmod.bayes_mixed_glm import BinomialBayesMixedGLM

    t0 = time.perf_counter()
    Xtr, Xte = sp.features("std")
    keep = full_rank_columns(Xtr)
    groups = np.unique(sp.gtr)
    Z = (sp.gtr[:, None] == groups[None, :]).astype(float)
    exog = np.column_stack([np.ones(len(sp.ytr)), Xtr[:, keep]])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = BinomialBayesMixedGLM(sp.ytr, exog, Z, np.zeros(len(groups), dtype=int)).fit_vb()
    _, codes = _codes(groups, sp.gte)
    z = res.fe_mean[0] + Xte[:, keep] @ res.fe_mean[1:] + np.where(
        codes >= 0, res.vc_mean[np.maximum(codes, 0)], 0.0)
    p = 1.0 / (1.0 + np.exp(-z))
    kinds = sorted({type(w.message).__name__ for w in caught})
    choice = "std, fit_vb, random-intercept sd=%.3g" % float(np.exp(res.vcp_mean[0]))
    if kinds:
        choice += ", warnings: " + " ".join(kinds)
    return Outcome(test_score(sp.task, sp.yte, p), float("nan"), time.perf_counter() - t0, choice)
