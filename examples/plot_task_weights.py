"""
==========================
The effect of task weights
==========================

The data term of every estimator is :math:`\\sum_t \\lambda_t \\times` (mean loss of
task :math:`t`); ``task_weights`` sets :math:`\\lambda_t` (:ref:`task_weights`).
Here one *large* task (400 samples) differs from eleven *small*, mutually
similar tasks (15 samples each), and the mean-regularized model pulls all task
vectors towards their mean:

* ``task_weights=None`` (:math:`\\lambda_t = 1`): every task's mean loss counts
  the same;
* ``"samples"`` (:math:`\\lambda_t \\propto n_t`): every sample counts the same, so
  the large task dominates the fit: its own error drops, and the small tasks
  are fitted worse;
* a dict ``{0: 0.2}`` down-weights the large task instead: it is then pulled
  hard towards the small tasks' mean, and its error grows.

Which is right depends on which tasks matter; the weights are ordinary
parameters, so ``GridSearchCV`` can choose them for a given scoring.
The test error is measured per task on fresh samples.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np

from mtlreg import MeanRegularizedRegressor

rng = np.random.default_rng(0)
d, T = 10, 12
sizes = np.array([400] + [15] * (T - 1))
common = rng.standard_normal(d)
W = common[:, None] + 0.3 * rng.standard_normal((d, T))
W[:, 0] = common + 1.2 * rng.standard_normal(d)  # the large task is different


def sample(sizes):
    task = np.repeat(np.arange(T), sizes)
    X = rng.standard_normal((len(task), d))
    y = np.einsum("ij,ji->i", X, W[:, task]) + 1.0 * rng.standard_normal(len(task))
    return np.column_stack([task, X]), y


X_train, y_train = sample(sizes)
X_test, y_test = sample(np.full(T, 500))

settings = {"None": None, '"samples"': "samples", "{0: 0.2}": {0: 0.2}}
errors = {}
for label, weights in settings.items():
    est = MeanRegularizedRegressor(alpha=0.5, task_column=0, task_weights=weights)
    pred = est.fit(X_train, y_train).predict(X_test)
    task = X_test[:, 0].astype(int)
    errors[label] = np.array([np.mean((pred - y_test)[task == t] ** 2) for t in range(T)])
    print(f"task_weights={label:10s} test MSE: large task {errors[label][0]:.2f}, "
          f"small tasks (mean) {errors[label][1:].mean():.2f}")

# %%
fig, ax = plt.subplots(figsize=(8, 3.6))
width = 0.27
for i, (label, err) in enumerate(errors.items()):
    ax.bar(np.arange(T) + (i - 1) * width, err, width, label=f"task_weights={label}")
ax.set_xticks(np.arange(T), ["large"] + [str(t) for t in range(1, T)])
ax.set_xlabel("task")
ax.set_ylabel("test MSE")
ax.axhline(1.0, color="k", lw=0.8, ls=":")  # the noise level
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
