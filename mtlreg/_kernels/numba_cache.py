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
applies). Functions of other packages are left to numba's default locators.

Entries are keyed by the source, not by where it lies: a file's entries go to the
subfolder ``<folder inside mtlreg>_<fingerprint>``, where the fingerprint hashes the
contents of every mtlreg module that holds a kernel. The same release installed twice
(``pip install .`` for the demo, then the editable install of the test command, or two
virtual environments) compiles once; two versions whose kernels differ anywhere never
share an entry (a kernel inlines the kernels of other files it calls, so one file's own
hash would not do).
"""

import functools
import getpass
import hashlib
import os
import tempfile

from numba.core import caching, config

# the package (mtlreg/), one level above this room
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@functools.lru_cache(maxsize=None)
def source_fingerprint(package_dir=_PACKAGE_DIR):
    """Hash of the contents (and package-relative paths) of every module of the package
    that defines a numba kernel: equal for the same source wherever it is installed."""
    digest = hashlib.sha1()
    for root, dirs, files in os.walk(package_dir):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                text = f.read()
            if b"njit" in text:
                digest.update(os.path.relpath(path, package_dir).replace(os.sep, "/").encode())
                digest.update(text)
    return digest.hexdigest()[:20]


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

    @classmethod
    def get_suitable_cache_subpath(cls, py_file):
        """``<folder inside mtlreg>_<source fingerprint>``: no absolute path in the key."""
        folder = os.path.relpath(os.path.dirname(os.path.abspath(py_file)), _PACKAGE_DIR)
        folder = "mtlreg" if folder == "." else "mtlreg_" + folder.replace(os.sep, "_")
        return f"{folder}_{source_fingerprint()}"

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
