"""Ids and the pseudonym rules: what a user or tenant id may be, and the training-wide
``tenant:user`` key."""

from __future__ import annotations

import re

_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_PHONE_RE = re.compile(r"^\+?[0-9 ()\-.]{7,}$")
_USER_ID_RE = re.compile(r"^[A-Za-z0-9_.:\-]{1,128}$")

TENANT_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
USER_KEY_SEP = ":"


def opaque_user_id(value: str) -> str:
    """Accept pseudonymous tokens only: nothing that looks like an email or phone number."""
    if _EMAIL_RE.match(value) or "@" in value:
        raise ValueError("user_id looks like an email address; send an opaque pseudonym instead")
    digits = sum(c.isdigit() for c in value)
    # 7 to 15 digits (E.164's longest), alone or with phone punctuation: a phone number
    if _PHONE_RE.match(value) and 7 <= digits <= 15:
        raise ValueError("user_id looks like a phone number; send an opaque pseudonym instead")
    if not _USER_ID_RE.match(value):
        raise ValueError("user_id must be 1-128 characters of letters, digits, '_', '.', ':' or '-'")
    return value


def user_key(tenant: str, user_id: str) -> str:
    """Training-wide user id; tenants cannot contain the separator, so it splits back."""
    return f"{tenant}{USER_KEY_SEP}{user_id}"


def split_user_key(key: str) -> tuple[str, str]:
    tenant, user = key.split(USER_KEY_SEP, 1)
    return tenant, user
