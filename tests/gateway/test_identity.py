"""TenantResolver: mesh identities (XFCC, l5d-client-id), native mTLS, tenant header, API keys."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

from keeptrusts.config.load import ConfigError, load_texts
from keeptrusts.config.model import Tenants
from keeptrusts.gateway.identity import Identity, TenantResolver, api_key_id
from keeptrusts.gateway.mesh_headers import XfccError, linkerd_principal, parse_xfcc, xfcc_client

DS = "spiffe://cluster.local/ns/data-science/sa/notebook"
CS = "spiffe://cluster.local/ns/customer-support/sa/bot"
ISTIO_BY = "spiffe://cluster.local/ns/keeptrusts/sa/keeptrusts-gateway"
HASH = "468ed33be74eee6556d90c0149c1309e9ba61d6425303443c0748a02dd8de688"
KEY = "sk-team-a-0123456789"
KEY_DIGEST = "sha256:" + hashlib.sha256(KEY.encode()).hexdigest()

IDENTITIES = {
    "spiffe://cluster.local/ns/data-science/*": "data-science",
    "spiffe://cluster.local/ns/customer-support/sa/bot": "support-bot",
    "spiffe://cluster.local/ns/customer-support/*": "customer-support",
}


def resolver(**kw: Any) -> TenantResolver:
    base: dict[str, Any] = {
        "sources": ["xfcc", "l5d-client-id", "header", "api_key"],
        "trust_mesh_headers": True,
        "identities": IDENTITIES,
        "api_keys": {KEY_DIGEST: "team-a"},
        "default": "anonymous",
        # tenants only a header names: a header may name only tenants the config knows
        "known": ["team-b", "team-h", "team-x"],
    }
    base.update(kw)
    return TenantResolver(Tenants(**base))


def xfcc(uri: str, by: str = ISTIO_BY) -> str:
    subject = '""'
    return f"By={by};Hash={HASH};Subject={subject};URI={uri}"


# --- XFCC parsing (Envoy's documented format) ---------------------------------------------


def test_parse_envoy_doc_examples() -> None:
    one = (
        "By=http://frontend.lyft.com;Hash=" + HASH + ';Subject="/C=US/ST=CA/L=San Francisco/'
        'OU=Lyft/CN=Test Client";URI=http://testclient.lyft.com'
    )
    assert parse_xfcc(one) == [
        [
            ("by", "http://frontend.lyft.com"),
            ("hash", HASH),
            ("subject", "/C=US/ST=CA/L=San Francisco/OU=Lyft/CN=Test Client"),
            ("uri", "http://testclient.lyft.com"),
        ]
    ]
    two = (
        "By=http://frontend.lyft.com;Hash=" + HASH + ";URI=http://testclient.lyft.com,"
        "By=http://backend.lyft.com;Hash=9ba6;URI=http://frontend.lyft.com"
    )
    elements = parse_xfcc(two)
    assert len(elements) == 2
    assert elements[1][-1] == ("uri", "http://frontend.lyft.com")
    dns = "URI=http://a;DNS=lyft.com;DNS=www.lyft.com"
    assert parse_xfcc(dns) == [[("uri", "http://a"), ("dns", "lyft.com"), ("dns", "www.lyft.com")]]


def test_parse_quoted_separators_and_escaped_quotes() -> None:
    value = r'Subject="CN=a,O=b;c=\"d\"";URI=spiffe://td/x,uri="spiffe://td/y"'
    assert parse_xfcc(value) == [
        [("subject", 'CN=a,O=b;c="d"'), ("uri", "spiffe://td/x")],
        [("uri", "spiffe://td/y")],
    ]


def test_parse_keys_case_insensitive_and_spaces_trimmed() -> None:
    assert parse_xfcc(" BY=a ; uRi=b , URI=c") == [[("by", "a"), ("uri", "b")], [("uri", "c")]]


@pytest.mark.parametrize("bad", ['URI="spiffe://x', "URI=a;garbage", "=x"])
def test_parse_malformed(bad: str) -> None:
    with pytest.raises(XfccError):
        parse_xfcc(bad)
    assert xfcc_client(bad) is None


def test_client_is_last_element_first_spiffe_uri() -> None:
    forged = xfcc(CS)
    real = f"By={ISTIO_BY};Hash={HASH};URI=https://not-spiffe;URI={DS}"
    assert xfcc_client(f"{forged},{real}") == DS
    # the last element has no SPIFFE URI: earlier (forgeable) elements are not consulted
    assert xfcc_client(f"{forged},By={ISTIO_BY};Hash={HASH}") is None
    assert xfcc_client("") is None
    assert xfcc_client(",,") is None


def test_parse_is_linear_on_hostile_input() -> None:
    hostile = 'k="' + "\\x" * 20000 + '"' + ";a=" * 5000 + "," * 5000
    started = time.perf_counter()
    assert len(parse_xfcc(hostile)) == 1
    assert xfcc_client('"' * 50001) is None
    assert time.perf_counter() - started < 1.0


def reference_parse(value: str) -> list[list[tuple[str, str]]]:
    """A char-by-char reading of Envoy's grammar, the oracle for the str-method parser."""
    elements: list[list[tuple[str, str]]] = []
    pairs: list[tuple[str, str]] = []
    key: str | None = None
    buf = ""
    quoted = False
    i = 0

    def end() -> None:
        text = buf.strip()
        if key is None:
            if text:
                raise XfccError("no =")
        elif not key:
            raise XfccError("empty key")
        else:
            pairs.append((key, text))

    while i < len(value):
        c = value[i]
        i += 1
        if quoted:
            if c == "\\" and value[i : i + 1] == '"':
                buf += '"'
                i += 1
            elif c == '"':
                quoted = False
            else:
                buf += c
        elif c == "\\" and value[i : i + 1] == '"':
            raise XfccError("escaped quote outside quotes")
        elif c == '"':
            quoted = True
        elif c == "=" and key is None:
            key, buf = buf.strip().lower(), ""
        elif c in ";,":
            end()
            key, buf = None, ""
            if c == ",":
                if pairs:
                    elements.append(pairs)
                pairs = []
        else:
            buf += c
    if quoted:
        raise XfccError("unterminated")
    end()
    if pairs:
        elements.append(pairs)
    return elements


