"""BLAS threads."""

import contextlib
import threading

_CONTROLLER = []
_LOCK = threading.Lock()
_ACTIVE = {"depth": 0, "limiter": None, "thread": None}


@contextlib.contextmanager
def single_threaded_blas():
    """Context manager: BLAS on one thread.

    The solvers' matrix products are small (per-task Gram matrices) or few (a
    handful of ``X^T R`` per fit): a second BLAS thread only adds synchronisation,
    and on a machine whose cores are busy it made them several times slower
    (measured: ``X^T R`` on the medium shared problem 44 ms instead of 9 ms). The
    controller is built once per process: building one scans the loaded
    libraries (1-3 ms, as much as a whole small fit); entering it costs ~15 us.

    BLAS limits are process-wide, so the limit is reference-counted: the first of
    several overlapping fits (threads of joblib's threading backend, of a Dask
    worker) sets it, the last one to leave restores the limits seen by the first.
    Restoring on each exit what that exit's own entry saw would leave the process
    on one thread for good whenever two fits overlap. threadpoolctl lets only one
    thread at a time change OpenBLAS's process-wide pool (the first to set it, until
    it releases control); the last fit to leave may run in another thread than the
    first, so it takes control to restore the limits and then releases it.
    """
    with _LOCK:
        if _ACTIVE["depth"] == 0:
            _ACTIVE["limiter"] = _controller().limit(limits=1, user_api="blas")
            _ACTIVE["thread"] = threading.current_thread()
        _ACTIVE["depth"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _ACTIVE["depth"] -= 1
            if _ACTIVE["depth"] == 0:
                same_thread = _ACTIVE["thread"] is threading.current_thread()
                _release_openblas_control(force=not same_thread)
                _ACTIVE["limiter"].restore_original_limits()
                _release_openblas_control(force=False)
                _ACTIVE["limiter"] = _ACTIVE["thread"] = None


def _controller():
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0]


@contextlib.contextmanager
def single_threaded_openmp():
    """Context manager: OpenMP on one thread in the calling thread, for a small
    computation (k-means of a few hundred tasks): OpenMP's threads spin while they
    wait, and on a busy machine scikit-learn's ``KMeans(n_init=10)`` of School's 139
    tasks took 133 ms on two threads against 11 ms on one. (OpenMP's thread count
    is per calling thread, so overlapping fits in other threads are not affected.)"""
    with _controller().limit(limits=1, user_api="openmp"):
        yield


def _release_openblas_control(force):
    """Let another thread set OpenBLAS's pool (threadpoolctl >= 3.6; no-op before)."""
    import threadpoolctl

    release = getattr(getattr(threadpoolctl, "OpenBLASController", None),
                      "clear_controlling_thread", None)
    if release is not None:
        release(force=force)
