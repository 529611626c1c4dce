"""The linear estimators' proximal solver on torch tensors (CPU or GPU).

``TorchFISTA`` is a solver with the signature of :func:`mtlreg.solvers.fista`;
pass it as the ``solver`` of a linear estimator whose penalty has a torch twin
(``prox_twin``; not the dirty and robust models' two-part variable)::

    GroupLassoRegressor(alpha=0.1, solver=TorchFISTA(device="cuda")).fit(X, Y)

It runs the same algorithm as the NumPy FISTA (backtracking from the datafit's
Lipschitz bound, step growth, gradient-based adaptive restart) on the same
objective: the layout's observation weights ``c``, implicit centring and
intercepts, and the penalty's prox, rewritten on tensors (``prox_twin``). The
stopping rule is the same too, and computed by the same code: every
``check_every`` iterations ``W`` and its gradient come back to the CPU and the
penalty's own ``subdiff_distance`` is compared with ``tol`` (a ``(d, T)``
transfer, negligible next to an iteration on a problem large enough to need a
GPU). The result is an ordinary :class:`~mtlreg.solvers.SolverResult` in NumPy.
"""

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F

from ..datafits import GramQuadratic, Logistic, Multinomial, Quadratic
from ..penalties import (
    L1,
    L21,
    MeanRegularization,
    PerClass,
    SparseGroupL1L21,
    TraceNorm,
    WithRidge,
    Zero,
)
from ..solvers import SolverResult


def _soft(W, thr, positive):
    if positive:
        return torch.clamp(W - thr, min=0.0)
    return torch.sign(W) * torch.clamp(W.abs() - thr, min=0.0)


def _group_rows(W, thr):
    norms = torch.linalg.vector_norm(W, dim=1, keepdim=True)
    return W * torch.clamp(1.0 - thr / torch.clamp(norms, min=1e-300), min=0.0)


def prox_twin(penalty):
    """``prox(W, step)`` of ``penalty`` on tensors; raises for penalties without a twin."""
    if isinstance(penalty, WithRidge):
        inner, l2 = prox_twin(penalty.penalty), penalty.l2_reg

        def prox(W, step):
            shrink = 1.0 + step * l2
            return inner(W / shrink, step / shrink)
        return prox
    if isinstance(penalty, PerClass):  # K classes: the penalty on each class's T columns
        inner, K = prox_twin(penalty.penalty), penalty.n_classes
        return lambda W, step: torch.cat([inner(Wk, step) for Wk in W.chunk(K, dim=1)], dim=1)
    if isinstance(penalty, Zero):
        return (lambda W, step: torch.clamp(W, min=0.0)) if penalty.positive else (
            lambda W, step: W)
    if isinstance(penalty, L1):
        return lambda W, step: _soft(W, step * penalty.alpha, penalty.positive)
    if isinstance(penalty, L21):
        def prox(W, step):
            W = torch.clamp(W, min=0.0) if penalty.positive else W
            return _group_rows(W, step * penalty.alpha)
        return prox
    if isinstance(penalty, SparseGroupL1L21):
        a1, a21 = penalty._alphas
        return lambda W, step: _group_rows(_soft(W, step * a1, penalty.positive), step * a21)
    if isinstance(penalty, TraceNorm):
        def prox(W, step):
            U, s, Vh = torch.linalg.svd(W, full_matrices=False)
            return (U * torch.clamp(s - step * penalty.alpha, min=0.0)) @ Vh
        return prox
    if isinstance(penalty, MeanRegularization):
        def prox(W, step):
            mean = W.mean(dim=1, keepdim=True)
            return mean + (W - mean) / (1.0 + step * penalty.alpha)
        return prox
    raise ValueError(
        f"TorchFISTA has no torch version of the penalty {type(penalty).__name__} "
        "(supported: lasso, group lasso, sparse group lasso, trace norm, "
        "mean-regularization, ridge; per class for multiclass tasks)."
    )