def _outcome(fn: Any, value: str) -> Any:
    try:
        return fn(value)
    except XfccError:
        return "error"


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet='ab =;,"\\U', max_size=40))
def test_parser_agrees_with_reference(value: str) -> None:
    assert _outcome(parse_xfcc, value) == _outcome(reference_parse, value)


# --- Linkerd -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("client_id", "principal"),
    [
        (
            "notebook.data-science.serviceaccount.identity.linkerd.cluster.local",
            DS,
        ),
        (
            "web.shop.serviceaccount.identity.linkerd-cp.example.org",
            "spiffe://example.org/ns/shop/sa/web",
        ),
        (
            "my.dotted.sa.shop.serviceaccount.identity.linkerd.cluster.local",
            "spiffe://cluster.local/ns/shop/sa/my.dotted.sa",
        ),
    ],
)
def test_linkerd_client_id_maps_to_spiffe(client_id: str, principal: str) -> None:
    assert linkerd_principal(client_id) == principal


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "web.shop.svc.cluster.local",
        "shop.serviceaccount.identity.linkerd.cluster.local",
        "web.shop.serviceaccount.identity.linkerd",
        "web/x.shop.serviceaccount.identity.linkerd.cluster.local",
        "Web.Shop.serviceaccount.identity.linkerd.cluster.local",
    ],
)
def test_linkerd_client_id_rejects_malformed(bad: str) -> None:
    assert linkerd_principal(bad) is None


# --- resolution ----------------------------------------------------------------------------


