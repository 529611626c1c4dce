"""The task layout: the user's arrays seen once, up front, as tasks.

* :mod:`.layout`: the two layouts (one design shared by every task, or per-task rows) as a
  linear operator ``(W, b) -> Z`` with observation weights, implicit centring, predictions;
* :mod:`.grouped`: per-task sums and Gram matrices over rows grouped by task (NumPy/SciPy,
  or the compiled single pass of :mod:`mtlreg._kernels.dense` for many small tasks);
* :mod:`.statistics`: the squared loss's per-task sufficient statistics (counts, means,
  centred Gram matrices), computed in blocks and merged: the form Dask fits use.

Imports :mod:`mtlreg._kernels` and :mod:`mtlreg.utils` only.
"""
