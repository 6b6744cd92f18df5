"""`sqlite3`, loaded when first used rather than when imported.

The event spool is SQLite, but most gateways never write to it: it holds events only while the
control-plane API is unreachable or slow, and an empty spool leaves no file behind
(`Spool.close`). Loading SQLite (≈ 1 MiB of an idle gateway's 64) waits until a spool file is
opened, or an error handler asks about one of its exceptions. `importlib.util.LazyLoader` is
the standard library's own way to do this; the module is the real `sqlite3` once touched.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def _lazy(name: str) -> ModuleType:
    if name in sys.modules:  # already loaded (the control plane's store, a test)
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None, name
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # its submodules (sqlite3.dbapi2) find their parent here
    spec.loader.exec_module(module)
    return module


sqlite3 = _lazy("sqlite3")
