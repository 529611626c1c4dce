"""Plain, public names in error and warning messages."""

import types

import numpy as np


def format_tasks(tasks, limit=20):
    """Task labels as a plain list for a message: ``[0, 1, 2]`` (Python values, not
    ``np.int64(0)``), cut to the first ``limit`` with ``(first 20 of 60)`` after it."""
    tasks = np.asarray(tasks)
    shown = tasks[:limit].tolist()
    if tasks.size > limit:
        return f"{shown} (first {limit} of {tasks.size})"
    return f"{shown}"


def name_init_after(cls):
    """Give a public class whose ``__init__`` is a private mixin's its own copy,
    named ``cls.__init__``, so that Python's error for an unknown or misspelt keyword
    names the class the user built (``GroupLassoRegressor.__init__() got an unexpected
    keyword argument ...``) instead of ``_GroupLassoMixin.__init__()``. The copy shares
    the code, defaults and signature of the inherited one."""
    init = cls.__init__
    if (cls.__name__.startswith("_") or not isinstance(init, types.FunctionType)
            or not init.__qualname__.startswith("_")):
        return
    copy = types.FunctionType(init.__code__, init.__globals__, init.__name__, init.__defaults__,
                              init.__closure__)
    copy.__kwdefaults__ = init.__kwdefaults__
    copy.__dict__.update(init.__dict__)
    copy.__doc__ = init.__doc__
    copy.__module__ = cls.__module__
    copy.__qualname__ = f"{cls.__name__}.__init__"
    cls.__init__ = copy
