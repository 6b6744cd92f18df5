"""Find, read, layer and validate policy config files.

Sources, first that applies: `--policy-config` files (layered, later over earlier),
`$KEEPTRUSTS_CONFIG`, every `*.yaml` in `/etc/keeptrusts` (sorted, layered), the embedded default.
The embedded default is a start-up fallback only: a reload that finds no file (a ConfigMap key
renamed or removed) is refused, so a running policy never silently turns into the default.
Every error names the file, the line and the key path.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError

from keeptrusts.config import layering, not_offered, suggest, yamlpos
from keeptrusts.config.model import Config
from keeptrusts.limits.backend import state_problem
from keeptrusts.policies.registry import KINDS

DEFAULT_DIR = "/etc/keeptrusts"
EMBEDDED = "<embedded default>"


class ConfigError(ValueError):
    """One or more problems in a config, each naming file:line and key path."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class LoadedConfig:
    """A validated config with its per-kind settings and identity."""

    config: Config
    settings: dict[str, BaseModel]
    sources: tuple[str, ...]
    sha: str
    #: where each key path was written, (file, line): for `kt policy lint`'s warnings
    positions: dict[yamlpos.Path, tuple[str, int]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def where(self, *path: Any) -> str:
        """`file:line` of a key path (of the nearest written parent), for messages."""
        hit = yamlpos.where(self.positions, path)
        return f"{hit[0]}:{hit[1]}" if hit else "?"

    @cached_property
    def version(self) -> str:
        return f"{self.config.pack.version}+{self.sha[:12]}"


def embedded_text() -> str:
    return resources.files("keeptrusts").joinpath("data/default.yaml").read_text("utf-8")


def discover(
    paths: Sequence[str], config_dir: str = DEFAULT_DIR, *, required: bool = False
) -> list[str]:
    """The files to layer, in order; an empty list means the embedded default.

    `required` (a reload of a config that came from files): finding none is a ConfigError
    naming the directory, instead of falling back to the embedded default.
    """
    if paths:
        return list(paths)
    env = os.environ.get("KEEPTRUSTS_CONFIG")
    if env:
        return [env]
    directory = FsPath(config_dir)
    found = []
    if directory.is_dir():
        found = [str(p) for p in sorted(directory.glob("*.yaml")) if p.is_file()]
    if not found and required:
        raise ConfigError([no_files_message(config_dir)])
    return found


def no_files_message(config_dir: str) -> str:
    """Why `config_dir` yields no config file, with a hint when it holds other YAML files."""
    if not FsPath(config_dir).is_dir():
        return f"{config_dir}: the policy config directory is gone (not a directory)"
    return f"{config_dir}: no *.yaml policy config file in the directory{yml_hint(config_dir)}"


def yml_hint(config_dir: str) -> str:
    """` (found a.yml: ...)` when `config_dir` holds *.yml files, which are not read; else ''."""
    directory = FsPath(config_dir)
    others = sorted(p.name for p in directory.glob("*.yml") if p.is_file())
    return f" (found {', '.join(others)}: only *.yaml is read; rename it)" if others else ""


def load_files(paths: Sequence[str]) -> LoadedConfig:
    """Read and validate `paths` (or the embedded default when empty)."""
    texts = [read_file(p) for p in paths] if paths else [(EMBEDDED, embedded_text())]
    return load_texts(texts)


def read_file(path: str) -> tuple[str, str]:
    """(name, text) of one config file; a ConfigError naming it when it cannot be read."""
    try:
        return path, FsPath(path).read_text("utf-8")
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read policy config: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: policy config is not UTF-8 text"]) from exc


def load_texts(texts: Sequence[tuple[str, str]]) -> LoadedConfig:
    merged: yamlpos.Located | None = None
    digest = hashlib.sha256()
    for name, text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\0")
        try:
            doc = yamlpos.load(text, name)
        except yamlpos.YamlError as exc:
            raise ConfigError([str(exc)]) from exc
        if not isinstance(doc.data, dict):
            raise ConfigError([f"{name}:1: the policy config must be a mapping at the top level"])
        merged = doc if merged is None else layering.merge(merged, doc)
    assert merged is not None
    config, settings = validate(merged)
    sources = tuple(n for n, _ in texts)
    return LoadedConfig(config, settings, sources, digest.hexdigest(), merged.positions)


def validate(doc: yamlpos.Located) -> tuple[Config, dict[str, BaseModel]]:
    data: dict[str, Any] = doc.data
    problems: list[str] = []
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, Config, (), doc)) from exc
    problems.extend(_state_problems(config, doc))
    settings: dict[str, BaseModel] = {}
    for kind, raw in config.policy.items():
        spec = KINDS.get(kind)
        if spec is None:
            problems.append(_at(doc, ("policy", kind), f"policy.{kind}", _unknown_kind(kind)))
            continue
        try:
            settings[kind] = spec.settings.model_validate(raw or {})
        except ValidationError as exc:
            problems.extend(_describe(exc, spec.settings, ("policy", kind), doc))
    for i, kind in enumerate(config.policies.chain):
        if kind not in KINDS:
            problems.append(
                _at(doc, ("policies", "chain", i), f"policies.chain[{i}]", _unknown_kind(kind))
            )
        elif kind not in settings:
            settings[kind] = KINDS[kind].settings.model_validate({})
    if len(set(config.policies.chain)) != len(config.policies.chain):
        problems.append(
            _at(doc, ("policies", "chain"), "policies.chain", "a policy kind is listed twice")
        )
    if problems:
        raise ConfigError(problems)
    return config, settings


