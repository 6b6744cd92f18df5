"""`GET /v1/models/{model}` (the SDKs' `models.retrieve`): the object `GET /v1/models` lists
for a served id, the same object for a name a target's glob serves, else a 404 in the
contract's envelope (`model_not_found`)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.fakes.gateway import Gateway, GatewayFactory
from tests.fakes.upstream import FakeUpstream
from tests.integration.configs import ENV

CONFIG = """\
pack: {{name: models-pack, version: 1.0.0}}
providers:
  targets:
    - id: primary
      provider: openai
      base_url: {url}
      secret_key_ref: {{env: FAKE_PROVIDER_KEY}}
      models: ["gpt-4o*", "meta-llama/Llama-3-8B", "text-embedding-3-small"]
    - id: pinned
      provider: openai-compatible
      base_url: {url}
      models: ["house-model"]
      model: org/house-model-2024
    - id: alias
      provider: openai-compatible
      base_url: {url}
      models: ["fast"]
      model: gpt-4o-2024-08-06
policies: {{chain: []}}
"""


@pytest.fixture(scope="module")
def gw(tmp_path_factory: pytest.TempPathFactory, upstream: FakeUpstream) -> Iterator[Gateway]:
    factory = GatewayFactory(tmp_path_factory.mktemp("models"))
    yield factory.start(CONFIG.format(url=upstream.base_url), env=ENV)
    factory.stop_all()


def openai_client(gw: Gateway) -> openai.OpenAI:
    return openai.OpenAI(base_url=gw.base_url, api_key="k", max_retries=0)


def listed(gw: Gateway) -> dict[str, dict[str, Any]]:
    r = httpx.get(gw.base_url + "/models")
    assert r.status_code == 200, r.text
    return {m["id"]: m for m in r.json()["data"]}


def test_every_listed_model_is_retrieved_as_listed(gw: Gateway) -> None:
    models = listed(gw)
    assert set(models) == {
        "fast",
        "gpt-4o-2024-08-06",  # a rewrite that a target's glob serves too
        "house-model",
        "meta-llama/Llama-3-8B",
        "text-embedding-3-small",
    }
    client = openai_client(gw)
    for mid, entry in models.items():
        got = client.models.retrieve(mid)  # the SDK sends a slash as %2F
        assert got.id == mid and got.object == "model" and got.owned_by == "models-pack"
        assert got.model_dump(exclude_unset=True) == entry  # every field, Anthropic's too
        raw = httpx.get(f"{gw.base_url}/models/{mid}")  # a slash sent as is
        assert raw.status_code == 200 and raw.json() == entry


def test_a_name_a_glob_serves_is_a_model(gw: Gateway) -> None:
    got = openai_client(gw).models.retrieve("gpt-4o-mini")
    assert got.id == "gpt-4o-mini" and got.owned_by == "models-pack"
    assert set(got.model_dump(exclude_unset=True)) == set(next(iter(listed(gw).values())))


def test_the_anthropic_sdk_retrieves_a_model(gw: Gateway) -> None:
    client = anthropic.Anthropic(base_url=gw.url, api_key="k", max_retries=0)
    info = client.models.retrieve("meta-llama/Llama-3-8B")
    assert info.id == "meta-llama/Llama-3-8B" and info.type == "model"
    assert info.display_name == "meta-llama/Llama-3-8B"


def test_every_listed_model_can_be_asked_for(gw: Gateway) -> None:
    """A target's upstream rewrite (`org/house-model-2024`) is not a name requests may send:
    listing it sent clients to a 404."""
    client = openai_client(gw)
    for mid in listed(gw):
        answer = client.chat.completions.create(
            model=mid, messages=[{"role": "user", "content": "hi"}]
        )
        assert answer.choices, mid


@pytest.mark.parametrize(
    "name",
    [
        "gpt-3.5-turbo",
        "meta-llama/Llama-3-70B",
        "house-model/extra",
        "g" * 300,
        "org/house-model-2024",
    ],
)
def test_an_unserved_name_is_a_404_model_not_found(gw: Gateway, name: str) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        openai_client(gw).models.retrieve(name)
    assert caught.value.status_code == 404
    r = httpx.get(f"{gw.base_url}/models/{name}")
    assert r.status_code == 404 and r.headers["x-should-retry"] == "false"
    assert r.headers["x-request-id"] and r.headers["x-keeptrusts-config-version"]
    assert r.json()["error"] == {
        "type": "validation_error",
        "code": "model_not_found",
        "message": r.json()["error"]["message"],
        "policy": None,
    }
    assert name[:40] in r.json()["error"]["message"]


def test_an_empty_id_is_not_the_list(gw: Gateway) -> None:
    r = httpx.get(gw.base_url + "/models/")
    assert r.status_code == 404 and r.json()["error"]["type"] == "validation_error"
