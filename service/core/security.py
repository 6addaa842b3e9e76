"""API keys: random tokens shown once, stored as SHA-256 digests.

Keys are 256-bit random, so a plain digest suffices (no password hashing needed); lookups go
by digest, never by comparing secrets.
"""

import enum
import hashlib
import secrets

KEY_PREFIX = "hws_"


class Scope(enum.StrEnum):
    READ = "read"  # list and read jobs, trials, fronts, candidates, bundles, the dashboard
    SUBMIT = "submit"  # submit and cancel jobs, write through the dashboard; implies read


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def display_prefix(key: str) -> str:
    """The first characters of a key, kept in clear to tell keys apart in listings."""
    return key[: len(KEY_PREFIX) + 6]


def grants(scopes: set[Scope], needed: Scope) -> bool:
    return needed in scopes or (needed is Scope.READ and Scope.SUBMIT in scopes)
