"""Fits from Dask collections (imported only when a Dask array or DataFrame comes in).

* :mod:`.fit`: per-task sufficient statistics computed partition by partition, then the
  in-memory solvers (squared loss); lazy predictions;
* :mod:`.rows`: the per-row losses (logistic, softmax, Poisson with an offset, Huber),
  one distributed pass per evaluation;
* :mod:`.cv`: the statistics of every cross-validation fold in one pass, and their test
  losses (the paths themselves are fitted by :mod:`mtlreg.linear_model._cv`, the caller).

Imports :mod:`mtlreg._tasks`, :mod:`mtlreg._kernels`, :mod:`mtlreg.datafits` and
:mod:`mtlreg.utils` only: never the estimators above it.
"""
