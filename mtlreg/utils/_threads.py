"""BLAS threads."""

_CONTROLLER = []


def single_threaded_blas():
    """Context manager: BLAS on one thread.

    The solvers' matrix products are small (per-task Gram matrices) or few (a
    handful of ``X^T R`` per fit): a second BLAS thread only adds synchronisation,
    and on a machine whose cores are busy it made them several times slower
    (measured: ``X^T R`` on the medium shared problem 44 ms instead of 9 ms). The
    controller is built once per process: building one scans the loaded
    libraries (1-3 ms, as much as a whole small fit); entering it costs ~15 us.
    """
    if not _CONTROLLER:
        from threadpoolctl import ThreadpoolController

        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")
