"""
=========================================
Tasks in time and outlier tasks
=========================================

Two structures over the tasks that the shared-everything models miss:

* tasks ordered in time whose coefficients drift slowly: the chain-graph model,
  the temporal group lasso and the fused group lasso follow the drift, where
  independent fits are noisy;
* a few outlier tasks: robust multi-task learning (``W = L + S``) flags them in
  ``outlier_tasks_``;
* unknown groups of tasks: clustered MTL learns a task similarity
  (``task_similarity_``) and a clustering (``task_clusters_``).
"""

# %%
# Tasks in time
# -------------
# Ten time points, 15 features of which 6 drift slowly; 25 noisy samples per task.
import matplotlib.pyplot as plt
import numpy as np

import mtlreg
from mtlreg.datasets import make_multitask_regression

X, y, W = make_multitask_regression(
    n_samples=25, n_features=15, n_tasks=10, structure="chain", n_informative=6,
    drift=0.1, noise=1.0, layout="per_task", coef=True, random_state=0)

models = {
    "independent ridge": mtlreg.IndependentRegressor(alpha=0.05, penalty="l2",
                                                     task_column=0),
    "graph (chain)": mtlreg.GraphRegularizedRegressor(rho=3.0, graph="chain",
                                                      l2_reg=1e-3, task_column=0),
    "temporal group lasso": mtlreg.TemporalGroupLassoRegressor(alpha=0.02, rho=3.0,
                                                               task_column=0),
    "fused group lasso": mtlreg.FusedGroupLassoRegressor(alpha=0.02, beta=0.03,
                                                         task_column=0),
}
feature = int(np.argmax(np.abs(W).sum(axis=0)))
fig, ax = plt.subplots(figsize=(6, 3.5))
ax.plot(W[:, feature], "k-", lw=3, label="truth")
for name, model in models.items():
    model.fit(X, y)
    err = np.linalg.norm(model.coef_ - W) / np.linalg.norm(W)
    ax.plot(model.coef_[:, feature], marker="o", ms=3, label=f"{name} (error {err:.2f})")
ax.set_xlabel("task (time point)")
ax.set_ylabel(f"coefficient of feature {feature}")
ax.legend(fontsize=7)
fig.tight_layout()

# %%
# Outlier tasks
# -------------
# Twelve tasks share one sparse vector but the last two.
X, Y = make_multitask_regression(40, 10, 12, structure="outliers", n_outliers=2,
                                 n_informative=4, noise=0.5, random_state=0)
alpha = 0.1 * mtlreg.RobustMultiTaskRegressor().compute_alpha_max(X, Y)
robust = mtlreg.RobustMultiTaskRegressor(alpha=alpha, beta=0.8 * alpha).fit(X, Y)
print("flagged as outliers:", robust.outlier_tasks_, "(true: [10 11])")

fig, ax = plt.subplots(figsize=(6, 3))
colors = ["tab:red" if t in (10, 11) else "tab:blue" for t in robust.tasks_]
ax.bar(robust.tasks_, robust.outlier_scores_, color=colors)
ax.set_xlabel("task")
ax.set_ylabel("outlier score ||s_t||")
ax.set_title("robust MTL: red = true outlier tasks")
fig.tight_layout()

# %%
# Groups of tasks
# ---------------
# Twelve tasks in three groups (task t in group t % 3); the learned similarity,
# tasks reordered by the clustering found.
from sklearn.metrics import adjusted_rand_score  # noqa: E402

X, Y = make_multitask_regression(30, 10, 12, structure="clusters", n_clusters=3,
                                 noise=1.0, random_state=0)
clustered = mtlreg.ClusteredRegressor(alpha=0.5, eta=0.1, n_clusters=3).fit(X, Y)
ari = adjusted_rand_score(np.arange(12) % 3, clustered.task_clusters_)
order = np.argsort(clustered.task_clusters_, kind="stable")
fig, ax = plt.subplots(figsize=(4.5, 4))
im = ax.imshow(clustered.task_similarity_[np.ix_(order, order)], cmap="viridis")
ax.set_xticks(range(12), order)
ax.set_yticks(range(12), order)
ax.set_title(f"learned task similarity M (ARI {ari:.2f})")
fig.colorbar(im, ax=ax, shrink=0.8)
fig.tight_layout()
plt.show()
