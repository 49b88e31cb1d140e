"""``solace staff ...``: the named people who write, review and run the catalog.

Passwords are read from a prompt (hidden, asked twice) or, for scripts, from standard
input with ``--password-stdin``; never from an option, which would land in the shell's
history and the process list.
"""

from __future__ import annotations

import sys

import click

from solace.cli.common import check_tenant, services_of


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt("Password", hide_input=True, confirmation_prompt=True))


@click.group()
def staff() -> None:
    """Add, list and disable staff accounts (authors, reviewers, admins); set passwords."""


@staff.command(name="add")
@click.argument("name")
@click.option("--role", type=click.Choice(["author", "reviewer", "admin"]), required=True,
              help="author: writes and submits; reviewer: also approves and rejects; admin: also runs models.")
@click.option("--tenant", default=None, help="One tenant's staff (its private resources). Default: global staff.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_context
def staff_add(ctx: click.Context, name: str, role: str, tenant: str | None, password_stdin: bool) -> None:
    """Create the account NAME (its password is asked for)."""
    from storage.staff import StaffError, StaffRole, check_name

    try:
        check_name(name)
    except StaffError as exc:
        raise click.BadParameter(str(exc), param_hint="NAME") from None
    if tenant is not None:
        check_tenant(tenant)
    try:
        account = services_of(ctx).staff.create(name, StaffRole(role), _password(password_stdin), tenant)
    except StaffError as exc:
        raise click.ClickException(str(exc)) from None
    where = f"tenant {account.tenant}" if account.tenant else "global staff"
    click.echo(f"added {account.name} ({account.role.value}, {where})")


@staff.command(name="list")
@click.option("--tenant", default=None)
@click.pass_context
def staff_list(ctx: click.Context, tenant: str | None) -> None:
    """Every account: name, role, whose staff, state."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    accounts = services_of(ctx).staff.list(tenant)
    for a in accounts:
        state = ("disabled" if not a.active else
                 f"locked until {a.locked_until:%H:%M} UTC" if a.locked(now) and a.locked_until else "active")
        where = f"tenant:{a.tenant}" if a.tenant else "global"
        click.echo(f"{a.name:<32} {a.role.value:<9} {where:<24} {state}")
    click.echo(f"{len(accounts)} accounts", err=True)


@staff.command(name="disable")
@click.argument("name")
@click.pass_context
def staff_disable(ctx: click.Context, name: str) -> None:
    """Disable NAME: no more sign-ins, no more changes (its history stays)."""
    from storage.staff import StaffError

    try:
        services_of(ctx).staff.disable(name)
    except StaffError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"disabled {name}")


@staff.command(name="password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.pass_context
def staff_password(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set a new password for NAME (also lifts a lock-out and ends its console sessions)."""
    from storage.staff import StaffError

    try:
        services_of(ctx).staff.set_password(name, _password(password_stdin))
    except StaffError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"new password set for {name}")


@staff.command(name="signins")
@click.argument("name", required=False)
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
@click.pass_context
def staff_signins(ctx: click.Context, name: str | None, limit: int) -> None:
    """The latest sign-in attempts (of NAME, or everyone), newest first: when, who, how,
    and the outcome (ok, wrong_password, locked, disabled, unknown_account)."""
    for entry in services_of(ctx).staff.sign_ins(name, limit):
        at = entry["at"]
        when = at.strftime("%Y-%m-%d %H:%M:%S") if hasattr(at, "strftime") else str(at)
        click.echo(f"{when}  {entry['name']!s:<32} {entry['via']!s:<8} {entry['outcome']}")
