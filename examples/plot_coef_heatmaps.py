"""
======================================================
What each formulation does to W: coefficient heat maps
======================================================

Multi-task models are understood by looking at the coefficient matrix ``W``
(features × tasks). Here every formulation is fitted to the same simulated data
whose true ``W`` has a few features shared by all tasks plus a few
task-specific entries (``structure="shared_specific"``), and ``W`` is shown as a
heat map:

* the **independent lasso** picks a support per task, with no agreement between
  tasks;
* the **group lasso** keeps or drops whole rows (a feature is used by all tasks
  or by none);
* the **sparse group lasso** keeps rows but zeroes entries inside them;
* the **trace norm** gives a dense matrix of low rank;
* the **mean-regularized** model shrinks every column towards the mean column;
* the **dirty model** splits ``W = B + S``: shared rows in ``B``, task-specific
  entries in ``S``.

Each ``alpha`` is a fixed fraction of the model's ``alpha_max`` (see
:ref:`formulations`), so the comparison does not depend on the data's scale.
"""

# %%
import sys

import matplotlib.pyplot as plt
import numpy as np

from mtlreg import (
    DirtyRegressor,
    GroupLassoRegressor,
    IndependentRegressor,
    MeanRegularizedRegressor,
    SparseGroupLassoRegressor,
    TraceNormRegressor,
)
from mtlreg.datasets import make_multitask_regression

X, Y, coef = make_multitask_regression(n_samples=60, n_features=20, n_tasks=8,
                                       structure="shared_specific", n_informative=5,
                                       noise=0.5, coef=True, random_state=3)
W_true = coef.T  # (n_features, n_tasks)


def at_fraction(est, fraction):
    """Fit ``est`` with alpha = fraction * alpha_max."""
    est.set_params(alpha=fraction * est.compute_alpha_max(X, Y))
    return est.fit(X, Y)


models = {
    "independent lasso": at_fraction(IndependentRegressor(penalty="l1"), 0.1),
    "group lasso": at_fraction(GroupLassoRegressor(), 0.1),
    "sparse group lasso": at_fraction(SparseGroupLassoRegressor(l1_ratio=0.5), 0.1),
    "trace norm": at_fraction(TraceNormRegressor(), 0.1),
    "mean-regularized": MeanRegularizedRegressor(alpha=1.0, l2_reg=0.01).fit(X, Y),
}
dirty = DirtyRegressor(block_norm="l1inf")
beta = 0.1 * dirty.compute_beta_max(X, Y)
dirty.set_params(beta=beta, alpha=2.5 * beta).fit(X, Y)  # between beta and T * beta

for name, est in models.items():
    W = est.coef_.T
    print(f"{name:20s} non-zero rows {np.sum(np.abs(W).sum(axis=1) > 0):2d} / {len(W)}, "
          f"non-zero entries {np.count_nonzero(W):3d}, "
          f"rank {np.linalg.matrix_rank(W, tol=1e-8)}")
print(f"dirty B: {np.count_nonzero(np.abs(dirty.coef_shared_).sum(axis=0))} rows, "
      f"S: {np.count_nonzero(dirty.coef_specific_)} entries")

# %%
# The heat maps share one colour scale (red positive, blue negative, white zero).
panels = [("true W", W_true)] + [(n, e.coef_.T) for n, e in models.items()] + [
    ("dirty: W = B + S", dirty.coef_.T), ("dirty: shared B", dirty.coef_shared_.T),
    ("dirty: specific S", dirty.coef_specific_.T)]
vmax = 0.5 * np.abs(W_true).max()  # saturate the largest entries: small ones stay visible
fig, axes = plt.subplots(2, 5, figsize=(12, 6), sharey=True)
for ax, (title, W) in zip(axes.ravel(), panels):
    im = ax.imshow(W, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto",
                   interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.set_xticks(range(0, W.shape[1], 2))
for ax in axes.ravel()[len(panels):]:
    ax.axis("off")  # 9 panels on a 2 x 5 grid
for ax in axes[:, 0]:
    ax.set_ylabel("feature")
for ax in axes[1]:
    ax.set_xlabel("task")
fig.colorbar(im, ax=axes, shrink=0.6, label="coefficient")
plt.show()

# %%
# The README figure
# -----------------
# ``python examples/plot_coef_heatmaps.py --readme docs/_static/readme_heatmap.png``
# writes a smaller version of four of these panels, the figure shown in the
# README and on the home page of this documentation. (The gallery build runs the
# script without arguments, so it never rewrites that file.)
if "--readme" in sys.argv:
    out = sys.argv[sys.argv.index("--readme") + 1]
    keep = ["true W", "group lasso", "trace norm", "dirty: shared B", "dirty: specific S"]
    small = [p for p in panels if p[0] in keep]
    fig, axes = plt.subplots(1, len(small), figsize=(10, 2.9), sharey=True)
    for ax, (title, W) in zip(axes, small):
        ax.imshow(W, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto",
                  interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("task")
    axes[0].set_ylabel("feature")
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    print("wrote", out)
