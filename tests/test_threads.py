"""The BLAS thread limit of the solvers never leaks out of overlapping fits."""

import threading

import numpy as np
import pytest
import threadpoolctl
from threadpoolctl import threadpool_info, threadpool_limits

from mtlreg import GroupLassoRegressor
from mtlreg.datasets import make_multitask_regression
from mtlreg.utils._threads import single_threaded_blas

_CONTROLLABLE = set()  # BLAS libraries whose pool the fixture could set to 3 threads


def _blas_threads():
    """Thread counts of the BLAS libraries the fixture controls (a library loaded by
    another package may be a single-threaded build, whose count never changes)."""
    return [lib["num_threads"] for lib in threadpool_info()
            if lib["user_api"] == "blas" and lib["filepath"] in _CONTROLLABLE]


def _release():
    release = getattr(threadpoolctl.OpenBLASController, "clear_controlling_thread", None)
    if release is not None:
        release(force=True)


@pytest.fixture
def three_blas_threads():
    """Three BLAS threads, without this thread keeping control of OpenBLAS's pool
    (threadpoolctl lets only the controlling thread change it)."""
    _release()  # a thread of an earlier test (a pool, a cluster) may still hold control
    limiter = threadpool_limits(limits=3, user_api="blas")
    _release()
    _CONTROLLABLE.clear()
    _CONTROLLABLE.update(lib["filepath"] for lib in threadpool_info()
                         if lib["user_api"] == "blas" and lib["num_threads"] == 3)
    if not _CONTROLLABLE:
        limiter.restore_original_limits()
        pytest.skip("no BLAS library whose threads threadpoolctl can set")
    yield
    limiter.restore_original_limits()
    _release()


def test_overlapping_limits_restore_the_original(three_blas_threads):
    """A enters, B enters, A leaves, B leaves: inside, one thread; after, three
    (restoring per exit what each entry saw left the process at one thread)."""
    entered, a_left = threading.Barrier(2), threading.Event()
    seen = {}

    def fit_a():
        with single_threaded_blas():
            entered.wait()
            seen["a"] = _blas_threads()
        a_left.set()

    def fit_b():
        with single_threaded_blas():
            entered.wait()
            a_left.wait()
            seen["b_after_a_left"] = _blas_threads()

    threads = [threading.Thread(target=f) for f in (fit_a, fit_b)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert set(seen["a"]) == {1}
    assert set(seen["b_after_a_left"]) == {1}  # B still running: the limit holds
    assert set(_blas_threads()) == {3}


def test_nested_and_repeated_use(three_blas_threads):
    with single_threaded_blas():
        with single_threaded_blas():
            assert set(_blas_threads()) == {1}
        assert set(_blas_threads()) == {1}
    assert set(_blas_threads()) == {3}


def test_concurrent_fits_leave_blas_threads_alone(three_blas_threads):
    X, Y = make_multitask_regression(n_samples=300, n_features=20, n_tasks=4,
                                     random_state=0)
    task = np.repeat(np.arange(4), 75)
    Xt = np.column_stack([task, X])
    y = Y[np.arange(300), task]

    def fit():
        for _ in range(20):  # Gram-form fits: the limited path
            GroupLassoRegressor(alpha=0.05, task_column=0).fit(Xt, y)

    threads = [threading.Thread(target=fit) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert set(_blas_threads()) == {3}


def test_single_threaded_openmp_limits_and_restores():
    """The k-means of the clustered model's tasks runs with OpenMP on one thread
    (its threads spin on a busy machine), and the limit ends with the block."""
    from mtlreg.utils._threads import single_threaded_openmp

    def omp():
        return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "openmp"]

    if not omp():
        pytest.skip("no OpenMP runtime loaded")
    with threadpool_limits(limits=2, user_api="openmp"):
        with single_threaded_openmp():
            assert set(omp()) == {1}
        assert set(omp()) == {2}
