"""Config texts shared by the config tests: state settings that must be refused."""

from __future__ import annotations

HEAD = "pack: {name: t}\npolicies: {chain: []}\n"
SECRET = "S3cretRedisPass"

#: (state section, the problem's words): refused at load, at lint and at start-up alike
BAD_STATE = [
    ("state: {backend: redis}\n", "state.url: required when backend is redis"),
    (
        f'state: {{backend: redis, url: "redis://admin:{SECRET}@127.0.0.1:notaport/0"}}\n',
        "state.url: the port is not a number",
    ),
    (
        f'state: {{backend: redis, url: "redis+sentinel://admin:{SECRET}@127.0.0.1:26379"}}\n',
        "state.url: a redis+sentinel:// URL needs the service name",
    ),
]
