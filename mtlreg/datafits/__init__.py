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

from ._base import _LinearDatafit, _stack
from ._huber import Huber
from ._logistic import Logistic
from ._multinomial import Multinomial
from ._parts import SumOfParts
from ._poisson import Poisson
from ._squared import GramQuadratic, Quadratic, QuadraticModel

__all__ = ["GramQuadratic", "Huber", "Logistic", "Multinomial", "Poisson", "Quadratic", "QuadraticModel",
           "SumOfParts", "make_datafit"]

DATAFITS = {"squared": Quadratic, "logistic": Logistic, "poisson": Poisson, "huber": Huber}

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
