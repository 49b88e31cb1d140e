"""Staff accounts: the named people who write, review and run the catalog.

The audit trail, the four-eyes rule and the console need a person behind every change,
not an API key: an account has a name, a role, and is either global staff (changes the
global catalog) or one tenant's staff. Passwords are kept only as argon2 hashes
(``argon2-cffi``). Repeated wrong passwords lock the account for a while, so a password
cannot be guessed online, and every sign-in attempt is logged with its outcome, never
with the password typed.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, insert, select, update

from storage.tables import staff_accounts_table, staff_signins_table

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{1,79}$"
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256
# after this many wrong passwords in a row, the account is locked for LOCK_MINUTES
MAX_FAILED_ATTEMPTS = 5
LOCK_MINUTES = 15

_hasher = PasswordHasher()
# Verified when the account does not exist, so a wrong name costs the same time as a
# wrong password and the answer's timing does not tell which names exist.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class StaffRole(StrEnum):
    AUTHOR = "author"  # writes and submits content
    REVIEWER = "reviewer"  # also approves or rejects it, and edits crisis lines
    ADMIN = "admin"  # also runs the deployment: models, staff


class StaffError(ValueError):
    """A request about an account that cannot be met; the message says why."""


@dataclass(frozen=True)
class StaffAccount:
    name: str
    tenant: str | None  # None: global staff
    role: StaffRole
    created_at: datetime
    password_changed_at: datetime
    failed_attempts: int = 0
    locked_until: datetime | None = None
    disabled_at: datetime | None = None

    @property
    def reviewer(self) -> bool:
        return self.role in (StaffRole.REVIEWER, StaffRole.ADMIN)

    @property
    def admin(self) -> bool:
        return self.role == StaffRole.ADMIN

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def locked(self, now: datetime) -> bool:
        return self.locked_until is not None and _aware(self.locked_until) > now


@dataclass(frozen=True)
class SignIn:
    """The outcome of one attempt: ``account`` is set only when it succeeded."""

    outcome: str  # ok, wrong_password, locked, disabled, unknown_account
    account: StaffAccount | None = None

    @property
    def ok(self) -> bool:
        return self.account is not None


def _aware(value: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def check_name(name: str) -> str:
    if not re.match(NAME_PATTERN, name):
        raise StaffError("a staff name is 2-80 lowercase letters, digits, '.', '_' or '-', "
                         "starting with a letter or digit")
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise StaffError(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    return password


def _account(r: Any) -> StaffAccount:
    return StaffAccount(
        name=r.name, tenant=r.tenant, role=StaffRole(r.role),
        created_at=_aware(r.created_at), password_changed_at=_aware(r.password_changed_at),
        failed_attempts=int(r.failed_attempts),
        locked_until=_aware(r.locked_until) if r.locked_until else None,
        disabled_at=_aware(r.disabled_at) if r.disabled_at else None,
    )


class StaffStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, name: str, role: StaffRole, password: str, tenant: str | None = None) -> StaffAccount:
        check_name(name)
        check_password(password)
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            exists = conn.execute(select(staff_accounts_table.c.name)
                                  .where(staff_accounts_table.c.name == name)).first()
            if exists:
                raise StaffError(f"a staff account named {name!r} already exists")
            conn.execute(insert(staff_accounts_table).values(
                name=name, tenant=tenant, role=StaffRole(role).value, password_hash=_hasher.hash(password),
                failed_attempts=0, created_at=now, password_changed_at=now,
            ))
        account = self.get(name)
        assert account is not None
        return account

    def get(self, name: str) -> StaffAccount | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(staff_accounts_table)
                               .where(staff_accounts_table.c.name == name)).first()
        return _account(row) if row else None

    def active(self, name: str) -> StaffAccount:
        """The account, which must exist and not be disabled (the checked ``--actor``)."""
        account = self.get(name)
        if account is None:
            raise StaffError(f"no staff account {name!r} (create it with `solace staff add`)")
        if not account.active:
            raise StaffError(f"the staff account {name!r} is disabled")
        return account

    def list(self, tenant: str | None = None) -> list[StaffAccount]:
        query = select(staff_accounts_table).order_by(staff_accounts_table.c.name)
        if tenant is not None:
            query = query.where(staff_accounts_table.c.tenant == tenant)
        with self.engine.connect() as conn:
            return [_account(r) for r in conn.execute(query)]

    def disable(self, name: str) -> StaffAccount:
        with self.engine.begin() as conn:
            done = conn.execute(update(staff_accounts_table)
                                .where(staff_accounts_table.c.name == name,
                                       staff_accounts_table.c.disabled_at.is_(None))
                                .values(disabled_at=datetime.now(UTC)))
        if not done.rowcount:
            raise StaffError(f"no active staff account {name!r}")
        account = self.get(name)
        assert account is not None
        return account

    def set_password(self, name: str, password: str) -> StaffAccount:
        """A new password; it also lifts a lock-out (an admin set it on purpose) and ends
        the account's console sessions (they carry the time of the last change)."""
        check_password(password)
        with self.engine.begin() as conn:
            done = conn.execute(update(staff_accounts_table)
                                .where(staff_accounts_table.c.name == name)
                                .values(password_hash=_hasher.hash(password), failed_attempts=0,
                                        locked_until=None, password_changed_at=datetime.now(UTC)))
        if not done.rowcount:
            raise StaffError(f"no staff account {name!r}")
        account = self.get(name)
        assert account is not None
        return account

    def sign_in(self, name: str, password: str, via: str = "console") -> SignIn:
        """Check a password, count failures (locking the account after too many) and log
        the attempt. A locked or disabled account is refused even with the right password."""
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            query = select(staff_accounts_table).where(staff_accounts_table.c.name == name)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            row = conn.execute(query).first()
            if row is None:
                _verify(_DUMMY_HASH, password)
                result = SignIn("unknown_account")
            else:
                account = _account(row)
                if not account.active:
                    result = SignIn("disabled")
                elif account.locked(now):
                    result = SignIn("locked")
                elif _verify(row.password_hash, password):
                    values: dict[str, object] = {"failed_attempts": 0, "locked_until": None}
                    if _hasher.check_needs_rehash(row.password_hash):
                        values["password_hash"] = _hasher.hash(password)
                    conn.execute(update(staff_accounts_table)
                                 .where(staff_accounts_table.c.name == name).values(**values))
                    result = SignIn("ok", account)
                else:
                    failures = account.failed_attempts + 1
                    values = {"failed_attempts": failures}
                    if failures >= MAX_FAILED_ATTEMPTS:
                        values = {"failed_attempts": 0, "locked_until": now + timedelta(minutes=LOCK_MINUTES)}
                    conn.execute(update(staff_accounts_table)
                                 .where(staff_accounts_table.c.name == name).values(**values))
                    result = SignIn("wrong_password")
            conn.execute(insert(staff_signins_table).values(
                name=name[:80], at=now, success=result.ok, outcome=result.outcome, via=via[:16]))
        return result

    def sign_ins(self, name: str | None = None, limit: int = 100) -> builtins.list[dict[str, object]]:
        """The latest sign-in attempts, newest first."""
        t = staff_signins_table
        query = select(t).order_by(t.c.id.desc()).limit(limit)
        if name is not None:
            query = query.where(t.c.name == name)
        with self.engine.connect() as conn:
            return [{"name": r.name, "at": _aware(r.at), "success": bool(r.success), "outcome": r.outcome,
                     "via": r.via} for r in conn.execute(query)]


def _verify(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
