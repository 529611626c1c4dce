"""
===========================================
Learned task similarity on the School data
===========================================

Clustered multi-task learning (:class:`mtlreg.ClusteredRegressor`, the convex
relaxation of k-means over the task vectors, MALSAR CMTL) learns a task
similarity matrix ``M`` (``task_similarity_``) together with the coefficients.
Here it is fitted on the School data (139 schools, one task each; exam scores
from 28 standardised student and school features) and ``M`` is shown with the
schools ordered by the clustering ``task_clusters_``: blocks on the diagonal
are groups of schools whose coefficient vectors the model pulls together.
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
from sklearn.preprocessing import StandardScaler

from mtlreg import ClusteredRegressor
from mtlreg.datasets import load_school

school = load_school()
X = school.data.copy()
X[:, 1:] = StandardScaler().fit_transform(X[:, 1:])  # column 0 is the school id
y = school.target

start = time.perf_counter()
model = ClusteredRegressor(alpha=0.3, eta=0.1, n_clusters=3, task_column=0, tol=1e-4)
model.fit(X, y)
print(f"fitted in {time.perf_counter() - start:.1f} s ({model.n_iter_} iterations)")
M = model.task_similarity_
print(f"M: trace {np.trace(M):.3f} (= n_clusters), eigenvalues in "
      f"[{np.linalg.eigvalsh(M).min():.2e}, {np.linalg.eigvalsh(M).max():.3f}]")

# %%
order = np.argsort(model.task_clusters_, kind="stable")
sizes = np.bincount(model.task_clusters_)
print("schools per cluster:", sizes.tolist())

fig, ax = plt.subplots(figsize=(6.2, 5.2))
lim = np.abs(M).max()
im = ax.imshow(M[np.ix_(order, order)], cmap="RdBu_r", vmin=-lim, vmax=lim,
               interpolation="nearest")
for edge in np.cumsum(sizes)[:-1] - 0.5:  # cluster boundaries
    ax.axhline(edge, color="k", lw=0.8)
    ax.axvline(edge, color="k", lw=0.8)
ax.set_title("School: learned task similarity M\n(schools ordered by task_clusters_)",
             fontsize=10)
ax.set_xlabel("school (ordered by cluster)")
ax.set_ylabel("school (ordered by cluster)")
fig.colorbar(im, ax=ax, shrink=0.85, label="$M_{st}$")
plt.tight_layout()
plt.show()
