"""
==================================
Task similarity from fitted models
==================================

Which tasks resemble each other? One answer is in the fitted coefficients: the
cosine similarity of the task vectors :math:`w_s, w_t`. Here twelve tasks come
from two hidden groups (two centre vectors plus small task-specific
deviations), with few samples per task. Independent ridge regressions blur the
groups (their task vectors are noisy); the trace norm, which assumes the task
vectors span a low-dimensional subspace, recovers the block structure much more
clearly. This is also a quick
check before choosing a formulation: if the tasks do not look related, sharing
may hurt (see :ref:`why_mtl`).
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from mtlreg import IndependentRegressor, TraceNormRegressorCV

rng = np.random.default_rng(0)
n_tasks, n_features, n_per_task = 12, 20, 18
group = np.repeat([0, 1], n_tasks // 2)
centres = rng.standard_normal((2, n_features))
W_true = (centres[group] + 0.3 * rng.standard_normal((n_tasks, n_features))).T
X = rng.standard_normal((n_tasks * n_per_task, n_features))
task = np.repeat(np.arange(n_tasks), n_per_task)
y = np.einsum("ij,ji->i", X, W_true[:, task]) + 2.0 * rng.standard_normal(len(task))
Xt = np.column_stack([task, X])  # task column first


def cosine(W):
    U = W / np.maximum(np.linalg.norm(W, axis=0), 1e-12)
    return U.T @ U


ridge = IndependentRegressor(penalty="l2", alpha=0.05, task_column=0).fit(Xt, y)
trace = TraceNormRegressorCV(task_column=0, n_alphas=15, cv=3, tol=1e-5).fit(Xt, y)
print(f"trace norm: alpha chosen by CV = {trace.alpha_:.3g}, rank {trace.rank_}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(12, 3.9))
for ax, (title, W) in zip(axes, [("true task vectors", W_true),
                                 ("independent ridge", ridge.coef_.T),
                                 ("trace norm (alpha by CV)", trace.coef_.T)]):
    im = ax.imshow(cosine(W), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("task")
    ax.set_xticks(range(0, n_tasks, 2))
    ax.set_yticks(range(0, n_tasks, 2))
axes[0].set_ylabel("task")
fig.colorbar(im, ax=axes, shrink=0.8, label="cosine similarity of $w_s$, $w_t$")
plt.show()

# %%
# Numerically: mean similarity within and between the two groups.
same = group[:, None] == group[None, :]
off = ~np.eye(n_tasks, dtype=bool)
for name, W in [("truth", W_true), ("ridge", ridge.coef_.T), ("trace", trace.coef_.T)]:
    C = cosine(W)
    print(f"{name:6s} within groups {C[same & off].mean():+.2f}, "
          f"between groups {C[~same].mean():+.2f}")
