"""The source that child processes of the compile-cost tests start with: a listener on
numba's compile events, appending each compiled function's qualified name to
``compiled`` once ``REGISTER`` has run (tests/test_compile_cost.py,
tests/test_demo_warm.py)."""

LISTENER = r"""
import json, sys
from numba.core import event

compiled = []

class Listener(event.Listener):
    def on_start(self, ev):
        pass

    def on_end(self, ev):
        compiled.append(ev.data["dispatcher"].py_func.__qualname__)
"""

# the line that starts listening (after whatever a child wants left out, e.g. an import)
REGISTER = 'event.register("numba:compile", Listener())\n'