class _TorchLayout:
    """The layout's operator ``(W, b) -> Z`` and its adjoint, on tensors.

    A multiclass layout (:class:`mtlreg._tasks.classes.ClassLayout`, ``K T`` virtual
    tasks, column ``k T + t`` of ``W``) gives ``Z (n, K T)`` on a shared design (the
    binary operator as it is) and ``Z (n, K)`` with per-task rows (``Z[i, k]`` the score
    of class ``k`` of row ``i``'s task), as the NumPy layout."""

    def __init__(self, layout, device, dtype):
        as_t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)  # noqa: E731
        X = layout.X.toarray() if sp.issparse(layout.X) else layout.X
        self.X = as_t(X)
        self.c, self.mu = as_t(layout.c), as_t(layout.mu)
        self.fit_intercept = layout.fit_intercept
        self.n_tasks = layout.n_tasks
        self.n_classes = getattr(layout, "n_classes", 1)  # 1: one column per task
        base = getattr(layout, "base", layout)
        self.y = as_t(base.y) if self.n_classes == 1 else None
        self.codes = (torch.as_tensor(base.codes, dtype=torch.long, device=device)
                      if layout.layout == "blocks" else None)

    def matvec(self, W, b):
        offset = b - (self.mu * W.T).sum(dim=1)
        if self.codes is None:
            return self.X @ W + offset
        if self.n_classes > 1:  # (n, K): per class, the row's task column
            K = self.n_classes
            Wk, ok = W.T.reshape(K, -1, W.shape[0]), offset.reshape(K, -1)
            return torch.stack([(self.X * Wk[k][self.codes]).sum(dim=1) for k in range(K)],
                               dim=1) + ok[:, self.codes].T
        return (self.X * W.T[self.codes]).sum(dim=1) + offset[self.codes]

    def _task_sums(self, R):
        """``(T, d)`` and ``(T,)``: per task, ``sum_i r_i x_i`` and ``sum_i r_i``."""
        T, d = self.n_tasks // self.n_classes, self.X.shape[1]
        G = torch.zeros(T, d, dtype=R.dtype, device=R.device).index_add_(
            0, self.codes, self.X * R[:, None])
        return G, torch.zeros(T, dtype=R.dtype, device=R.device).index_add_(0, self.codes, R)

    def rmatvec(self, R):
        if self.codes is None:
            G, gb = self.X.T @ R, R.sum(dim=0)
        elif self.n_classes > 1:  # R (n, K): class k fills the columns k T .. (k + 1) T
            parts = [self._task_sums(R[:, k]) for k in range(self.n_classes)]
            G = torch.cat([g for g, _ in parts], dim=0).T
            gb = torch.cat([s for _, s in parts])
        else:
            G, gb = self._task_sums(R)
            G = G.T
        G = G - self.mu.T * gb
        return G, (gb if self.fit_intercept else torch.zeros_like(gb))


def _softmax_value_and_residual(layout, device, dtype):
    """The softmax loss of :class:`mtlreg.datafits.Multinomial` on tensors: ``value(Z)``
    and ``residual(Z) = c (p - onehot(y))`` in the shape of ``Z``."""
    K, n = layout.n_classes, layout.weights.shape[0]
    as_t = lambda a: torch.as_tensor(np.ascontiguousarray(a), dtype=dtype, device=device)  # noqa: E731
    weights, onehot = as_t(layout.weights), as_t(layout.onehot())  # (n, m), (n, K, m)
    labels = torch.as_tensor(layout.labels, dtype=torch.long, device=device)[:, None, :]

    def by_class(Z):
        return Z.reshape(n, K, -1)  # shared (n, K T) -> (n, K, T); per-task (n, K) -> (n, K, 1)

    def value(Z):
        Zs = by_class(Z)
        zy = torch.gather(Zs, 1, labels)[:, 0, :]
        return float(torch.sum(weights * (torch.logsumexp(Zs, dim=1) - zy)))

    def residual(Z):
        P = (torch.softmax(by_class(Z), dim=1) - onehot) * weights[:, None, :]
        return P.reshape(Z.shape)

    return value, residual


def _loss_and_derivative(kind):
    if kind == "squared":
        return (lambda y, z: 0.5 * (y - z) ** 2), (lambda y, z: z - y)
    return (lambda y, z: F.softplus(z) - y * z), (lambda y, z: torch.sigmoid(z) - y)


