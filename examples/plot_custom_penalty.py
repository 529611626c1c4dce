"""
================================================
Adding a penalty: a feature-weighted group lasso
================================================

A worked example of the penalty contract described in :ref:`add_penalty`: the
weighted group lasso

.. math::

   P(W) = \\alpha \\sum_j \\omega_j \\lVert W_j \\rVert_2 ,

with one weight :math:`\\omega_j \\ge 0` per feature (the adaptive group lasso
uses :math:`\\omega_j = 1 / \\lVert \\hat W_j \\rVert_2` from a first fit). The
penalty implements the five methods the solvers use; an estimator uses it by
overriding ``_make_penalty``. The example then checks, with assertions that
fail the documentation build, that

* with all weights equal to 1 it reproduces :class:`mtlreg.GroupLassoRegressor`;
* FISTA (which uses ``prox``), ADMM and block coordinate descent (which use
  ``row_spec``) reach the same solution;
* ``alpha_max`` is right: ``W = 0`` at ``alpha_max`` and not just below it.
"""

# %%
# The penalty
# -----------
# ``value``, ``prox`` and ``subdiff_distance`` define the problem and the stopping
# rule, ``alpha_max`` the top of the regularization path, and the optional
# ``row_spec`` tells the compiled solvers (BCD, and ADMM's fast path) that the
# penalty is a row-wise l2 norm (kind 0) with per-row strengths
# ``alpha * weights``.
import numpy as np


class WeightedL21:
    r"""``alpha * sum_j weights_j * ||W_j||_2`` on ``W`` of shape (n_features, n_tasks)."""

    def __init__(self, alpha, weights=None):
        self.alpha = float(alpha)
        self.weights = None if weights is None else np.asarray(weights, dtype=float)

    def _w(self, n_rows):
        return np.ones(n_rows) if self.weights is None else self.weights

    def value(self, W):
        return self.alpha * float(self._w(len(W)) @ np.linalg.norm(W, axis=1))

    def prox(self, W, step):
        # block soft-thresholding of each row at step * alpha * weight_j
        norms = np.linalg.norm(W, axis=1)
        thresh = step * self.alpha * self._w(len(W))
        scale = np.maximum(0.0, 1.0 - thresh / np.maximum(norms, 1e-300))
        return W * scale[:, None]

    def subdiff_distance(self, W, G):
        # largest distance, over rows, from -G_j to the subdifferential at W_j
        norms = np.linalg.norm(W, axis=1)
        a = self.alpha * self._w(len(W))
        active = norms > 0
        dist = np.maximum(np.linalg.norm(G, axis=1) - a, 0.0)  # rows at zero
        U = W[active] / norms[active, None]
        dist[active] = np.linalg.norm(G[active] + a[active, None] * U, axis=1)
        return float(dist.max(initial=0.0))

    def alpha_max(self, G0):
        g = np.linalg.norm(G0, axis=1)
        w = self._w(len(G0))
        if np.any((w == 0) & (g > 0)):
            return np.inf  # an unpenalised feature is never zeroed
        return float(np.max(g[w > 0] / w[w > 0], initial=0.0))

    def row_spec(self, n_rows):
        # (kinds, first strengths, second strengths, ridge, positive): kind 0 is
        # "a1 * ||row||_2", see mtlreg/solvers/_bcd_kernels.py
        kinds = np.zeros(n_rows, dtype=np.int64)
        return kinds, self.alpha * self._w(n_rows), np.zeros(n_rows), 0.0, False


# %%
# The estimator
# -------------
# Every formulation of mtlreg is an estimator class whose ``_make_penalty``
# builds its penalty from its parameters; the rest (layout, datafit, solver
# choice, ``fit``/``predict``, paths, ``compute_alpha_max``) is inherited. A new
# parameter must appear in ``__init__`` (scikit-learn's ``get_params``) and in
# ``_parameter_constraints``.
from mtlreg import GroupLassoRegressor, regularization_path  # noqa: E402
from mtlreg.linear_model._base import store_params  # noqa: E402
from mtlreg.penalties import with_ridge  # noqa: E402


class WeightedGroupLassoRegressor(GroupLassoRegressor):
    """Group lasso with one penalty weight per feature."""

    _parameter_constraints = {
        **{k: v for k, v in GroupLassoRegressor._parameter_constraints.items()
           if k != "positive"},
        "feature_weights": ["array-like", None],
    }

    def __init__(self, alpha=1.0, *, feature_weights=None, fit_intercept=True,
                 task_column=None, task_weights=None, l2_reg=0.0, tol=1e-4,
                 max_iter=1000, warm_start=False, solver="auto", verbose=0):
        store_params(self, locals())

    def _make_penalty(self):
        return with_ridge(WeightedL21(self.alpha, self.feature_weights), self.l2_reg)


# %%
# Checks
# ------
# Per-task data (four tasks of different sizes, 12 features of which 4 matter).
from mtlreg.datasets import make_multitask_regression  # noqa: E402

X, y = make_multitask_regression([40, 60, 30, 50], n_features=12, n_tasks=4,
                                 layout="per_task", n_informative=4, noise=0.5,
                                 random_state=0)
common = dict(task_column=0, tol=1e-8, max_iter=20_000)
alpha = 0.1

# 1. unit weights: the ordinary group lasso
ours = WeightedGroupLassoRegressor(alpha, **common).fit(X, y)
ref = GroupLassoRegressor(alpha, **common).fit(X, y)
np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)

# 2. non-uniform weights: the three solvers agree
weights = np.linspace(0.2, 3.0, 12)
fits = {s: WeightedGroupLassoRegressor(alpha, feature_weights=weights, solver=s,
                                       **common).fit(X, y)
        for s in ("fista", "admm", "bcd")}
for s, est in fits.items():
    print(f"{s:5s}: {est.n_iter_:5d} iterations, optimality {est.stop_crit_:.1e}, "
          f"objective {est.objective_:.8f}")
    np.testing.assert_allclose(est.coef_, fits["fista"].coef_, atol=1e-5)

# 3. alpha_max: W = 0 exactly at alpha_max, not below
est = WeightedGroupLassoRegressor(feature_weights=weights, **common)
amax = est.compute_alpha_max(X, y)
assert not est.set_params(alpha=amax).fit(X, y).coef_.any()
assert est.set_params(alpha=0.98 * amax).fit(X, y).coef_.any()
print(f"alpha_max = {amax:.4f}")

# %%
# What the weights do
# -------------------
# Heavily weighted features leave the model first along the path: the weights
# reorder the entry of the features.
import matplotlib.pyplot as plt  # noqa: E402

fig, axes = plt.subplots(1, 2, figsize=(9, 3.6), sharey=True)
for ax, w, title in [(axes[0], None, "unit weights (group lasso)"),
                     (axes[1], weights, "weights 0.2 ... 3.0")]:
    path = regularization_path(WeightedGroupLassoRegressor(feature_weights=w, **common),
                               X, y, n_alphas=40)
    norms = np.linalg.norm(path.coefs[0], axis=1)  # (n_alphas, n_features)
    colors = plt.cm.viridis(np.linspace(0, 1, norms.shape[1]))
    for j in range(norms.shape[1]):
        ax.semilogx(path.alphas[0], norms[:, j], color=colors[j])
    ax.set_title(title)
    ax.set_xlabel("alpha")
    ax.invert_xaxis()
axes[0].set_ylabel(r"$\|W_j\|_2$ (colour: feature, by weight)")
fig.tight_layout()
plt.show()
