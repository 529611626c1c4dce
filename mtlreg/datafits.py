"""Datafits: the smooth part of the objective.

A datafit sees one task layout (:mod:`mtlreg._tasks.layout`), i.e. a linear operator
``A : (W, b) -> Z`` and observation weights ``c``, and implements

    F(W, b) = sum_{observations o} c_o * loss(y_o, z_o),       Z = A(W, b)

through ``linear_predictor``, ``value(Z)``, ``gradient(Z)`` (w.r.t. ``W`` and
``b``), ``exact_value(W, b)`` (the value computed as accurately as possible, for
reporting), ``lipschitz()`` (a valid upper bound on the Lipschitz constant of the
gradient w.r.t. the pair ``(W, b)``) and ``initial_intercept()`` (the optimal
intercept when ``W = 0``). Working on ``Z`` lets a solver reuse predictions:
``Z`` is linear in the coefficients.

Second-order solvers (:mod:`mtlreg.solvers.newton`) also use
``quadratic_model(W, b)``: the second-order Taylor model of ``F`` at ``(W, b)``, as a
datafit in Gram form (:class:`GramQuadratic`'s interface: ``H``, ``r``, on the same
variables and with the same gradient at ``(W, b)``), which the squared-loss solvers
(ADMM, BCD, FISTA) minimise with any penalty; ``exact_quadratic`` says whether the
model is ``F`` itself (squared loss); ``intercept_gradient_bound()`` bounds
``max_t |grad_b F|`` (the scale of the intercept part of the optimality measure).
A datafit without ``quadratic_model`` (the distributed logistic loss) is solved by
first-order methods only.
"""

import numpy as np
from scipy.special import expit


class _LinearDatafit:
    curvature = 1.0  # bound on loss''(z)

    def __init__(self, layout):
        self.layout = layout
        self._lipschitz = None

    def linear_predictor(self, W, b):
        return self.layout.matvec(W, b)

    def value(self, Z):
        return float(np.sum(self.layout.c * self._loss(self.layout.y, Z)))

    def exact_value(self, W, b):
        return self.value(self.linear_predictor(W, b))

    def gradient(self, Z):
        """Gradient w.r.t. ``(W, b)``: ``A^T (c * loss'(y, Z))``."""
        return self.layout.rmatvec(self.layout.c * self._dloss(self.layout.y, Z))

    def lipschitz(self):
        if self._lipschitz is None:
            self._lipschitz = self.curvature * self.layout.sq_norm_bound()
        return self._lipschitz


def _stack(W, b, fit_intercept):
    """The Gram-form variable ``V = [W^T, b]`` (``W^T`` without intercept)."""
    return np.hstack([W.T, b[:, None]]) if fit_intercept else np.ascontiguousarray(W.T)


class Quadratic(_LinearDatafit):
    r"""Squared loss, ``loss(y, z) = (y - z)^2 / 2``.

    With the layout's weights this is
    ``sum_t lambda_t / (2 n_t) * sum_{i in t} s_i (y_it - x_i . w_t - b_t)^2``.
    """

    curvature = 1.0

    @staticmethod
    def _loss(y, z):
        return 0.5 * (y - z) ** 2

    @staticmethod
    def _dloss(y, z):
        return z - y

    exact_quadratic = True

    def initial_intercept(self):
        return self.layout.task_means(self.layout.y)

    def quadratic_model(self, W, b):
        """The squared loss is its own quadratic model (in Gram form)."""
        return GramQuadratic(self.layout)

    def intercept_gradient_bound(self):
        return np.inf  # unbounded in y: the intercept is judged on the W scale alone


