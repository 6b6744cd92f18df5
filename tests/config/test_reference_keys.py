"""The config reference names every key the gateway accepts: each field of the config models
appears in `docs/config.md`, and each policy kind's settings in `docs/policies.md` or
`docs/limits.md` — as `code` in the text or a table, or as a key in a YAML example. A key added
to a model without its documentation fails here (keys are found by walking the pydantic models,
so nothing is listed twice)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from keeptrusts.config.model import Config
from keeptrusts.policies import registry

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _models(annotation: Any) -> Iterator[type[BaseModel]]:
    """The models inside a field's type (`Target`, `list[Target]`, `dict[str, Price] | None`)."""
    todo = [annotation]
    while todo:
        t = todo.pop()
        if isinstance(t, type) and issubclass(t, BaseModel):
            yield t
        todo.extend(getattr(t, "__args__", ()))


def keys(model: type[BaseModel], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(dotted path, key) for every field of `model` and of the models it holds."""
    for name, field in model.model_fields.items():
        yield prefix + name, name
        for inner in _models(field.annotation):
            if inner is not model:
                yield from keys(inner, f"{prefix}{name}.")


def documented(key: str, text: str) -> bool:
    word = rf"(?<![\w-]){re.escape(key)}(?![\w-])"
    in_code = re.search(rf"`[^`\n]*{word}[^`\n]*`", text)
    in_yaml = re.search(rf"^\s*(?:- )?{re.escape(key)}:", text, re.M)
    return bool(in_code or in_yaml)


def test_every_top_level_key_is_in_config_md() -> None:
    text = (DOCS / "config.md").read_text("utf-8")
    missing = [path for path, key in keys(Config) if not documented(key, text)]
    assert missing == []


@pytest.mark.parametrize("kind", sorted(registry.KINDS))
def test_every_policy_setting_is_documented(kind: str) -> None:
    text = (DOCS / "policies.md").read_text("utf-8") + (DOCS / "limits.md").read_text("utf-8")
    settings = registry.KINDS[kind].settings
    missing = [path for path, key in keys(settings) if not documented(key, text)]
    assert missing == []
    assert f"`{kind}`" in text or f"{kind}:" in text


def test_an_undocumented_key_is_caught() -> None:
    class Extra(BaseModel):
        some_new_setting: int = 1

    assert list(keys(Extra)) == [("some_new_setting", "some_new_setting")]
    assert not documented("some_new_setting", (DOCS / "config.md").read_text("utf-8"))
