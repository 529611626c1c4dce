"""
============================================
Choosing alpha by cross-validation on School
============================================

:class:`mtlreg.GroupLassoRegressorCV` fits, on each of 5 task-stratified folds,
a warm-started path of 30 values of ``alpha`` from ``alpha_max`` down to
``1e-3 alpha_max``, scores every solution on the fold's test part, and refits
the ``alpha`` with the lowest mean test error on all the data. The curves are
``mse_path_`` (one per fold) and their mean. Data: School (139 schools, 15362
students, 27 features plus a constant), one school per task.
"""

# %%
import time

import matplotlib.pyplot as plt
import numpy as np

from mtlreg import GroupLassoRegressorCV, MeanRegularizedRegressorCV
from mtlreg.datasets import load_school

school = load_school()
X, y = school.data, school.target  # column 0: the school

start = time.perf_counter()
gl = GroupLassoRegressorCV(task_column=0, n_alphas=30, cv=5).fit(X, y)
print(f"group lasso: 5 folds x 30 alphas in {time.perf_counter() - start:.1f} s, "
      f"alpha_ = {gl.alpha_:.3g} ({gl.alpha_ / gl.alphas_[0]:.3g} alpha_max), "
      f"{np.count_nonzero(np.abs(gl.coef_).sum(axis=0))} of 28 features kept")

start = time.perf_counter()
mr = MeanRegularizedRegressorCV(task_column=0, n_alphas=20, cv=5).fit(X, y)
print(f"mean-regularized: 5 folds x 3 l2_reg x 20 alphas in "
      f"{time.perf_counter() - start:.1f} s, alpha_ = {mr.alpha_:.3g}, "
      f"l2_reg_ = {mr.l2_reg_:.3g}")

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.9), sharey=True)
ax1.semilogx(gl.alphas_, gl.mse_path_, ":", color="C7", lw=1)
ax1.semilogx(gl.alphas_, gl.mse_path_.mean(axis=1), "k", lw=2, label="mean over folds")
ax1.axvline(gl.alpha_, color="C3", ls="--", label=rf"chosen $\alpha$ = {gl.alpha_:.3g}")
ax1.set_xlabel(r"$\alpha$")
ax1.set_ylabel("test MSE (dotted: each fold)")
ax1.set_title("GroupLassoRegressorCV")
ax1.legend()

best = list(mr.l2_regs_).index(mr.l2_reg_)
for k, l2 in enumerate(mr.l2_regs_):
    ax2.semilogx(mr.alphas_[k], mr.mse_path_[k].mean(axis=1), lw=2 if k == best else 1,
                 label=f"l2_reg = {l2:g}")
ax2.axvline(mr.alpha_, color="C3", ls="--", label=rf"chosen $\alpha$ = {mr.alpha_:.3g}")
ax2.set_xlabel(r"$\alpha$ (coupling to the mean task)")
ax2.set_title("MeanRegularizedRegressorCV (mean over folds)")
ax2.legend(fontsize=8)
fig.tight_layout()
plt.show()
