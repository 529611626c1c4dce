r"""The multinomial logistic (softmax) loss of multiclass tasks, and its coupled quadratic model."""

import numpy as np
from scipy.special import logsumexp, softmax

from ._base import _stack


class Multinomial:
    r"""Softmax loss of ``K > 2`` classes per task, on a layout of virtual tasks.

    The layout (:class:`mtlreg._tasks.classes.ClassLayout`) holds ``W`` of shape
    ``(n_features, K T)`` (column ``k T + t``: class ``k`` of task ``t``) and intercepts
    ``b`` of shape ``(K T,)``; with ``z_itk = x_i . w_tk + b_tk`` the datafit is

    .. math::

        F(W, b) = \sum_t \frac{\lambda_t}{n_t} \sum_{i \in t} s_i
          \Bigl[\log \sum_{k=1}^K e^{z_{itk}} - z_{it y_i}\Bigr]

    (the layout's weights ``c_it = lambda_t s_i / n_t``). Its gradient is
    ``A^T (c (p - onehot(y)))`` with ``p = softmax(z_it)``. The Hessian of
    ``logsumexp`` is ``diag(p) - p p^T``, and ``x^T (diag(p) - p p^T) x`` is the variance
    of the values ``x_k`` under ``p``: at most ``(max x - min x)^2 / 4 <= ||x||_2^2 / 2``
    (Popoviciu). So ``curvature = 1/2`` times the layout's
    ``max_t ||diag(sqrt(c_t)) A_t||^2`` is a valid
    Lipschitz bound of the gradient.

    Invariance: adding one vector to ``w_tk`` (and one number to ``b_tk``) for all ``k``
    of a task leaves ``F`` unchanged. The gradient sums to zero over the classes of a
    task, so gradient steps never move along that direction: the solvers keep the
    intercepts' class sum where it starts (``initial_intercept`` starts at zero).
    """

    curvature = 0.5
    exact_quadratic = False

    def __init__(self, layout):
        self.layout = layout
        self._lipschitz = None
        self._Y = layout.onehot()  # (n, K, m)

    def linear_predictor(self, W, b):
        return self.layout.matvec(W, b)

    def value(self, Z):
        Zs = self.layout.by_class(Z)
        zy = np.take_along_axis(Zs, self.layout.labels[:, None, :], axis=1)[:, 0, :]
        return float(np.sum(self.layout.weights * (logsumexp(Zs, axis=1) - zy)))

    def exact_value(self, W, b):
        return self.value(self.layout.matvec(W, b, once=True))

    def _residual(self, Z):
        """``c (p - onehot(y))`` in the shape of ``Z``."""
        P = softmax(self.layout.by_class(Z), axis=1)
        P -= self._Y
        P *= self.layout.weights[:, None, :]
        return self.layout.from_class(P)

    def gradient(self, Z):
        return self.layout.rmatvec(self._residual(Z))

    def lipschitz(self):
        if self._lipschitz is None:
            self._lipschitz = self.curvature * self.layout.sq_norm_bound()
        return self._lipschitz

    def initial_intercept(self):
        """The intercepts at ``W = 0``: the centred log class shares of each task,
        ``b_tk = log p_tk - mean_k log p_tk`` (shares clipped at 1e-12: a class a task
        never sees has no finite optimum; the estimators refuse that case unless the
        intercept is not fitted)."""
        logp = np.log(np.clip(self.layout.class_shares(), 1e-12, None))  # (T, K)
        logp -= logp.mean(axis=1, keepdims=True)
        return np.ascontiguousarray(logp.T).ravel()

    @property
    def prefer_first_order(self):
        """``solver="auto"`` takes FISTA rather than proximal Newton when the coupled
        Hessians of :meth:`quadratic_model`, ``T (K k)^2`` numbers (``k = n_features + 1``),
        exceed the Gram-form limit of the squared loss (``_GRAM_MAX_ENTRIES``, 4e6):
        ``K`` times the size Newton's own test (``K T k^2``) sees."""
        from . import _GRAM_MAX_ENTRIES

        layout = self.layout
        k = layout.n_features + int(layout.fit_intercept)
        return layout.n_base_tasks * (layout.n_classes * k) ** 2 > _GRAM_MAX_ENTRIES

    def intercept_gradient_bound(self):
        """``|grad_{b_tk} F| = |sum_i c_i (p_ik - y_ik)| <= sum_i c_i = lambda_t``."""
        return float(np.max(self.layout.task_sums(self.layout.weights), initial=0.0))

    def quadratic_model(self, W, b):
        """Second-order model at ``(W, b)``: :class:`CoupledQuadratic`.

        Per task, on ``u_t = [v_t1; ...; v_tK]`` (``v_tk = [w_tk; b'_tk]``) the Hessian
        is ``H_t = sum_i c_i (diag(p_i) - p_i p_i^T) (x) a_i a_i^T``: ``K x K`` blocks
        ``H_t[k, l] = sum_i c_i (delta_kl p_ik - p_ik p_il) a_i a_i^T`` (one
        ``layout.weighted_gram`` each, ``K (K + 1) / 2`` of them); ``r_t = H_t u_t - g_t``
        so that the model's gradient at ``u_t`` is the softmax gradient ``g_t``."""
        layout = self.layout
        K, T = layout.n_classes, layout.n_base_tasks
        Z = self.linear_predictor(W, b)
        P = softmax(layout.by_class(Z), axis=1)  # (n, K, m)
        c = layout.weights
        kk = layout.n_features + int(layout.fit_intercept)
        H = np.empty((T, K, kk, K, kk))
        for k in range(K):
            for m in range(k, K):
                w = c * ((P[:, k] if k == m else 0.0) - P[:, k] * P[:, m])
                block = layout.weighted_gram(w)
                H[:, k, :, m, :] = block
                if m != k:
                    H[:, m, :, k, :] = block
        H = H.reshape(T, K * kk, K * kk)
        G, gb = self.gradient(Z)
        model = CoupledQuadratic(layout, H, np.zeros((T, K * kk)), 0.0)
        U = model.linear_predictor(W, b)
        g = model._tasks(_stack(G, gb, layout.fit_intercept))
        HU = np.matmul(H, U[:, :, None])[:, :, 0]
        model.r = HU - g
        model.const = self.value(Z) - float(np.sum(g * U)) + 0.5 * float(np.sum(U * HU))
        return model


