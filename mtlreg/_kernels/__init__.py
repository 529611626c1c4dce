"""Compiled kernels shared by the layers above, and where numba caches them.

* :mod:`.dense`: row products, per-task Gram matrices and sums (the task layout's loops);
* :mod:`.prox`: the row proxes and optimality measures of the penalties (one kernel per kind);
* :mod:`.tv`: the 1-D total-variation prox of the fused penalties;
* :mod:`.numba_cache`: the cache locator, registered on import of :mod:`mtlreg` before any
  kernel compiles.

This room imports nothing of mtlreg's but :mod:`mtlreg.utils`; everything else imports it.
The solvers' own loops (ADMM, BCD) live beside their solvers in :mod:`mtlreg.solvers`.
"""