def _state_problems(config: Config, doc: yamlpos.Located) -> list[str]:
    """`state:` settings the backend could not use (checked without connecting)."""
    state = config.state
    problem = state_problem(state.backend, state.url, state.url_env)
    if problem is None:
        return []
    key, message = problem
    return [_at(doc, ("state", key), f"state.{key}", message)]


def _unknown_kind(kind: str) -> str:
    known = f"known kinds: {', '.join(sorted(KINDS))}"
    documented = not_offered.kind_message(kind)
    if documented:
        return f"{documented}; {known}"
    meant = suggest.nearest(kind, sorted(KINDS))
    hint = f" (did you mean `{meant}`?)" if meant is not None else ""
    return f"unknown policy kind {kind!r}{hint}; {known}"


def _describe(
    exc: ValidationError, model: type[BaseModel], prefix: tuple[str, ...], doc: yamlpos.Located
) -> list[str]:
    """Each of pydantic's errors for `model` (validated at `prefix`) as `file:line: key: what
    to write`."""
    out = []
    for err in exc.errors():
        loc = (*prefix, *err["loc"])
        if loc[-1:] == ("[key]",):  # a mapping's key was refused: the path names that key
            loc = loc[:-1]
        msg = err["msg"]
        if err["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")
        elif err["type"] == "extra_forbidden":
            msg = _unknown_key(loc) or suggest.unknown_key(model, loc[len(prefix) :]) or UNKNOWN
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif err["type"] == "literal_error":
            msg = _not_one_of(err["input"], _choices(err.get("ctx", {})))
        elif err["type"] in SHAPES:
            msg = f"must be {SHAPES[err['type']]}, not {_yaml_kind(err['input'])}"
        out.append(_at(doc, loc, yamlpos.dotted(loc), msg))
    return out


UNKNOWN = "unknown key (check its spelling and indentation)"


def _unknown_key(loc: tuple[Any, ...]) -> str | None:
    """The docs' word on a key they describe that is not offered here, or None."""
    if loc[:1] == ("policy",):
        return not_offered.key_message(loc[1:])
    if len(loc) == 1:
        return not_offered.top_message(str(loc[0]))
    return not_offered.tail_message(loc)


#: pydantic's shape errors, said in YAML terms with what to write
SHAPES = {
    "model_type": "a mapping (key: value lines)",
    "dict_type": "a mapping (key: value lines)",
    "list_type": "a list ([a, b] or '- item' lines)",
}


def _yaml_kind(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _choices(ctx: dict[str, Any]) -> str:
    expected = str(ctx.get("expected", ""))
    return expected.replace("'", "").replace(" or ", "|").replace(", ", "|")


def _not_one_of(value: Any, choices: str) -> str:
    meant = suggest.nearest(value, choices.split("|")) if isinstance(value, str) else None
    hint = f"; did you mean `{meant}`?" if meant is not None else ""
    return f"{value!r} is not one of {choices}{hint}"


def _at(doc: yamlpos.Located, loc: tuple[Any, ...], key: str, msg: str) -> str:
    hit = yamlpos.where(doc.positions, tuple(loc))
    where = f"{hit[0]}:{hit[1]}" if hit else "?"
    return f"{where}: {key}: {msg}"
