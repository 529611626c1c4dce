"""Where numba writes the compiled kernels of mtlreg: never inside the package.

Numba's default for ``@njit(cache=True)`` is the ``__pycache__`` folder beside the
source file, i.e. inside ``site-packages/mtlreg`` for an installed package. Files
written there are unknown to pip, so ``pip uninstall`` (and the reinstall that
``pip install -e .`` does) leaves them behind, and ``site-packages/mtlreg`` survives as
an empty namespace package that shadows any later install. A read-only install
cannot be written at all.

This module registers, before any kernel is compiled, a cache locator that sends
the caches of mtlreg's own source files to a per-user directory:

* ``$MTLREG_CACHE_DIR`` if set, else
* the platform's user cache folder (``~/.cache/mtlreg`` on Linux), else
* ``<tempdir>/mtlreg-cache-<user>`` when the former cannot be written.

A ``NUMBA_CACHE_DIR`` set by the user takes precedence (numba's own locator then
applies). Each source folder gets its own subfolder (named by a hash of its
absolute path), so two checkouts or two virtual environments never share entries.
Functions of other packages are left to numba's default locators.
"""

import getpass
import os
import tempfile

from numba.core import caching, config

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _user_cache_roots():
    explicit = os.environ.get("MTLREG_CACHE_DIR")
    if explicit:
        return [explicit]
    try:
        from numba.misc.appdirs import AppDirs

        roots = [AppDirs(appname="mtlreg", appauthor=False).user_cache_dir]
    except Exception:  # pragma: no cover - numba without appdirs
        roots = [os.path.join(os.path.expanduser("~"), ".cache", "mtlreg")]
    try:
        user = getpass.getuser()
    except Exception:  # pragma: no cover - no user name (some containers)
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    roots.append(os.path.join(tempfile.gettempdir(), f"mtlreg-cache-{user}"))
    return roots


def _inside_package(py_file):
    path = os.path.abspath(py_file)
    return os.path.commonpath([path, _PACKAGE_DIR]) == _PACKAGE_DIR


class MtlregCacheLocator(caching._SourceFileBackedLocatorMixin, caching._CacheLocator):
    """Cache locator for mtlreg's kernels: a per-user folder, never the package."""

    def __init__(self, py_func, py_file, root):
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        self._cache_path = os.path.join(root, self.get_suitable_cache_subpath(py_file))

    def get_cache_path(self):
        return self._cache_path

    @classmethod
    def from_function(cls, py_func, py_file):
        if config.CACHE_DIR or not os.path.exists(py_file) or not _inside_package(py_file):
            return None
        for root in _user_cache_roots():
            self = cls(py_func, py_file, root)
            try:
                self.ensure_cache_path()
            except OSError:
                continue
            return self
        return None


def _register():
    impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl
    locators = impl._locator_classes
    if MtlregCacheLocator not in locators:
        locators.insert(0, MtlregCacheLocator)


_register()