class TorchFISTA:
    """FISTA on torch tensors, for the linear estimators (``solver=TorchFISTA()``).

    Parameters
    ----------
    device : {"auto", "cpu", "cuda"} or str, default="auto"
        Where the data and iterates live; ``"auto"``: CUDA when available.
    dtype : {"float64", "float32"}, default="float64"
        float32 halves memory and is faster on most GPUs, at the price of
        round-off near ``tol`` (the stopping rule is still checked in float64).
    check_every : int, default=10
        Iterations between two evaluations of the optimality measure.

    Notes
    -----
    Supported: squared and logistic losses, the multinomial (softmax) loss of
    classifiers fitted to ``K > 2`` classes (free intercepts), both layouts, the
    penalties ``L1``, ``L21``, sparse group lasso, trace norm, mean-regularization
    (per class for ``K > 2``) and ridge; not the dirty and robust models' two-part
    variable. A sparse ``X`` is densified on the device.
    """

    def __init__(self, device="auto", dtype="float64", check_every=10):
        self.device = device
        self.dtype = dtype
        self.check_every = check_every

    def __repr__(self):
        return (f"TorchFISTA(device={self.device!r}, dtype={self.dtype!r}, "
                f"check_every={self.check_every})")

    def __call__(self, datafit, penalty, W0, b0, *, fit_intercept=True, tol=1e-4,
                 max_iter=1000, gradient_scale=None, verbose=0):
        from ._estimators import resolve_device

        if isinstance(datafit, (Quadratic, GramQuadratic)):
            kind = "squared"
        elif isinstance(datafit, Logistic):
            kind = "logistic"
        elif isinstance(datafit, Multinomial):
            kind = "multinomial"
        else:
            raise ValueError(
                f"TorchFISTA does not support the datafit {type(datafit).__name__}: it "
                "solves the squared, logistic and multinomial (softmax, K > 2 classes) "
                "losses on one coefficient matrix; not the dirty and robust models' "
                "two-part variable (SumOfParts, binary or multiclass), the shrunk "
                "multiclass intercepts of intercept_reg > 0, nor the Poisson and Huber "
                "losses. Use solver='fista' (or 'auto') for them.")
        prox = prox_twin(penalty)
        device = resolve_device(self.device)
        dtype = {"float64": torch.float64, "float32": torch.float32}[self.dtype]
        op = _TorchLayout(datafit.layout, device, dtype)
        if kind == "multinomial":
            value, residual = _softmax_value_and_residual(datafit.layout, device, dtype)

            def gradient(Z):
                return op.rmatvec(residual(Z))
        else:
            loss, dloss = _loss_and_derivative(kind)

            def value(Z):
                return float(torch.sum(op.c * loss(op.y, Z)))

            def gradient(Z):
                return op.rmatvec(op.c * dloss(op.y, Z))

        def kkt(W, Z):
            G, gb = gradient(Z)
            gb_viol = float(gb.abs().max()) if fit_intercept and gb.numel() else 0.0
            Wn = W.detach().double().cpu().numpy()
            return max(penalty.subdiff_distance(Wn, G.double().cpu().numpy()), gb_viol)

        L_bound = float(datafit.lipschitz())
        if not np.isfinite(L_bound) or L_bound <= 0:
            L_bound = 1.0
        L = L_bound
        W = torch.as_tensor(np.array(W0, dtype=np.float64), dtype=dtype, device=device)
        b = torch.as_tensor(np.array(b0, dtype=np.float64), dtype=dtype, device=device)
        Z = op.matvec(W, b)
        if gradient_scale is None:
            G0 = gradient(op.matvec(torch.zeros_like(W), b))[0]
            gradient_scale = float(G0.abs().max()) if G0.numel() else 0.0
        tol_abs = tol * max(gradient_scale, np.finfo(float).tiny)

        Wy, by, Zy = W, b, Z
        t, n_iter = 1.0, 0
        f_y = value(Zy)
        crit = kkt(W, Z)
        converged = crit <= tol_abs
        history = []
        for n_iter in range(1, (0 if converged else max_iter) + 1):
            GW, gb = gradient(Zy)
            while True:
                step = 1.0 / L
                W_new = prox(Wy - step * GW, step)
                b_new = by - step * gb
                dW, db = W_new - Wy, b_new - by
                Z_new = op.matvec(W_new, b_new)
                f_new = value(Z_new)
                sq = float((dW**2).sum() + (db**2).sum())
                quad = f_y + float((GW * dW).sum() + gb @ db) + 0.5 * L * sq
                slack = 1e-12 if dtype == torch.float64 else 1e-6
                if f_new <= quad or (L >= L_bound and f_new <= quad + slack * max(abs(f_y), 1.0)):
                    break
                L *= 2.0
            if float(((Wy - W_new) * (W_new - W)).sum() + (by - b_new) @ (b_new - b)) > 0:
                t = 1.0  # adaptive restart
            t_next = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
            beta = (t - 1.0) / t_next
            Wy = W_new + beta * (W_new - W)
            by = b_new + beta * (b_new - b)
            Zy = Z_new + beta * (Z_new - Z)
            W, b, Z, t = W_new, b_new, Z_new, t_next
            f_y = value(Zy) if beta != 0.0 else f_new
            if n_iter % self.check_every == 0 or sq == 0.0:
                crit = kkt(W, Z)
                if verbose:
                    history.append((n_iter, f_new, crit))
                    print(f"[TorchFISTA] iter {n_iter:5d}  datafit {f_new:.10e}  kkt {crit:.3e}")
                if crit <= tol_abs:
                    converged = True
                    break
            L = max(L * 0.9, 1e-3 * L_bound)
        if not converged:
            crit = kkt(W, Z)
            converged = crit <= tol_abs
        Wn = W.double().cpu().numpy()
        bn = b.double().cpu().numpy()
        objective = datafit.exact_value(Wn, bn) + penalty.value(Wn)
        return SolverResult(Wn, bn, n_iter, crit, tol_abs, converged, objective, history)
