r"""Gap-safe screening for the l2,1 penalty on a shared design (working-set BCD).

Ndiaye, Fercoq, Gramfort & Salmon (2017), *Gap safe screening rules for sparsity
enforcing penalties*, JMLR 18. For the squared loss with one weight per task
(``c_t``, the same on every row: no sample weights, no missing labels) and the
intercepts at their optimum (``X``, ``Y`` centred), the problem over ``W`` is

.. math::

    P(W) = \sum_t \frac{c_t}{2} \lVert X_c w_t - y_{c,t} \rVert^2
           + \sum_j \alpha_j \lVert W_j \rVert_2 ,

whose dual is

.. math::

    D(\Theta) = -\sum_t \Big( \theta_t^\top y_t + \frac{\lVert \theta_t \rVert^2}{2 c_t}
    \Big) \quad \text{s.t.} \quad \lVert (X_c^\top \Theta)_j \rVert_2 \le \alpha_j .

``D`` is 1-strongly concave in the norm ``||Theta||_{C^-1}^2 = sum_t ||theta_t||^2 / c_t``,
so ``||Theta - Theta*||_{C^-1} <= sqrt(2 gap)`` for any feasible ``Theta``, and
``||(X_c^T (Theta - Theta*))_j|| <= ||x_{c,j}|| sqrt(2 c_max gap)``: a feature with

.. math::

    \lVert (X_c^\top \Theta)_j \rVert_2 + \lVert x_{c,j} \rVert \sqrt{2\, c_{\max}\, \mathrm{gap}}
    < \alpha_j

is zero at the optimum (``W*_j = 0``); the implementation keeps a margin against
rounding (the gap floored at ``1e-12 |P|``, ``alpha_j`` lowered by a factor ``1 - 1e-9``). The dual point is the residual rescaled into
the feasible set, ``Theta = C (X_c W - Y_c) / max(1, max_j ||(X_c^T C R)_j|| / alpha_j)``.
Once features are screened, the rest is a smaller problem with the same solution, and
its own (weaker) dual constraints give the next gap: screening only ever grows.
"""

import numpy as np

from ._bcd_kernels import L21_KIND


def gap_safe_applies(kind, a1, l2, positive, uniform, n_rows, n_features):
    """Whether :class:`GapSafeL21` is valid: every row a plain l2,1 group with a positive
    weight, no ridge part, no sign constraint, one weight per task (``uniform``), and
    one variable row per feature (not the dirty model's stacked ``[B; S]``)."""
    return bool(uniform and n_rows == n_features and l2 == 0.0 and not positive
                and np.all(kind == L21_KIND) and np.all(a1 > 0.0))


class GapSafeL21:
    """Screening state: which features are kept (``keep``, indices into the features).

    Parameters
    ----------
    col_norms : (d,) the centred column norms ``||x_j - mu_j||``.
    cvec : (T,) the weight of every row of task ``t``.
    Y : (n, T) the targets (the layout's ``y``).
    alphas : (d,) the l2,1 weight of every feature.
    """

    def __init__(self, col_norms, cvec, Y, alphas):
        self.norms = np.asarray(col_norms, dtype=np.float64)
        self.cvec = np.asarray(cvec, dtype=np.float64)
        self.Y = Y
        self.alphas = np.asarray(alphas, dtype=np.float64)
        self.radius_factor = np.sqrt(2.0 * float(self.cvec.max()))
        self.keep = np.arange(len(self.alphas))
        self.gap = np.inf

    def duality_gap(self, RT, GTk, V, fit_intercept):
        """Gap of the problem restricted to the kept features, at ``V`` (its screened
        rows are zero) with the intercepts at their optimum, and the dual scaling.

        ``RT = (C * (Z - Y)).T`` (T, n); ``GTk`` (T, |keep|) the centred gradient on the
        kept features, ``(C R)^T X_c``, which is ``Theta^T X_c`` for the centred dual point.
        """
        theta = RT - RT.mean(axis=1, keepdims=True) if fit_intercept else RT
        sq = np.einsum("ti,ti->t", theta, theta)
        alphas = self.alphas[self.keep]
        norms = np.sqrt(np.einsum("tj,tj->j", GTk, GTk))
        scale = max(1.0, float(np.max(norms / alphas, initial=0.0)))
        rows = V[self.keep]
        primal = float(np.sum(sq / (2.0 * self.cvec))) + float(
            np.sum(alphas * np.sqrt(np.einsum("jt,jt->j", rows, rows))))
        ty = np.einsum("ti,it->t", theta, self.Y)
        dual = -float(np.sum(ty / scale + sq / (2.0 * self.cvec * scale**2)))
        # rounding: a gap computed as a difference of two near-equal values can come
        # out below the truth (or negative); it is floored at 1e-12 |P|, which only
        # widens the safe region
        return max(primal - dual, 1e-12 * abs(primal), 0.0), norms / scale

    def screen(self, RT, GTk, V, fit_intercept):
        """Screen with the current point: returns the boolean mask (over the kept
        features, before this call) of the features that stay."""
        gap, dual_norms = self.duality_gap(RT, GTk, V, fit_intercept)
        self.gap = gap
        radius = self.radius_factor * np.sqrt(gap)
        # a relative margin of 1e-9 on alpha: the features active at the optimum sit
        # exactly on their dual constraint, where rounding must not decide
        stay = (dual_norms + self.norms[self.keep] * radius
                >= self.alphas[self.keep] * (1.0 - 1e-9))
        self.keep = self.keep[stay]
        return stay