def test_xfcc_identity_selects_tenant_by_first_matching_glob() -> None:
    r = resolver()
    assert r.resolve({"x-forwarded-client-cert": xfcc(DS)}, None, None) == Identity(
        "data-science", "xfcc", DS, None
    )
    # the specific glob is listed before the namespace one, so it wins
    assert r.resolve({"x-forwarded-client-cert": xfcc(CS)}, None, None).tenant == "support-bot"
    other = "spiffe://cluster.local/ns/customer-support/sa/crm"
    assert r.resolve({"x-forwarded-client-cert": xfcc(other)}, None, None).tenant == (
        "customer-support"
    )


def test_forged_first_element_does_not_win() -> None:
    r = resolver()
    unknown = "spiffe://cluster.local/ns/applications/sa/web"
    # the caller forged a data-science element; its sidecar appended the real identity
    ident = r.resolve({"x-forwarded-client-cert": f"{xfcc(DS)},{xfcc(unknown)}"}, None, None)
    assert ident == Identity("anonymous", "default", unknown, None)


def test_repeated_xfcc_headers_are_one_list() -> None:
    headers = CIMultiDict[str]()
    headers.add("X-Forwarded-Client-Cert", xfcc(CS))
    headers.add("X-Forwarded-Client-Cert", xfcc(DS))
    ident = resolver().resolve(CIMultiDictProxy(headers), None, None)
    assert (ident.tenant, ident.principal) == ("data-science", DS)


def test_mesh_headers_ignored_unless_trusted() -> None:
    r = resolver(trust_mesh_headers=False)
    headers = {
        "x-forwarded-client-cert": xfcc(DS),
        "l5d-client-id": "bot.customer-support.serviceaccount.identity.linkerd.cluster.local",
    }
    assert r.resolve(headers, None, None) == Identity("anonymous", "default", None, None)
    headers["x-keeptrusts-tenant"] = "team-b"
    assert r.resolve(headers, None, None) == Identity("team-b", "header", None, None)


def test_linkerd_source() -> None:
    r = resolver(sources=["l5d-client-id"])
    cid = "bot.customer-support.serviceaccount.identity.linkerd.cluster.local"
    assert r.resolve({"l5d-client-id": cid}, None, None) == Identity(
        "support-bot", "l5d-client-id", CS, None
    )


def test_unmatched_mesh_identity_falls_through_and_stays_principal() -> None:
    r = resolver()
    stranger = "spiffe://cluster.local/ns/applications/sa/web"
    headers = {"x-forwarded-client-cert": xfcc(stranger), "authorization": "ignored"}
    ident = r.resolve(headers, None, KEY)
    assert ident == Identity("team-a", "api_key", stranger, KEY_DIGEST)
    headers["x-keeptrusts-tenant"] = "team-h"
    assert r.resolve(headers, None, KEY).source == "header"


def test_sources_follow_configured_order() -> None:
    headers = {"x-forwarded-client-cert": xfcc(DS), "x-keeptrusts-tenant": "team-h"}
    assert resolver().resolve(headers, None, KEY).source == "xfcc"
    r = resolver(sources=["api_key", "header", "xfcc"])
    assert r.resolve(headers, None, KEY).tenant == "team-a"
    assert r.resolve(headers, None, None).tenant == "team-h"
    # a source that is not listed is never consulted
    assert resolver(sources=["api_key"]).resolve(headers, None, None).source == "default"


def test_native_mtls_peer_is_trusted_without_mesh_trust() -> None:
    r = resolver(trust_mesh_headers=False, sources=["header"])
    ident = r.resolve({"x-keeptrusts-tenant": "team-h"}, DS, None)
    assert ident == Identity("data-science", "mtls", DS, None)
    stranger = "spiffe://other.org/ns/x/sa/y"
    ident = r.resolve({"x-keeptrusts-tenant": "team-h"}, stranger, None)
    assert ident == Identity("team-h", "header", stranger, None)


