"""What both readers share: the error type, the size cap and module naming."""

import re

MAX_MODEL_BYTES = 64 * 2**20


class UserModelError(ValueError):
    """The user's model file cannot be used; the message names the file and the reason."""


def unique_module_name(base: str, fallback: str, used: set[str]) -> str:
    """A module name nn.Sequential accepts, distinct from those taken."""
    base = re.sub(r"[^A-Za-z0-9_]", "_", base)
    if not base or base[0].isdigit() or base in used:
        base = fallback
    used.add(base)
    return base
