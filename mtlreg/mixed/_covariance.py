"""Parametrisations of the random-effects covariance ``Sigma = sigma^2 Lambda Lambda^T``.

Each structure maps the free parameters ``theta`` to ``Lambda`` (``q x m``), carries the
chain rule from ``d deviance / d Lambda`` to ``d deviance / d theta``, the bounds of
``theta`` (a zero variance is reachable: the boundary is part of the domain, as in
lme4), and the nearest ``theta`` for a given relative covariance ``Psi`` (used by the
EM warm start, whose M-step gives an unstructured ``Psi``):

- ``full``: ``Lambda`` lower triangular, its diagonal >= 0 (``q (q + 1) / 2`` parameters);
- ``diagonal``: ``Lambda = diag(theta)``, ``theta >= 0`` (independent effects);
- ``isotropic``: ``Lambda = theta I`` (one variance for every effect; the
  mean-regularised model's prior when the features carry random slopes);
- ``low_rank``: ``Lambda = [B, diag(delta)]`` with ``B`` ``q x k``: ``Psi = B B^T +
  diag(delta^2)``, ``q (k + 1)`` parameters, for many effects.
"""

import numpy as np


def _psd_sqrt_diag(Psi):
    return np.sqrt(np.clip(np.diag(Psi), 0.0, None))


class Full:
    name = "full"

    def __init__(self, q):
        self.q = q
        self._rows, self._cols = np.tril_indices(q)
        self.n_params = len(self._rows)

    def lam(self, theta):
        L = np.zeros((self.q, self.q))
        L[self._rows, self._cols] = theta
        return L

    def gradient(self, theta, grad_lam):
        return grad_lam[self._rows, self._cols]

    def bounds(self):
        return [(0.0, None) if r == c else (None, None) for r, c in zip(self._rows, self._cols)]

    def project(self, Psi):
        return Psi

    def from_psi(self, Psi):
        q = self.q
        Psi = 0.5 * (Psi + Psi.T)
        jitter = 1e-12 * max(float(np.max(np.diag(Psi), initial=0.0)), 1e-300)
        for _ in range(20):
            try:
                L = np.linalg.cholesky(Psi + jitter * np.eye(q))
                break
            except np.linalg.LinAlgError:
                jitter *= 100.0
        else:  # pragma: no cover - Psi from EM is positive semi-definite
            L = np.diag(_psd_sqrt_diag(Psi))
        return L[self._rows, self._cols]


class Diagonal:
    name = "diagonal"

    def __init__(self, q):
        self.q = q
        self.n_params = q

    def lam(self, theta):
        return np.diag(theta)

    def gradient(self, theta, grad_lam):
        return np.diag(grad_lam).copy()

    def bounds(self):
        return [(0.0, None)] * self.q

    def project(self, Psi):
        return np.diag(np.diag(Psi))

    def from_psi(self, Psi):
        return _psd_sqrt_diag(Psi)


class Isotropic:
    name = "isotropic"

    def __init__(self, q):
        self.q = q
        self.n_params = 1

    def lam(self, theta):
        return theta[0] * np.eye(self.q)

    def gradient(self, theta, grad_lam):
        return np.array([np.trace(grad_lam)])

    def bounds(self):
        return [(0.0, None)]

    def project(self, Psi):
        return np.mean(np.diag(Psi)) * np.eye(self.q)

    def from_psi(self, Psi):
        return np.array([np.sqrt(max(float(np.mean(np.diag(Psi))), 0.0))])


class LowRank:
    name = "low_rank"

    def __init__(self, q, rank):
        self.q = q
        self.k = min(int(rank), q)
        self.n_params = q * self.k + q

    def lam(self, theta):
        q, k = self.q, self.k
        return np.hstack([theta[:q * k].reshape(q, k), np.diag(theta[q * k:])])

    def gradient(self, theta, grad_lam):
        k = self.k
        return np.concatenate([grad_lam[:, :k].ravel(), np.diag(grad_lam[:, k:])])

    def bounds(self):
        return [(None, None)] * (self.q * self.k) + [(0.0, None)] * self.q

    def _factor(self, Psi):
        """Principal factors: ``B`` from the top ``k`` eigenpairs above the mean of the
        rest, the diagonal from what ``B B^T`` leaves of ``diag(Psi)`` (floored)."""
        Psi = 0.5 * (Psi + Psi.T)
        vals, vecs = np.linalg.eigh(Psi)
        vals, vecs = vals[::-1], vecs[:, ::-1]
        k = self.k
        rest = float(np.mean(vals[k:])) if k < self.q else 0.0
        B = vecs[:, :k] * np.sqrt(np.clip(vals[:k] - max(rest, 0.0), 0.0, None))
        floor = 1e-6 * max(float(np.max(np.diag(Psi), initial=0.0)), 1e-300)
        delta2 = np.clip(np.diag(Psi) - np.sum(B * B, axis=1), floor, None)
        return B, delta2

    def project(self, Psi):
        B, delta2 = self._factor(Psi)
        return B @ B.T + np.diag(delta2)

    def from_psi(self, Psi):
        B, delta2 = self._factor(Psi)
        return np.concatenate([B.ravel(), np.sqrt(delta2)])


def make_structure(covariance, q, rank=1):
    """The structure named ``covariance`` for ``q`` random effects."""
    if covariance == "full":
        return Full(q)
    if covariance == "diagonal":
        return Diagonal(q)
    if covariance == "isotropic":
        return Isotropic(q)
    if covariance == "low_rank":
        return LowRank(q, rank)
    raise ValueError(f"Unknown covariance structure {covariance!r}.")


__all__ = ["Diagonal", "Full", "Isotropic", "LowRank", "make_structure"]
