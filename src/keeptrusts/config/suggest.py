"""What to write instead of an unknown key: the keys its section takes, and the nearest one.

`policy.dlp-filter.terms` is refused with `did you mean blocked_terms?` and the section's keys,
so a typo or a key remembered from another product is fixed without opening the reference.
The keys come from the config models themselves (walked along the error's path), so the list
is always the one the loader checks against.
"""

from __future__ import annotations

import difflib
import types
from collections.abc import Sequence
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel

#: a key this close (difflib's ratio) to a known one is offered as the one meant
CLOSE = 0.6
#: a misspelt key shorter than this is only offered a near spelling, not a containing key
MIN_PART = 3


def unknown_key(model: type[BaseModel], path: Sequence[Any]) -> str | None:
    """The hint for the unknown key at the end of `path` (relative to `model`), or None when
    the section cannot be told (the walk left the models)."""
    if not path:
        return None
    known = keys_at(model, path[:-1])
    if not known:
        return None
    meant = nearest(str(path[-1]), known)
    where = f"keys here: {', '.join(known)}"
    if meant is None:
        return f"unknown key (check its spelling and indentation; {where})"
    return f"unknown key: did you mean `{meant}`? ({where})"


def nearest(key: str, known: Sequence[str]) -> str | None:
    """The known key `key` most likely stands for: a near spelling (`-` read as `_`, any
    case), else the one key that contains it or that it contains (`terms` → `blocked_terms`)."""
    folded = key.lower().replace("-", "_")
    close = difflib.get_close_matches(folded, known, 1, CLOSE)
    if close:
        return close[0]
    if len(folded) < MIN_PART:
        return None
    parts = [k for k in known if folded in k or (len(k) >= MIN_PART and k in folded)]
    return parts[0] if len(parts) == 1 else None


def keys_at(model: type[BaseModel], path: Sequence[Any]) -> list[str]:
    """The keys of the mapping at `path` in `model` (sorted; [] when it is not a model)."""
    tp: Any = model
    for step in path:
        tp = _step(tp, step)
        if tp is None:
            return []
    found = _model(tp)
    if found is None:
        return []
    return sorted(f.alias or name for name, f in found.model_fields.items())


def _step(tp: Any, step: Any) -> Any:
    """The type one step down: a model's field, a list's item, a mapping's value."""
    for t in _members(tp):
        if isinstance(t, type) and issubclass(t, BaseModel):
            if isinstance(step, str):
                field = _field(t, step)
                if field is not None:
                    return field
            continue
        origin, args = get_origin(t), get_args(t)
        if origin in (list, tuple, set, frozenset) and isinstance(step, int) and args:
            return args[0]
        if origin is dict and len(args) == 2:
            return args[1]
    return None


def _field(model: type[BaseModel], key: str) -> Any:
    for name, f in model.model_fields.items():
        if key in (name, f.alias):
            return f.annotation
    return None


def _model(tp: Any) -> type[BaseModel] | None:
    for t in _members(tp):
        if isinstance(t, type) and issubclass(t, BaseModel):
            return t
    return None


def _members(tp: Any) -> list[Any]:
    """`tp` without `Annotated` and `X | None`: the types a value there may have."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _members(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        return [m for a in get_args(tp) if a is not type(None) for m in _members(a)]
    return [tp]
