"""`state:` settings are checked at load and lint time, without connecting to Redis."""

from __future__ import annotations

import pytest

from keeptrusts.config.load import ConfigError, load_texts
from keeptrusts.limits.backend import state_problem
from tests.config.cases import BAD_STATE, HEAD, SECRET


def problems(state: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_texts([("cfg.yaml", HEAD + state)])
    return str(info.value)


@pytest.mark.parametrize(
    ("state", "words"),
    [
        *BAD_STATE,
        ('state: {backend: redis, url: "http://h:6379"}\n', "state.url: the URL scheme must be"),
        ('state: {backend: redis, url: "redis://h:6379/zero"}\n', "database number"),
        (
            'state: {backend: redis, url: "redis://h/0?socket_timeout=abc"}\n',
            "Invalid value for 'socket_timeout'",
        ),
        ('state: {backend: redis, url: "redis+sentinel://h:x/m"}\n', "numeric port"),
    ],
)
def test_bad_state_names_file_line_key(state: str, words: str) -> None:
    message = problems(state)
    assert message.startswith("cfg.yaml:3: state.url: "), message
    assert words in message
    assert SECRET not in message


def test_url_key_line_when_on_its_own_line() -> None:
    message = problems('state:\n  backend: redis\n  url: "redis://h:99999/0"\n')
    assert message.startswith("cfg.yaml:5: state.url: the port")


@pytest.mark.parametrize(
    "url",
    [
        "redis://:pw@127.0.0.1:6379/0",
        "rediss://h:6380",
        "unix:///run/redis.sock",
        "redis+sentinel://h1:26379,h2/mymaster/2",
        "redis+cluster://h:7000",
    ],
)
def test_good_urls_load(url: str) -> None:
    assert state_problem("redis", url) is None
    load_texts([("cfg.yaml", HEAD + f'state: {{backend: redis, url: "{url}"}}\n')])


def test_url_env_names_the_variable_holding_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """The password stays in a Secret: the config names the variable (`*_env` convention)."""
    monkeypatch.delenv("KT_TEST_REDIS_URL", raising=False)
    text = HEAD + "state: {backend: redis, url_env: KT_TEST_REDIS_URL}\n"
    loaded = load_texts([("cfg.yaml", text)])  # unset: linted offline, refused at start
    assert loaded.config.state.redis_url() is None
    monkeypatch.setenv("KT_TEST_REDIS_URL", f"redis://:{SECRET}@h:6379/0")
    assert load_texts([("cfg.yaml", text)]).config.state.redis_url() == (
        f"redis://:{SECRET}@h:6379/0"
    )
    monkeypatch.setenv("KT_TEST_REDIS_URL", f"http://:{SECRET}@h:6379/0")
    message = problems("state: {backend: redis, url_env: KT_TEST_REDIS_URL}\n")
    assert message.startswith(
        "cfg.yaml:3: state.url_env: the URL in $KT_TEST_REDIS_URL: the URL scheme must be"
    ), message
    assert SECRET not in message


@pytest.mark.parametrize(
    ("state", "words"),
    [
        (
            "state: {backend: redis, url: 'redis://h:6379/0', url_env: REDIS_URL}\n",
            "state.url_env: give either url or url_env",
        ),
        (
            f"state: {{backend: redis, url_env: 'redis://:{SECRET}@h:6379/0'}}\n",
            "state.url_env: must name an environment variable",
        ),
        ("state: {backend: redis}\n", "or url_env: the name of the environment variable"),
    ],
)
def test_url_env_mistakes_are_named(state: str, words: str) -> None:
    message = problems(state)
    assert words in message and SECRET not in message, message
