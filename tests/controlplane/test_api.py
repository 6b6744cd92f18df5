"""The control-plane API over HTTP, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

import time

import httpx

from tests.controlplane.eventgen import make_event
from tests.controlplane.servers import ApiServer

VALID_CONFIG = "pack: {name: managed, version: 2.0.0}\npolicies: {chain: []}\n"


def test_health_needs_no_token(api: ApiServer, backend: str) -> None:
    body = httpx.get(api.url + "/health").json()
    assert body["status"] == "healthy"
    assert body["database"] == backend


def test_v1_routes_refuse_missing_or_unknown_tokens(api: ApiServer) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic x"}):
        r = httpx.post(api.url + "/v1/events", json={"events": []}, headers=headers)
        assert r.status_code == 401
        assert r.json()["error"]["type"] == "authentication_error"
        assert r.json()["error"]["policy"] is None
        assert httpx.get(api.url + "/v1/events", headers=headers).status_code == 401


def test_post_is_idempotent_by_id_and_keeps_order(api: ApiServer) -> None:
    events = [make_event(i) for i in range(50)]
    assert api.post_events(events[:30]).json() == {"accepted": 30, "inserted": 30}
    # a replay overlapping the first batch: only the new ones are stored
    assert api.post_events(events[20:]).json() == {"accepted": 30, "inserted": 20}
    assert api.post_events(events[:5] + events[:5]).json()["inserted"] == 0
    stored = api.all_events()
    assert [e["id"] for e in stored] == [e["id"] for e in events]
    assert stored[7] == events[7]  # returned exactly as sent


def test_malformed_batches_are_refused_whole(api: ApiServer) -> None:
    bad = [make_event(1), {"timestamp": "2026-01-01T00:00:00Z"}]
    r = api.post_events(bad)
    assert r.status_code == 422
    assert "events[1].id" in r.json()["error"]["message"]
    r = httpx.post(api.url + "/v1/events", content=b"{nope", headers=api.headers())
    assert r.status_code == 400
    assert api.all_events() == []


def test_pagination_and_filters(api: ApiServer) -> None:
    now = time.time()
    events = [make_event(i, at=now - 3600 + i) for i in range(120)]
    api.post_events(events)
    first = api.get("/v1/events", limit=50).json()
    assert len(first["events"]) == 50 and first["next_cursor"]
    second = api.get("/v1/events", limit=50, cursor=first["next_cursor"]).json()
    third = api.get("/v1/events", limit=50, cursor=second["next_cursor"]).json()
    assert len(third["events"]) == 20 and third["next_cursor"] is None
    ids = [e["id"] for p in (first, second, third) for e in p["events"]]
    assert ids == [e["id"] for e in events]

    def ids_of(**f: str) -> list[str]:
        return [e["id"] for e in api.all_events(**f)]

    assert ids_of(tenant="team-b") == [e["id"] for e in events if e["tenant"] == "team-b"]
    assert ids_of(decision="block") == [e["id"] for e in events if e["decision"] == "block"]
    assert ids_of(model="gpt-4o") == [e["id"] for e in events if e["model"] == "gpt-4o"]
    with_dlp = [e["id"] for e in events if e["policies_evaluated"]]
    assert ids_of(policy="dlp-filter") == with_dlp
    assert ids_of(policy="dlp") == []
    since = events[100]["timestamp"]
    assert ids_of(since=since) == [e["id"] for e in events[100:]]
    assert ids_of(until=since) == [e["id"] for e in events[:100]]
    assert ids_of(since="10m") == []  # all are older than ten minutes
    newest = api.get("/v1/events", order="desc", limit=3).json()
    assert [e["id"] for e in newest["events"]] == [e["id"] for e in events[-1:-4:-1]]


def test_bad_query_parameters_name_the_parameter(api: ApiServer) -> None:
    for params, name in (
        ({"since": "yesterday"}, "since"),
        ({"cursor": "x"}, "cursor"),
        ({"limit": "-1"}, "limit"),
        ({"order": "up"}, "order"),
    ):
        r = api.get("/v1/events", **params)
        assert r.status_code == 422, params
        assert r.json()["error"]["message"].startswith(name)


def test_cost_report_sums_by_tenant_and_model(api: ApiServer) -> None:
    now = time.time()
    events = [make_event(i, at=now - 600 + i) for i in range(300)]
    for i in range(0, 300, 100):
        api.post_events(events[i : i + 100])
    report = api.get("/v1/reports/cost", group_by="tenant,model").json()
    expected: dict[tuple[str, str], list[float]] = {}
    for e in events:
        acc = expected.setdefault((e["tenant"], e["model"]), [0, 0, 0, 0.0])
        acc[0] += 1
        acc[1] += e["input_tokens"]
        acc[2] += e["output_tokens"]
        acc[3] += e["cost_usd"]
    got = {(r["tenant"], r["model"]): r for r in report["rows"]}
    assert set(got) == set(expected)
    for key, (n, tin, tout, cost) in expected.items():
        row = got[key]
        assert (row["requests"], row["input_tokens"], row["output_tokens"]) == (n, tin, tout)
        assert abs(row["cost_usd"] - cost) < 1e-9
    total = sum(e["cost_usd"] for e in events)
    assert abs(report["total"]["cost_usd"] - total) < 1e-9
    assert report["total"]["requests"] == 300
    by_tenant = api.get("/v1/reports/cost", group_by="tenant").json()["rows"]
    assert [r["tenant"] for r in by_tenant] == ["team-a", "team-b", "team-c"]
    recent = api.get("/v1/reports/cost", since=events[200]["timestamp"]).json()["total"]
    assert recent["requests"] == 100
    assert api.get("/v1/reports/cost", group_by="tenant,nope").status_code == 422


def test_gateway_config_etag_and_304(api: ApiServer) -> None:
    path = "/v1/gateways/gw-1/config"
    assert api.get(path).status_code == 404
    put = httpx.put(api.url + path, content=VALID_CONFIG, headers=api.headers())
    assert put.status_code == 200
    etag = put.headers["ETag"]
    got = api.get(path)
    assert got.text == VALID_CONFIG and got.headers["ETag"] == etag
    again = httpx.get(api.url + path, headers={**api.headers(), "If-None-Match": etag})
    assert again.status_code == 304
    bad = httpx.put(
        api.url + path, content="pack: {name: x}\npolicies: {chian: []}\n", headers=api.headers()
    )
    assert bad.status_code == 422
    assert "chian" in bad.json()["error"]["message"]
    assert api.get(path).headers["ETag"] == etag  # the last good one stays


def test_events_survive_an_api_kill(api: ApiServer) -> None:
    events = [make_event(i) for i in range(40)]
    api.post_events(events)
    api.kill()
    api.start()
    assert [e["id"] for e in api.all_events()] == [e["id"] for e in events]
