"""Cross-origin browser calls to the API (`/v1/*`), as the config's `cors:` section allows.

`CorsRules` is compiled once per config. The request path pays one header lookup (`Origin`,
which SDKs and servers never send); only browser calls go further:

- a preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered here: 204 with the
  `Access-Control-Allow-*` headers, or 403 saying which origin, method or header is not allowed;
- a call from an allowed origin gets `Access-Control-Allow-Origin` (and the exposed headers) on
  its response, streams included (`add_headers`, run as each response is prepared);
- a cross-origin call from an origin not allowed is refused (403) before any policy or provider
  runs: without it a page could still send a "simple" POST (no preflight) and spend tokens.

Same-origin calls (the browser says so in `Sec-Fetch-Site`, or the `Origin` names the `Host`)
pass untouched.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from keeptrusts.config.cors import Cors
from keeptrusts.errors import GatewayError

#: where a request keeps the headers its response gets (set only for allowed origins)
HEADERS_KEY = "keeptrusts.cors"
#: `Sec-Fetch-Site` values that say the page calling is not the gateway's own
_CROSS = frozenset(["cross-site", "same-site"])
#: the characters of a header name (RFC 9110 token, as browsers send them)
_TOKEN = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_!#$%&'*+.^`|~")


class OriginRefused(GatewayError):
    status = 403
    type = "validation_error"
    code = "origin_not_allowed"


@dataclass(frozen=True, slots=True)
class CorsRules:
    any_origin: bool
    origins: frozenset[str]
    #: `.example.com` for `https://*.example.com`, with its scheme
    suffixes: tuple[tuple[str, str], ...]
    methods: frozenset[str]
    methods_text: str
    headers: frozenset[str] | None
    credentials: bool
    max_age: str
    expose: str

    @classmethod
    def compile(cls, cors: Cors) -> CorsRules | None:
        if not cors.enabled:
            return None
        wildcards = (o.partition("://*") for o in cors.allow_origins if "://*" in o)
        suffixes = tuple((scheme, suffix) for scheme, _, suffix in wildcards)
        return cls(
            any_origin="*" in cors.allow_origins,
            origins=frozenset(o for o in cors.allow_origins if "*" not in o),
            suffixes=suffixes,
            methods=frozenset(cors.allow_methods),
            methods_text=", ".join(cors.allow_methods),
            headers=None
            if cors.allow_headers is None
            else frozenset(h.lower() for h in cors.allow_headers),
            credentials=cors.allow_credentials,
            max_age=str(cors.max_age_seconds),
            expose=", ".join(cors.expose_headers),
        )

    def allows(self, origin: str) -> bool:
        if self.any_origin or origin in self.origins:
            return True
        scheme, _, host = origin.partition("://")
        return any(scheme == s and host.endswith(suffix) for s, suffix in self.suffixes)

    def _allow_origin(self, origin: str) -> dict[str, str]:
        if self.any_origin:  # (never with credentials: the section refuses that pairing)
            return {"Access-Control-Allow-Origin": "*"}
        out = {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        if self.credentials:
            out["Access-Control-Allow-Credentials"] = "true"
        return out

    def response_headers(self, origin: str) -> dict[str, str]:
        out = self._allow_origin(origin)
        if self.expose:
            out["Access-Control-Expose-Headers"] = self.expose
        return out

    def preflight(self, request: web.Request, origin: str) -> web.StreamResponse | OriginRefused:
        method = request.headers.get("Access-Control-Request-Method", "")
        asked = request.headers.get("Access-Control-Request-Headers", "")
        names = [h.strip().lower() for h in asked.split(",") if h.strip()]
        if not self.allows(origin):
            return _origin_refused(origin)
        if not all(_TOKEN.issuperset(h) for h in names):  # echoed back: header names only
            return _refuse("Access-Control-Request-Headers is not a list of header names")
        if method not in self.methods:
            return _refuse(f"method {method[:20]!r} is not in cors.allow_methods")
        if self.headers is not None and (missing := [h for h in names if h not in self.headers]):
            return _refuse(f"headers {', '.join(missing)[:200]} are not in cors.allow_headers")
        headers = self._allow_origin(origin)
        headers["Vary"] = "Origin, Access-Control-Request-Headers"
        headers["Access-Control-Allow-Methods"] = self.methods_text
        if names:
            headers["Access-Control-Allow-Headers"] = ", ".join(names)
        headers["Access-Control-Max-Age"] = self.max_age
        if request.headers.get("Access-Control-Request-Private-Network") == "true":
            headers["Access-Control-Allow-Private-Network"] = "true"
        return web.Response(status=204, headers=headers)


def _origin_refused(origin: str) -> OriginRefused:
    return _refuse(f"origin {origin[:200]!r} is not in cors.allow_origins")


def _refuse(why: str) -> OriginRefused:
    return OriginRefused(
        f"cross-origin request refused: {why}; list the calling page's origin in the "
        "config's cors section (docs/config.md, Browsers and CORS)"
    )


def is_preflight(request: web.Request) -> bool:
    return request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers


def cross_origin(request: web.Request, origin: str) -> bool:
    """Whether the calling page is another origin than the gateway's (a browser says so in
    `Sec-Fetch-Site`; older ones only send `Origin`, compared with `Host`)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in _CROSS
    return origin.partition("://")[2].lower() != request.host.lower()


def admit(
    rules: CorsRules, request: web.Request, origin: str
) -> web.StreamResponse | OriginRefused | None:
    """A browser call to the API: the answer to a preflight or the refusal, or None to serve
    it (with the headers its response gets kept on the request)."""
    if is_preflight(request):
        return rules.preflight(request, origin)
    if rules.allows(origin):
        request[HEADERS_KEY] = rules.response_headers(origin)
        return None
    if cross_origin(request, origin):
        return _origin_refused(origin)
    return None


async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: the CORS headers `admit` chose, on every kind of response."""
    headers: dict[str, str] | None = request.get(HEADERS_KEY)
    if headers is None:
        return
    for name, value in headers.items():
        if name == "Vary" and "Vary" in response.headers:
            response.headers["Vary"] = f"{response.headers['Vary']}, {value}"
        else:
            response.headers[name] = value