def test_header_tenant_is_bounded() -> None:
    r = resolver(sources=["header"], header="X-Team")
    assert r.resolve({"x-team": " team-x "}, None, None).tenant == "team-x"
    for bad in ("", "   ", "a" * 129, "two words", "tab\tname", "é"):
        assert r.resolve({"x-team": bad}, None, None).source == "default"


def test_api_key_lookup_and_id_never_the_key() -> None:
    r = resolver(
        sources=["api_key"], api_keys={KEY_DIGEST.upper().replace("SHA256", "sha256"): "a"}
    )
    ident = r.resolve({}, None, KEY)
    assert ident == Identity("a", "api_key", None, KEY_DIGEST)
    assert KEY not in repr(ident)
    assert ident.api_key_label == KEY_DIGEST[:19]
    unknown = r.resolve({}, None, "sk-unknown")
    assert unknown.source == "default"
    assert unknown.api_key_id == api_key_id("sk-unknown")
    assert r.resolve({}, None, None).api_key_label is None


@pytest.mark.parametrize("digest", ["sk-plaintext-key", "sha256:abc", "md5:" + "0" * 64])
def test_malformed_api_key_digest_is_a_config_error(digest: str) -> None:
    text = f'pack: {{name: t}}\npolicies: {{chain: []}}\ntenants:\n  api_keys: {{"{digest}": t}}\n'
    with pytest.raises(ConfigError, match=r"cfg\.yaml:4: tenants\.api_keys"):
        load_texts([("cfg.yaml", text)])


def test_defaults_and_empty_config() -> None:
    r = TenantResolver(Tenants())
    assert r.resolve({}, None, None) == Identity("anonymous", "default", None, None)
    # with no identities, a trusted mesh identity is the principal but not a tenant
    r = resolver(identities={})
    assert r.resolve({"x-forwarded-client-cert": xfcc(DS)}, None, None) == Identity(
        "anonymous", "default", DS, None
    )


def test_glob_classes_and_question_mark() -> None:
    r = resolver(identities={"spiffe://td/ns/team-?/sa/[ab]*": "t"})
    ok = {"x-forwarded-client-cert": "URI=spiffe://td/ns/team-1/sa/alpha"}
    no = {"x-forwarded-client-cert": "URI=spiffe://td/ns/team-1/sa/zeta"}
    assert r.resolve(ok, None, None).tenant == "t"
    assert r.resolve(no, None, None).tenant == "anonymous"


def test_memo_is_bounded_and_consistent() -> None:
    r = resolver()
    for i in range(3000):
        uri = f"spiffe://cluster.local/ns/data-science/sa/n{i}"
        assert r.resolve({"x-forwarded-client-cert": xfcc(uri)}, None, None).tenant == (
            "data-science"
        )
    long_uri = "spiffe://cluster.local/ns/data-science/sa/" + "x" * 1500
    for _ in range(2):
        ident = r.resolve({"x-forwarded-client-cert": f"URI={long_uri}"}, None, None)
        assert (ident.tenant, ident.principal) == ("data-science", long_uri)
    assert all(len(c) <= 1024 for c in r._seen.values())
    assert len(r._globs._cache) <= 1024


# --- the tenant header is not authentication ---------------------------------------------


def test_default_sources_put_the_api_key_before_the_header() -> None:
    assert Tenants().sources == ["api_key", "header"]
    r = TenantResolver(Tenants(api_keys={KEY_DIGEST: "team-a"}, known=["team-b"]))
    ident = r.resolve({"x-keeptrusts-tenant": "team-b"}, None, KEY)
    assert ident == Identity("team-a", "api_key", None, KEY_DIGEST)
    # without a key the (known) header decides
    assert r.resolve({"x-keeptrusts-tenant": "team-b"}, None, None).tenant == "team-b"


