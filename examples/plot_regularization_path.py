"""
=============================================
Regularization paths: which rows of W survive
=============================================

:func:`mtlreg.regularization_path` fits a decreasing grid of ``alpha`` from
``alpha_max`` (where ``W = 0``) downwards, each fit warm-started from the
previous one. For the group lasso, a feature enters the model in **all tasks at
once**: the path of each row norm :math:`\\lVert W_j\\rVert_2` is the natural
picture. Data: per-task samples (six tasks of different sizes), 30 features of
which 5 are relevant in every task.
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from mtlreg import GroupLassoRegressor, SparseGroupLassoRegressor, regularization_path
from mtlreg.datasets import make_multitask_regression

X, y, coef = make_multitask_regression([30, 50, 40, 60, 35, 45], n_features=30, n_tasks=6,
                                       layout="per_task", n_informative=5, noise=1.0,
                                       coef=True, random_state=0)
relevant = np.abs(coef).sum(axis=0) > 0

start = time.perf_counter()
path = regularization_path(GroupLassoRegressor(task_column=0, tol=1e-6), X, y,
                           n_alphas=50, eps=1e-3)
print(f"50 warm-started group-lasso fits in {time.perf_counter() - start:.2f} s")
alphas = path.alphas[0]
row_norms = np.linalg.norm(path.coefs[0], axis=1)  # (n_alphas, n_features)

# The sparse group lasso (here ``l1_ratio=0.5``) also selects entries inside the
# kept rows.
sgl = regularization_path(SparseGroupLassoRegressor(task_column=0, l1_ratio=0.5, tol=1e-6),
                          X, y, n_alphas=50)

# %%
# Left: row norms along the group-lasso path; the true features (solid) enter
# first. Right: the number of non-zero rows and of non-zero entries (per task)
# of both models.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
for j in range(row_norms.shape[1]):
    ax1.semilogx(alphas / alphas[0], row_norms[:, j], lw=1.6 if relevant[j] else 0.8,
                 ls="-" if relevant[j] else ":", color="C0" if relevant[j] else "C7")
ax1.invert_xaxis()
ax1.set_xlabel(r"$\alpha / \alpha_{\max}$")
ax1.set_ylabel(r"$\|W_j\|_2$")
ax1.set_title("group lasso: one curve per feature (solid: truly relevant)", fontsize=10)

for p, name, c in [(path, "group lasso", "C0"), (sgl, "sparse group lasso", "C3")]:
    W = p.coefs[0]  # (n_alphas, n_tasks, n_features)
    rows = (np.abs(W).sum(axis=1) > 0).sum(axis=1)
    entries = (W != 0).sum(axis=(1, 2)) / W.shape[1]
    ax2.semilogx(p.alphas[0] / p.alphas[0][0], rows, color=c, label=f"{name}: rows")
    ax2.semilogx(p.alphas[0] / p.alphas[0][0], entries, color=c, ls="--",
                 label=f"{name}: entries / T")
ax2.invert_xaxis()
ax2.set_xlabel(r"$\alpha / \alpha_{\max}$")
ax2.set_ylabel("number of features used")
ax2.legend(fontsize=8)
ax2.set_title("support size along the path", fontsize=10)
fig.tight_layout()
plt.show()
