"""
=================================================
Random effects on the School data: shrinkage
=================================================

The School data are real grouped data: 15,362 students in 139 schools, exam scores
and 27 student and school features. A mixed model treats each school's intercept and
slopes as draws around a population model, with a variance estimated from the data;
:class:`mtlreg.HierarchicalRegressor` fits it by restricted maximum likelihood (REML)
in one fit, from per-school statistics, with no grid to tune.

Here: a random intercept and a random slope on ``vr_band_1``, the indicator of the
student's verbal-reasoning band 1. The posterior means (BLUPs) of the school intercepts are
pulled toward the population intercept, the more so the smaller the school: compare
them with one least-squares fit per school. Last, the mean-regularised model gets its
strength ``alpha`` the same way, by REML of its Bayesian twin (``alpha="reml"``).
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from mtlreg import HierarchicalRegressor, MeanRegularizedRegressor
from mtlreg.datasets import load_school

school = load_school()
X, y = school.data, school.target
names = school.feature_names[1:]  # column 0 is the school id
# School codes each categorical feature by all of its dummies: with the intercept, one of
# each set is redundant. Keep a linearly independent set (greedily, in order).
keep = [0]
for k in range(1, X.shape[1]):
    A = np.column_stack([np.ones(len(y)), X[:, keep[1:] + [k]]])
    if np.linalg.matrix_rank(A) == A.shape[1]:
        keep.append(k)
X = X[:, keep]
names = [names[k - 1] for k in keep[1:]]
j = names.index("vr_band_1")

start = time.perf_counter()
model = HierarchicalRegressor(random_effects=[j], task_column=0).fit(X, y)
print(f"REML fit in {time.perf_counter() - start:.2f} s, {model.n_iter_} iterations, "
      f"log-likelihood {model.log_likelihood_:.2f}")
print("covariance of (intercept, vr_band_1 slope):\n", np.round(model.covariance_, 2))
print(f"noise variance {model.noise_variance_:.1f}; "
      f"population slope of vr_band_1 {model.population_coef_[j]:.2f}")

# %%
# One least-squares fit per school of the same two effects, the other coefficients held
# at the population values: the schools' own estimates, without shrinkage.
others = model.population_coef_.copy()
others[j] = 0.0
groups = X[:, 0]
sizes = np.array([np.count_nonzero(groups == label) for label in model.tasks_])
own = np.empty(len(model.tasks_))
for t, label in enumerate(model.tasks_):
    rows = groups == label
    A = np.column_stack([np.ones(rows.sum()), X[rows, 1 + j]])
    r = y[rows] - X[rows, 1:] @ others
    own[t] = np.linalg.lstsq(A, r, rcond=None)[0][0]

fig, ax = plt.subplots(figsize=(6.5, 4.2))
ax.axhline(model.population_intercept_, color="grey", lw=1, label="population intercept")
for t in range(len(own)):
    ax.plot([sizes[t]] * 2, [own[t], model.intercept_[t]], color="C0", lw=0.6, alpha=0.6)
ax.scatter(sizes, own, s=10, color="C1", label="least squares per school")
ax.scatter(sizes, model.intercept_, s=10, color="C0", label="posterior mean (BLUP)")
ax.set_xscale("log")
ax.set_xlabel("students in the school")
ax.set_ylabel("school intercept")
ax.set_title("Small schools are pulled harder toward the population")
ax.legend(fontsize=8)
fig.tight_layout()

# %%
# The mean-regularised model, ``alpha`` by REML instead of cross-validation.
start = time.perf_counter()
mean_reg = MeanRegularizedRegressor(alpha="reml", task_column=0).fit(X, y)
print(f"alpha_ = {mean_reg.alpha_:.3g} by REML in {time.perf_counter() - start:.2f} s")
