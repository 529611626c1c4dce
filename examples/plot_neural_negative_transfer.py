"""
=====================================================
Sharing, negative transfer and task weighting in MLPs
=====================================================

Two small synthetic experiments with :class:`mtlreg.torch.MultiTaskMLPRegressor`.

1. **Related tasks, few samples each**: twenty tasks share one nonlinear
   function (up to a scale) and have 20 training rows each. One shared trunk
   (hard parameter sharing) learns the function from all 400 rows; twenty
   separate networks each see 20.
2. **Half the tasks unrelated**: three tasks share a function, three others each
   follow a function of their own. Sharing a trunk with unrelated tasks can hurt
   (negative transfer); the task weightings and gradient aggregators change how
   the conflict is resolved. We report the test error of every task for each
   method, next to independent networks.

The networks are tiny and trained on the CPU with one thread (more threads only
add synchronisation at this size). Each trains until its training loss has not
improved for 20 epochs (``n_iter_no_change``); ``max_iter=300`` is a cap that none
reaches (the epochs each took are printed), so every method is compared at
convergence, not after an arbitrary budget.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch

from mtlreg.torch import MultiTaskMLPRegressor

torch.set_num_threads(1)


def draw(functions, n_per_task, rng, d=4):
    """Per-task layout: the task id in column 0, then ``d`` features."""
    task = np.repeat(np.arange(len(functions)), n_per_task)
    F = rng.uniform(-2, 2, (len(task), d))
    y = np.empty(len(task))
    for t, f in enumerate(functions):
        rows = task == t
        y[rows] = f(F[rows])
    y += 0.1 * rng.standard_normal(len(task))
    return np.column_stack([task, F]), y, task


def per_task_mse(model, X, y, task):
    err = (model.predict(X) - y) ** 2
    return np.array([err[task == t].mean() for t in np.unique(task)])


params = dict(task_column=0, hidden_layer_sizes=(32, 32), batch_size=64,
              learning_rate_init=1e-2, max_iter=300, n_iter_no_change=20,
              random_state=0, device="cpu")

# %%
# Related tasks: hard sharing against one network per task
# --------------------------------------------------------
rng = np.random.default_rng(0)
scales = 1 + 0.2 * rng.standard_normal(20)
related = [lambda F, s=s: s * (np.sin(2 * F[:, 0]) + 0.5 * F[:, 1] ** 2) for s in scales]
X_tr, y_tr, _ = draw(related, 20, rng)
X_te, y_te, t_te = draw(related, 50, rng)

mse_related = {}
for arch in ("hard", "independent"):
    model = MultiTaskMLPRegressor(arch, **params).fit(X_tr, y_tr)
    mse_related[arch] = per_task_mse(model, X_te, y_te, t_te)
    print(f"{arch:12s} mean test MSE over 20 tasks: {mse_related[arch].mean():.3f} "
          f"({model.n_iter_} epochs)")

# %%
# Half the tasks unrelated: what each weighting does
# --------------------------------------------------
# Tasks 0-2 share ``sin(2 x0) + x1^2 / 2`` (scaled); tasks 3-5 each depend on other
# features in their own way.
rng = np.random.default_rng(1)
mixed = [
    lambda F: np.sin(2 * F[:, 0]) + 0.5 * F[:, 1] ** 2,
    lambda F: 1.2 * (np.sin(2 * F[:, 0]) + 0.5 * F[:, 1] ** 2),
    lambda F: 0.8 * (np.sin(2 * F[:, 0]) + 0.5 * F[:, 1] ** 2),
    lambda F: np.abs(F[:, 2]) - F[:, 3],
    lambda F: -np.cos(3 * F[:, 3]),
    lambda F: F[:, 2] * F[:, 3] / 2,
]
X_tr, y_tr, _ = draw(mixed, 40, rng)
X_te, y_te, t_te = draw(mixed, 100, rng)

methods = ["fixed", "uncertainty", "dwa", "gradnorm", "pcgrad", "mgda", "upgrad"]
model = MultiTaskMLPRegressor("independent", **params).fit(X_tr, y_tr)
results = {"independent nets": per_task_mse(model, X_te, y_te, t_te)}
epochs = {"independent nets": model.n_iter_}
for weighting in methods:
    model = MultiTaskMLPRegressor("hard", weighting=weighting, **params).fit(X_tr, y_tr)
    results[f"hard + {weighting}"] = per_task_mse(model, X_te, y_te, t_te)
    epochs[f"hard + {weighting}"] = model.n_iter_

print("test MSE per task (tasks 0-2 related, 3-5 unrelated)")
print(f"{'method':22s}" + "".join(f"  task {t}" for t in range(6)) + "    mean  epochs")
for name, mse in results.items():
    print(f"{name:22s}" + "".join(f"  {m:6.3f}" for m in mse) + f"  {mse.mean():6.3f}"
          f"  {epochs[name]:6d}")

# %%
# The figure: left, the related tasks (one point per task); right, per-task error
# of every method on the mixed problem.
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [1, 3]})
ax1.boxplot([mse_related["hard"], mse_related["independent"]])
ax1.set_xticks([1, 2], ["hard sharing", "independent"])
ax1.set_ylabel("test MSE per task")
ax1.set_title("20 related tasks, 20 rows each")
width = 0.8 / len(results)
for k, (name, mse) in enumerate(results.items()):
    ax2.bar(np.arange(6) + k * width, mse, width, label=name)
ax2.set_xticks(np.arange(6) + 0.4 - width / 2,
               [f"task {t}\n({'related' if t < 3 else 'unrelated'})" for t in range(6)])
ax2.set_ylabel("test MSE")
ax2.set_title("3 related + 3 unrelated tasks, 40 rows each")
ax2.legend(fontsize=7, ncol=2)
fig.tight_layout()
plt.show()
