"""The `cors:` section: origins read as browsers send them, and mistakes named at load."""

from __future__ import annotations

import pytest

from keeptrusts.config.load import ConfigError, load_texts

HEAD = "pack: {name: t}\npolicies: {chain: []}\n"


def cors(line: str) -> dict[str, object]:
    loaded = load_texts([("c.yaml", HEAD + line + "\n")])
    assert loaded.config.cors is not None
    return loaded.config.cors.model_dump()


def problems(line: str) -> str:
    with pytest.raises(ConfigError) as raised:
        load_texts([("c.yaml", HEAD + line + "\n")])
    return str(raised.value)


def test_origins_are_normalised_as_browsers_send_them() -> None:
    got = cors(
        'cors: {allow_origins: ["HTTPS://App.Example.com:443/", "http://localhost:3000", '
        '"https://*.Tools.example.com", "*"], allow_methods: [post, get]}'
    )
    assert got["allow_origins"] == [
        "https://app.example.com",
        "http://localhost:3000",
        "https://*.tools.example.com",
        "*",
    ]
    assert got["allow_methods"] == ["POST", "GET"]
    assert got["enabled"] is True and got["allow_headers"] is None
    assert "x-request-id" in got["expose_headers"]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            'cors: {allow_origins: ["https://a.example/app"]}',
            "c.yaml:3: cors.allow_origins[0]: must be an origin",
        ),
        ('cors: {allow_origins: ["ftp://a.example"]}', "must be an origin"),
        ('cors: {allow_origins: ["a.example"]}', "must be an origin"),
        ('cors: {allow_origins: ["https://a.example?x=1"]}', "no path, query"),
        ('cors: {allow_origins: ["*"], allow_credentials: true}', "needs the origins named"),
        ('cors: {allowed_origins: ["https://a.example"]}', "did you mean `allow_origins`"),
        (
            'cors: {allow_origins: ["https://a.example"], allow_headers: ["x y"]}',
            "header or method name",
        ),
        (
            'cors: {allow_origins: ["https://a.example"], max_age_seconds: 999999}',
            "max_age_seconds",
        ),
        ("cors: {allow_origins: []}", "cors.allow_origins"),
    ],
)
def test_mistakes_are_named(line: str, expected: str) -> None:
    assert expected in problems(line)
