"""Checks sphinx-gallery runs before every example (``reset_modules`` in ``conf.py``)."""

import warnings


def no_convergence_warnings(gallery_conf, fname):
    """A ConvergenceWarning is an error: the build stops on an example whose fits did not
    converge (its page would show the warning, with the path of the build machine)
    instead of publishing it."""
    from sklearn.exceptions import ConvergenceWarning

    warnings.filterwarnings("error", category=ConvergenceWarning)