class Logistic(_LinearDatafit):
    r"""Logistic loss for labels ``y in {0, 1}``: ``loss(y, z) = log(1 + e^z) - y z``.

    Equivalently ``log(1 + exp(-y' z))`` with ``y' = 2y - 1 in {-1, +1}``.
    """

    curvature = 0.25

    @staticmethod
    def _loss(y, z):
        return np.logaddexp(0.0, z) - y * z

    @staticmethod
    def _dloss(y, z):
        return expit(z) - y

    exact_quadratic = False

    def initial_intercept(self):
        p = self.layout.task_means(self.layout.y)
        p = np.clip(p, 1e-12, 1 - 1e-12)
        return np.log(p / (1 - p))

    def quadratic_model(self, W, b):
        """Second-order model at ``(W, b)``: a weighted least-squares datafit in Gram form.

        With ``p = expit(z)`` the Hessian of task t is ``H_t = sum_i c_i p_i (1 - p_i)
        a_i a_i^T`` (one product per task, ``layout.weighted_gram``); ``r_t = H_t v_t -
        g_t`` so that the model's gradient at ``v_t = [w_t; b_t]`` is the logistic
        gradient ``g_t`` (IRLS: the working response ``z + (y - p) / (p (1 - p))``
        with sample weights ``c p (1 - p)``, without dividing by ``p (1 - p)``)."""
        layout = self.layout
        Z = self.linear_predictor(W, b)
        p = expit(Z)
        H = layout.weighted_gram(layout.c * p * (1.0 - p))
        G, gb = self.gradient(Z)
        fit_intercept = layout.fit_intercept
        V = _stack(W, b, fit_intercept)
        g = _stack(G, gb, fit_intercept)
        HV = np.matmul(H, V[:, :, None])[:, :, 0]
        const = self.value(Z) - float(np.sum(g * V)) + 0.5 * float(np.sum(V * HV))
        return QuadraticModel(layout, H, HV - g, const)

    def intercept_gradient_bound(self):
        """``|grad_{b_t} F| = |sum_i c_i (p_i - y_i)| <= sum_i c_i`` (= lambda_t)."""
        return float(np.max(self.layout._task_sums(self.layout.c), initial=0.0))


class GramQuadratic:
    r"""The squared datafit of :class:`Quadratic`, evaluated from per-task Gram matrices.

    With ``v_t = [w_t; b_t]`` (``b_t`` in the centred coordinates of the layout)
    the data term of task ``t`` is ``v_t^T H_t v_t / 2 - r_t^T v_t + c_t`` (see
    ``layout.task_gram``). The "prediction" this datafit works on is ``V`` itself,
    shape ``(n_tasks, k)``: an iteration costs ``O(T k^2)`` instead of
    ``O(nnz(X))``, a large saving when tasks have many more samples than features
    (School: 139 tasks of 22-251 rows, ``k = 29``). Same value and gradient as
    :class:`Quadratic` (up to rounding), and an exact Lipschitz constant.
    """

    curvature = 1.0
    exact_quadratic = True

    def __init__(self, layout):
        self.layout = layout
        self.H, self.r = layout.task_gram()
        self.const = layout.gram_constant()
        self.fit_intercept = layout.fit_intercept
        self._lipschitz = None

    def linear_predictor(self, W, b):
        return _stack(W, b, self.fit_intercept)

    def quadratic_model(self, W, b):
        return self

    def intercept_gradient_bound(self):
        return np.inf

    def value(self, V):
        HV = np.matmul(self.H, V[:, :, None])[:, :, 0]
        return float(0.5 * np.sum(V * HV) - np.sum(self.r * V) + self.const)

    def exact_value(self, W, b):
        """From the residuals, not the Gram form: ``v^T H v / 2 - r^T v + const`` loses
        about ``eps * const`` to cancellation when the fit is nearly exact. A layout of
        sufficient statistics only (a fit from Dask, ``layout.X is None``) has no
        residuals: there it is the Gram form."""
        if self.layout.X is None:
            return self.value(self.linear_predictor(W, b))
        return Quadratic(self.layout).value(self.layout.matvec(W, b, once=True))

    def gradient(self, V):
        grad = np.matmul(self.H, V[:, :, None])[:, :, 0] - self.r
        d = self.layout.n_features
        gb = grad[:, d].copy() if self.fit_intercept else np.zeros(len(grad))
        return np.ascontiguousarray(grad[:, :d].T), gb

    def lipschitz(self):
        if self._lipschitz is None:
            top = np.linalg.eigvalsh(self.H)[:, -1] if self.H.size else np.zeros(1)
            self._lipschitz = float(max(top.max(initial=0.0), 0.0)) * (1 + 1e-10)
        return self._lipschitz

    def initial_intercept(self):
        return self.layout.target_means()


