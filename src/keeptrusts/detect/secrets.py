"""Credentials: OpenAI and Anthropic keys, AWS access key ids, GitHub and Slack tokens,
private-key blocks, JWTs, Stripe live keys, Google API keys, GitLab, npm and Hugging Face
tokens.

The patterns are RE2 and run in one pass together with the other token-like entities
(`keeptrusts.detect.tokens`).

Private-key blocks run from the `-----BEGIN ... PRIVATE KEY-----` line through the matching
`-----END ...-----` line; without an END line (a truncated paste, or a stream still
arriving) the span runs to the end of the text, at most PEM_MAX characters.
"""

from __future__ import annotations

from keeptrusts.detect.engine import Encoded, Span, compile_pattern

OPENAI_KEY = "openai_key"
ANTHROPIC_KEY = "anthropic_key"
AWS_ACCESS_KEY = "aws_access_key"
GITHUB_TOKEN = "github_token"
SLACK_TOKEN = "slack_token"
PRIVATE_KEY = "private_key"
JWT = "jwt"

STRIPE_KEY = "stripe_key"
GOOGLE_API_KEY = "google_api_key"
GITLAB_TOKEN = "gitlab_token"
NPM_TOKEN = "npm_token"
HUGGINGFACE_TOKEN = "huggingface_token"

SECRETS = (
    OPENAI_KEY,
    ANTHROPIC_KEY,
    AWS_ACCESS_KEY,
    GITHUB_TOKEN,
    SLACK_TOKEN,
    PRIVATE_KEY,
    JWT,
    STRIPE_KEY,
    GOOGLE_API_KEY,
    GITLAB_TOKEN,
    NPM_TOKEN,
    HUGGINGFACE_TOKEN,
)

#: the longest private-key block redacted without its END line (an RSA-8192 PEM is ~6.4 KB)
PEM_MAX = 8192


#: entity -> RE2 pattern (no capture groups), in priority order
PATTERNS: dict[str, str] = {
    ANTHROPIC_KEY: r"sk-ant-(?:api|admin|sid)?[0-9]{0,2}-?[A-Za-z0-9_\-]{20,}",
    OPENAI_KEY: r"sk-(?:(?:proj|svcacct|admin|None)-)?[A-Za-z0-9_\-]{20,}",
    AWS_ACCESS_KEY: r"(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b",
    GITHUB_TOKEN: r"gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{22,251}",
    SLACK_TOKEN: (
        r"xox[abposre]-[A-Za-z0-9\-]{10,250}"
        r"|https://hooks\.slack\.com/services/[A-Za-z0-9_/]{20,120}"
    ),
    JWT: r"eyJ[A-Za-z0-9_\-]{5,}\.eyJ[A-Za-z0-9_\-]*(?:\.[A-Za-z0-9_\-]*)?",
    # live secret and restricted keys (test-mode keys move no money)
    STRIPE_KEY: r"(?:sk|rk)_live_[0-9A-Za-z]{24,247}",
    GOOGLE_API_KEY: r"AIza[0-9A-Za-z_\-]{35}",
    GITLAB_TOKEN: r"glpat-[0-9A-Za-z_\-]{20,64}",
    NPM_TOKEN: r"npm_[A-Za-z0-9]{36}",
    HUGGINGFACE_TOKEN: r"hf_[A-Za-z]{34}",
    PRIVATE_KEY: r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----",
}

_PEM_END = compile_pattern(r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----")


def pem_block_end(enc: Encoded, begin: Span) -> int:
    """Byte end of the private-key block whose BEGIN line is `begin` (see the docstring)."""
    end = _PEM_END.search(enc, begin[1])
    if end is not None and end[0][1] - begin[0] <= PEM_MAX:
        return end[0][1]
    data = enc.data
    stop = min(len(data), begin[0] + PEM_MAX)
    while stop < len(data) and (data[stop] & 0xC0) == 0x80:
        stop += 1
    return stop