class CoupledQuadratic:
    """A quadratic ``u_t^T H_t u_t / 2 - r_t^T u_t + const`` per task whose variable
    couples the ``K`` classes of the task: ``u_t = [v_t1; ...; v_tK]`` (``K k``
    numbers, ``v_tk = [w_tk; b'_tk]``), ``H_t`` of shape ``(K k, K k)``. The model of
    :meth:`Multinomial.quadratic_model`; the "prediction" is ``U (T, K k)``, an
    iteration costs ``O(T K^2 k^2)``. It has no ``H`` of per-(virtual)-task blocks, so
    ADMM and BCD do not take it; proximal Newton solves it exactly for a quadratic
    penalty (ridge, mean regularisation per class: :func:`mtlreg.solvers.direct.solve_coupled`,
    one Cholesky per task) and with FISTA for any other."""

    exact_quadratic = True
    curvature = 1.0
    POWER_STEPS = 20

    def __init__(self, layout, H, r, const):
        self.layout = layout
        self.blocks, self.r, self.const = H, r, const
        self.fit_intercept = layout.fit_intercept
        self._lipschitz = None

    def _tasks(self, V):
        """``(K T, k)`` rows (virtual task order) as ``(T, K k)``."""
        K, T = self.layout.n_classes, self.layout.n_base_tasks
        return np.ascontiguousarray(V.reshape(K, T, -1).transpose(1, 0, 2).reshape(T, -1))

    def linear_predictor(self, W, b):
        return self._tasks(_stack(W, b, self.fit_intercept))

    def value(self, U):
        HU = np.matmul(self.blocks, U[:, :, None])[:, :, 0]
        return float(0.5 * np.sum(U * HU) - np.sum(self.r * U) + self.const)

    def exact_value(self, W, b):
        return self.value(self.linear_predictor(W, b))

    def gradient(self, U):
        K, T = self.layout.n_classes, self.layout.n_base_tasks
        g = np.matmul(self.blocks, U[:, :, None])[:, :, 0] - self.r
        g = g.reshape(T, K, -1).transpose(1, 0, 2).reshape(K * T, -1)  # virtual rows
        d = self.layout.n_features
        gb = g[:, d].copy() if self.fit_intercept else np.zeros(len(g))
        return np.ascontiguousarray(g[:, :d].T), gb

    def lipschitz(self):
        """An estimate of ``max_t lambda_max(H_t)``, not a bound: the largest Rayleigh
        quotient after ``POWER_STEPS`` batched power iterations, times 1.05. FISTA
        (the solver of this model) doubles its ``L`` whenever the sufficient decrease
        fails, so an estimate below the true value costs a backtracking step, never
        correctness. Measured on the multiclass study's data (20 tasks, ``K k = 124``):
        within 0.90-1.0 of the top eigenvalue, 2 ms against 7 ms for ``eigvalsh`` (38%
        of an ``IndependentClassifier`` fit when its inner solve was FISTA)."""
        if self._lipschitz is None:
            H = self.blocks
            if not H.size:
                self._lipschitz = 0.0
                return 0.0
            n = H.shape[1]
            v = np.broadcast_to(1.0 + np.arange(n) / n, H.shape[:2]).copy()  # not orthogonal to the top
            for _ in range(self.POWER_STEPS):
                v = np.matmul(H, v[:, :, None])[:, :, 0]
                v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), np.finfo(float).tiny)
            top = np.einsum("ti,tij,tj->t", v, H, v)
            self._lipschitz = float(max(top.max(initial=0.0), 0.0)) * 1.05
        return self._lipschitz

    def initial_intercept(self):
        return np.zeros(self.layout.n_tasks)

    def intercept_gradient_bound(self):
        return np.inf