class QuadraticModel(GramQuadratic):
    """A quadratic ``v^T H_t v / 2 - r_t^T v + const`` per task, given by its arrays
    (the second-order model of another datafit, see ``Logistic.quadratic_model``);
    the variables and centring are those of ``layout``."""

    def __init__(self, layout, H, r, const):
        self.layout = layout
        self.H, self.r, self.const = H, r, const
        self.fit_intercept = layout.fit_intercept
        self._lipschitz = None

    def exact_value(self, W, b):
        return self.value(self.linear_predictor(W, b))


DATAFITS = {"squared": Quadratic, "logistic": Logistic}

# Use the Gram form when its per-iteration cost T k^2 is well below the data's
# (about 2 nnz(X) multiply-adds per iteration), its memory stays small, and the
# per-task factorisations (T k^3, for ADMM) stay cheap: with k = 501 (shared design,
# n=800, d=500, T=10) they cost 0.5 s where BCD on X takes 0.02 s.
_GRAM_MAX_ENTRIES = 4_000_000
_GRAM_MAX_K = 256


def make_datafit(loss, layout, *, for_coordinate_descent=False):
    """The datafit for ``loss`` on ``layout``, in its cheapest exact form.

    ``for_coordinate_descent``: the solver will be block coordinate descent, which on
    a shared design works on ``X`` itself with working sets; there the Gram form only
    pays when building it (``n k^2``, one matrix for all tasks) costs less than about
    two sweeps over the data (``2 n d T`` each), that is ``k <= 4 T`` (measured on
    Toeplitz designs, n = 500..10 000, d = 50..250, T = 5..20: the design form was
    1.3-6x faster above that line, the Gram form 1.4x faster at d=50, T=20)."""
    if loss == "squared":
        k = layout.n_features + int(layout.fit_intercept)
        gram_cost = layout.n_tasks * k * k
        data_cost = 2 * (layout.X.nnz if hasattr(layout.X, "nnz") else layout.X.size)
        if layout.layout == "shared":
            data_cost *= layout.n_tasks
            if for_coordinate_descent and k > 4 * layout.n_tasks:
                return DATAFITS[loss](layout)
        if k <= _GRAM_MAX_K and gram_cost <= _GRAM_MAX_ENTRIES and 2 * gram_cost < data_cost:
            return GramQuadratic(layout)
    return DATAFITS[loss](layout)


class SumOfParts:
    """Datafit of ``W = B + S`` seen on the stacked variable ``V = [B; S]`` (dirty model).

    ``A'(B, S, b) = A(B + S, b)``: the gradient is the base gradient twice and the
    Lipschitz bound doubles (``||[I I]||_2^2 = 2``).
    """

    def __init__(self, datafit):
        self.datafit = datafit
        self.layout = datafit.layout

    @staticmethod
    def combine(V):
        d = V.shape[0] // 2
        return V[:d] + V[d:]

    def linear_predictor(self, V, b):
        return self.datafit.linear_predictor(self.combine(V), b)

    def value(self, Z):
        return self.datafit.value(Z)

    def exact_value(self, V, b):
        return self.datafit.exact_value(self.combine(V), b)

    def gradient(self, Z):
        G, gb = self.datafit.gradient(Z)
        return np.vstack([G, G]), gb

    def lipschitz(self):
        return 2.0 * self.datafit.lipschitz()

    def initial_intercept(self):
        return self.datafit.initial_intercept()

    @property
    def exact_quadratic(self):
        return self.datafit.exact_quadratic

    def quadratic_model(self, V, b):
        return SumOfParts(self.datafit.quadratic_model(self.combine(V), b))

    def intercept_gradient_bound(self):
        return self.datafit.intercept_gradient_bound()
