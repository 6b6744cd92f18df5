"""The base of every config model, and the checked field types several of them share.

Every model forbids unknown keys and is frozen. The field types check what was written when
the config loads and never echo a value that may be a secret (a key pasted as a variable
name, a URL with a password).
"""

from __future__ import annotations

import re
from typing import Annotated

import yarl
from pydantic import AfterValidator, BaseModel, ConfigDict

from keeptrusts.detect.glob import check_glob


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


#: a shell-style glob (`gpt-4o*`, `spiffe://cluster.local/ns/*/sa/app`), checked when loaded
Glob = Annotated[str, AfterValidator(check_glob)]


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_name(name: str) -> str:
    # never echo the value: what was written here may be the key itself
    if not _ENV_NAME.fullmatch(name):
        raise ValueError(
            "must name an environment variable (letters, digits and _, e.g. OPENAI_API_KEY); "
            "this looks like a key, not a variable name: put the key in the environment "
            "and write the variable's name here"
        )
    return name


def _one_line(url: str) -> str:
    # never echo the URL: it may hold a password
    if any(c.isspace() for c in url):
        raise ValueError(
            "the URL contains whitespace (a space, tab or line break): write it on one line "
            "(not as a | or > block) and percent-encode a space in a password as %20"
        )
    return url


def http_url(url: str) -> str:
    try:
        parsed = yarl.URL(url)
    except ValueError as exc:  # yarl's reasons name the part, never the password
        raise ValueError(f"not a valid URL: {exc}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError("must be an absolute http:// or https:// URL (http://vllm:8000/v1)")
    return _one_line(url)


#: `secret_key_ref.env`: the name of the variable holding a key, never the key
EnvName = Annotated[str, AfterValidator(_env_name)]
#: a URL written on one line (`state.url`; whitespace would hide a password from masking)
OneLineUrl = Annotated[str, AfterValidator(_one_line)]
#: `base_url`: an absolute http(s) URL, as aiohttp will use it
HttpUrl = Annotated[str, AfterValidator(http_url)]
