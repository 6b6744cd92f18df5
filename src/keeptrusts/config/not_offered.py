"""Settings and policy kinds the public Keeptrusts documentation describes but this gateway
does not offer, with what to write instead.

A config copied from docs.keeptrusts.com may name them. The gateway still refuses them (it
cannot do what they ask, and a setting silently ignored is worse than a refusal), but the
error says so and names the alternative, instead of asking to check a spelling that is right.
"""

from __future__ import annotations

_PREFIX = "unknown key: the Keeptrusts docs describe it, but this gateway does not offer it"

#: key path under `policy.<kind>` -> what to do instead
KEYS: dict[tuple[str, ...], str] = {
    ("prompt-injection", "embedding_threshold"): (
        "detection is pattern matching only, no embedding similarity; remove the key"
    ),
    ("prompt-injection", "backend"): (
        "detection is pattern matching only, no embedding backend; remove the key"
    ),
    ("prompt-injection", "boundaries"): (
        "forged role boundaries (<|im_start|>, [INST], </system>, ### SYSTEM:) are always "
        "detected by the built-in patterns (reason injection.delimiter); remove the key"
    ),
    ("prompt-injection", "response", "log_level"): (
        "detections are recorded in decision events (the gateway's own log level is "
        "`logging.level`); remove the key"
    ),
    ("dlp-filter", "sensitivity_level"): (
        "no built-in sensitivity tiers: list terms in blocked_terms and patterns in "
        "detect_patterns (credentials are pii-detector's `secrets` entities); remove the key"
    ),
}

#: key path under `policy.<kind>` -> where this gateway reads it
MOVED: dict[tuple[str, ...], str] = {
    ("prompt-injection", "attack_patterns"): "detection.attack_patterns",
}

_RULE = "write it as policy.rate-limit: {rules: [{scope: %s, %s: N}]} and list rate-limit in "

#: top-level sections of the docs' other config shapes -> what to write here
TOP: dict[str, str] = {
    "global_rate_limit": _RULE % ("global", "requests_per_minute") + "policies.chain",
    "token_rate_limit": _RULE % ("global", "tokens_per_minute") + "policies.chain",
    "user_rate_limit": _RULE % ("tenant", "requests_per_minute")
    + "policies.chain, with tenants.header naming the user header",
    "ip_rate_limit": (
        "there are no per-IP limits: policy.rate-limit limits a tenant, an api_key, a model "
        "or everything (scope: global)"
    ),
    "rate_limits": (
        "write it as policy.rate-limit rules (requests_per_minute, tokens_per_minute, "
        "max_parallel per scope) and list rate-limit in policies.chain"
    ),
    "size_limits": (
        "write server.max_body_bytes and server.max_response_bytes, or the size-limits policy"
    ),
}

#: the end of a key path anywhere (list indexes left out) -> what to do instead
TAILS: dict[tuple[str, ...], str] = {
    ("targets", "secret_key_ref", "store"): (
        "there is no config-variable store: put the key in an environment variable (from a "
        "Kubernetes Secret) and write secret_key_ref: {env: VARIABLE_NAME}"
    ),
    ("targets", "api_key"): (
        "a key is never written in the config: put it in an environment variable (from a "
        "Kubernetes Secret) and write secret_key_ref: {env: VARIABLE_NAME}"
    ),
}

#: policy kinds -> what to do instead
KINDS: dict[str, str] = {
    "audit-logger": (
        "every request's decision event is always recorded (docs/events.md): remove it from "
        "the chain and its settings"
    ),
    "hipaa-phi-detector": "use pii-detector with detect_patterns for MRNs, NPIs, member ids",
}


def key_message(path: tuple[object, ...]) -> str | None:
    """The message for an unknown key at `policy.<kind>.<path...>`, if the docs describe it."""
    key = tuple(str(p) for p in path)
    if key in MOVED:
        return f"unknown key here: write it as `{MOVED[key]}` (under `{key[0]}`)"
    reason = KEYS.get(key)
    return f"{_PREFIX}: {reason}" if reason else None


def kind_message(kind: str) -> str | None:
    """Why a policy kind the docs describe is refused, if they do."""
    reason = KINDS.get(kind)
    if reason is None:
        return None
    return (
        f"policy kind {kind!r} is described in the Keeptrusts docs but not offered here: {reason}"
    )


def tail_message(path: tuple[object, ...]) -> str | None:
    """The message for an unknown key whose path ends as one the docs describe, if any."""
    names = tuple(str(p) for p in path if not isinstance(p, int))
    for tail, reason in TAILS.items():
        if names[-len(tail) :] == tail:
            return f"{_PREFIX}: {reason}"
    return None


def top_message(key: str) -> str | None:
    """The message for an unknown top-level section, if the docs describe one like it."""
    where = TOP.get(key)
    return f"unknown key here: {where}" if where else None
