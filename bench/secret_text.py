"""What looks like a secret in text: names that say they hold one (DB_PASSWORD, NPM_TOKEN) and
the formats of well-known credentials (a GitHub token, a private key block).

The collector uses this to keep secrets out of the facts (bench/redact.py) and the checks to say
where an image's history showed one (CIS 4.10). A name is a heuristic: GPG_KEY holds a public key
fingerprint, PASSWORD_FILE a path; so a name needs a word that names a secret and must not end in a
word that makes it a setting about one.
"""
from __future__ import annotations

import functools
import re

# What replaces a secret value in the facts; a credential recognised by its format says its kind.
REDACTED = "<redacted>"


def marker(kind: str) -> str:
    return f"<redacted:{kind}>"


MARKER = re.compile(r"<redacted:([a-z0-9-]+)>")

# Words that name a secret; KEY alone does not (GPG_KEY, KEY_ID, SIGNING_KEY_FINGERPRINT are public).
_SECRET_WORDS = frozenset({"PASSWORD", "PASSWD", "PASS", "PASSPHRASE", "PWD", "PW", "SECRET", "SECRETS", "TOKEN",
                           "CREDENTIAL", "CREDENTIALS", "APIKEY", "PRIVATEKEY", "AUTHTOKEN"})
# Secret words that also end a run-together name (DBPASSWORD, GITHUBTOKEN); PASS and PW do not, as
# BYPASS and COMPASS would.
_SECRET_ENDINGS = ("PASSWORD", "PASSWD", "PASSPHRASE", "TOKEN", "SECRET", "APIKEY", "PRIVATEKEY")
# Two words that together name one: API_KEY, ACCESS_KEY, PRIVATE_KEY, ...
_KEY_QUALIFIERS = frozenset({"API", "ACCESS", "PRIVATE", "SECRET", "AUTH", "ENCRYPTION", "MASTER", "SIGNING",
                             "CLIENT", "LICENSE", "SERVICE", "ACCOUNT"})
# A last word that makes the name a setting about a secret, not the secret: where it is, whose, how long.
_NOT_A_SECRET_LAST = frozenset({"FILE", "PATH", "DIR", "NAME", "USER", "USERNAME", "ID", "URL", "URI", "HOST",
                                "PORT", "ENDPOINT", "LENGTH", "LEN", "MIN", "MAX", "EXPIRY", "EXPIRES", "TTL",
                                "TIMEOUT", "ENABLED", "REQUIRED", "HEADER", "TYPE", "FORMAT", "PREFIX",
                                "SUFFIX", "MODE", "POLICY", "VERSION", "COUNT", "SIZE", "LOCATION", "ALGORITHM",
                                "STDIN", "FINGERPRINT", "FILES", "METHOD", "PROVIDER", "STORE", "ISSUER"})
# The shell's own variables whose names hold a secret word.
_SHELL_NAMES = frozenset({"PWD", "OLDPWD"})


@functools.lru_cache(maxsize=4096)
def is_secret_name(name: str) -> bool:
    """Whether a variable, argument, label or option name says it holds a secret."""
    bare = name.strip().lstrip("-")
    if not bare or bare.upper() in _SHELL_NAMES:
        return False
    # dbPassword and apiToken are two words each, as DB_PASSWORD is; PASSWORD2 is PASSWORD.
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", bare).upper()
    words = [w.rstrip("0123456789") or w for w in re.split(r"[^A-Z0-9]+", spaced) if w]
    if not words or words[-1] in _NOT_A_SECRET_LAST:
        return False
    if any(w in _SECRET_WORDS or w.endswith(_SECRET_ENDINGS) for w in words):
        return True
    return any(w == "KEY" and i > 0 and words[i - 1] in _KEY_QUALIFIERS for i, w in enumerate(words))


# (kind, pattern): the formats the issuers publish, so that a match is a credential whatever its name.
TOKEN_FORMATS: tuple[tuple[str, str], ...] = (
    ("private-key", r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:.*?-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|.*)"),
    ("aws-access-key-id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("github-token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b"),
    ("gitlab-token", r"\bglpat-[A-Za-z0-9_-]{20,}"),
    ("slack-token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    ("google-api-key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    ("stripe-key", r"\b[rs]k_live_[0-9A-Za-z]{20,}\b"),
    ("npm-token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("pypi-token", r"\bpypi-AgE[A-Za-z0-9_-]{50,}"),
    ("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
)
TOKENS = re.compile("|".join(f"(?P<{kind.replace('-', '_')}>{pattern})" for kind, pattern in TOKEN_FORMATS),
                    re.DOTALL)


def token_kind(match: "re.Match[str]") -> str:
    """The kind of credential a TOKENS match is ("github-token")."""
    return str(match.lastgroup or "credential").replace("_", "-")


def is_reference(value: str) -> bool:
    """A value that only refers to another variable ($TOKEN, "${TOKEN}"): the secret is not in it."""
    return re.fullmatch(r"""(["']?)\$(?:\{[A-Za-z_][A-Za-z0-9_]*\}|[A-Za-z_][A-Za-z0-9_]*)\1""", value) is not None
