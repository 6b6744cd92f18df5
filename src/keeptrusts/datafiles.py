"""YAML data shipped in the package (`keeptrusts/data/`), parsed once with libyaml when present.

The pure-Python parser takes about a quarter of a second for the OpenAPI description; the C
loader (PyYAML's `CSafeLoader`, built on libyaml) a tenth of that.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import yaml

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def load(name: str) -> Any:
    """The parsed content of `keeptrusts/data/<name>`; callers must not mutate it."""
    text = resources.files("keeptrusts").joinpath(f"data/{name}").read_text("utf-8")
    return yaml.load(text, Loader=_LOADER)  # a safe loader: C (libyaml) or Python