def test_header_names_only_tenants_the_config_knows() -> None:
    r = TenantResolver(
        Tenants(
            api_keys={KEY_DIGEST: "team-a"},
            identities={"spiffe://td/ns/ds/*": "data-science"},
            known=["team-k"],
            default="shared",
        )
    )
    for tenant in ("team-k", "shared"):
        ident = r.resolve({"x-keeptrusts-tenant": tenant}, None, None)
        assert ident == Identity(tenant, "header", None, None)
    # an invented name is not a tenant, nor is one that a key or a certificate proves: the
    # next source, then the default, decides
    for fresh in ("x1", "x2", "TEAM-A", "team-a2", "team-a", "data-science"):
        assert r.resolve({"x-keeptrusts-tenant": fresh}, None, None) == Identity(
            "shared", "default", None, None
        )
        assert r.resolve({"x-keeptrusts-tenant": fresh}, None, KEY).tenant == "team-a"


def test_unknown_header_falls_through_to_a_later_source() -> None:
    r = resolver(sources=["header", "api_key"])
    assert r.resolve({"x-keeptrusts-tenant": "team-b"}, None, KEY).tenant == "team-b"
    ident = r.resolve({"x-keeptrusts-tenant": "made-up"}, None, KEY)
    assert ident == Identity("team-a", "api_key", None, KEY_DIGEST)


def test_header_tenants_any_is_an_explicit_opt_in() -> None:
    r = resolver(sources=["header", "api_key"], header_tenants="any")
    assert r.resolve({"x-keeptrusts-tenant": "made-up"}, None, KEY).tenant == "made-up"
    # still only well-formed names
    assert r.resolve({"x-keeptrusts-tenant": "two words"}, None, KEY).tenant == "team-a"
    with pytest.raises(ValueError, match="header_tenants"):
        Tenants.model_validate({"header_tenants": "all"})


def test_contract_example_sources_still_load_and_apply_in_order() -> None:
    text = (
        "pack: {name: t}\npolicies: {chain: []}\ntenants:\n"
        "  sources: [xfcc, l5d-client-id, header, api_key]\n"
        "  trust_mesh_headers: false\n  header: x-keeptrusts-tenant\n"
        f'  api_keys: {{"{KEY_DIGEST}": team-a}}\n'
        '  identities: {"spiffe://cluster.local/ns/data-science/*": data-science}\n'
        "  default: anonymous\n"
        "  known: [batch]\n"
    )
    tenants = load_texts([("cfg.yaml", text)]).config.tenants
    assert tenants.sources == ["xfcc", "l5d-client-id", "header", "api_key"]
    r = TenantResolver(tenants)
    # header before api_key, as listed: a listed tenant in the header wins; a tenant that a
    # certificate proves cannot be claimed by header
    assert r.resolve({"x-keeptrusts-tenant": "batch"}, None, KEY).source == "header"
    assert r.resolve({"x-keeptrusts-tenant": "data-science"}, None, KEY).source == "api_key"
    assert r.resolve({"x-keeptrusts-tenant": "nobody"}, None, KEY).source == "api_key"


def test_a_header_source_that_can_select_nothing_is_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level("WARNING", logger="keeptrusts.gateway"):
        TenantResolver(Tenants(sources=["header", "api_key"]))
    assert "tenants.known is empty" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="keeptrusts.gateway"):
        TenantResolver(Tenants())  # the defaults: no warning
        TenantResolver(Tenants(sources=["header"], known=["team-a"]))
    assert caplog.text == ""


@pytest.mark.parametrize("prefix", ['"', "x", 'a=\\"', "k=", '",,,"', '\\"'])
def test_a_malformed_caller_prefix_cannot_hide_the_sidecar_element(prefix: str) -> None:
    """Under APPEND_FORWARD the caller's own XFCC comes first: before, any syntax error in it
    made the whole header unreadable and dropped the sidecar's element with it."""
    real = f'By={ISTIO_BY};Hash={HASH};Subject="CN=a,O=b";URI={DS}'
    assert xfcc_client(f"{prefix},{real}") == DS
