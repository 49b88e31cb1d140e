"""Operating a deployment: API keys, tenant policies, event retention and erasure."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click
from pydantic import ValidationError

from solace.cli.common import TENANT_OPTION, check_tenant, services_of


@click.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command(name="create")
@TENANT_OPTION
@click.option("--role", type=click.Choice(["platform", "editor", "admin"]), default="platform", show_default=True)
@click.option("--reviewer", is_flag=True, help="An editor key that may approve resources.")
@click.option("--global", "global_staff", is_flag=True,
              help="An editor key of global staff: may change the global catalog (else only its tenant's own resources).")
@click.option("--staff", "staff_name", default=None,
              help="The staff account the key acts as (solace staff add): changes are recorded under its name, "
                   "and its role and tenant decide the rights. An editor key without one only reads.")
@click.pass_context
def keys_create(ctx: click.Context, tenant: str, role: str, reviewer: bool, global_staff: bool,
                staff_name: str | None) -> None:
    """Create a key; it is printed once and stored only as a hash."""
    from storage.api_keys import Role
    from storage.staff import StaffError

    if reviewer and role == "platform":
        raise click.BadParameter("only editor or admin keys can hold the reviewer right", param_hint="--reviewer")
    if global_staff and role == "platform":
        raise click.BadParameter("only editor or admin keys can be global staff", param_hint="--global")
    if staff_name is not None:
        if role == "platform":
            raise click.BadParameter("only editor or admin keys act as staff", param_hint="--staff")
        try:
            account = services_of(ctx).staff.active(staff_name)
        except StaffError as exc:
            raise click.BadParameter(str(exc), param_hint="--staff") from None
        if account.tenant is not None and account.tenant != tenant:
            raise click.BadParameter(f"{staff_name} is staff of tenant {account.tenant}, not {tenant}",
                                     param_hint="--staff")
        # the account decides: the flags only describe the key for `keys list`
        reviewer, global_staff = account.reviewer, account.tenant is None
    key, secret = services_of(ctx).api_keys.create(check_tenant(tenant), Role(role), reviewer, global_staff,
                                                   staff=staff_name)
    click.echo(secret)
    click.echo(f"key id {key.key_id} ({key.role.value}, tenant {key.tenant}); store it now: it is not shown again", err=True)


@keys.command(name="list")
@click.option("--tenant", default=None)
@click.pass_context
def keys_list(ctx: click.Context, tenant: str | None) -> None:
    for key in services_of(ctx).api_keys.list(tenant):
        state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
        staff = f"  staff:{key.staff}" if key.staff else ""
        click.echo(f"{key.key_id}  {key.tenant:<20} {key.role.value:<9} {key.created_at:%Y-%m-%d %H:%M}  {state}{staff}")


@keys.command(name="revoke")
@TENANT_OPTION
@click.argument("key_id")
@click.pass_context
def keys_revoke(ctx: click.Context, tenant: str, key_id: str) -> None:
    if not services_of(ctx).api_keys.revoke(tenant, key_id):
        raise click.ClickException(f"no active key {key_id} for tenant {tenant}")
    click.echo(f"revoked {key_id}")


# --------------------------------------------------------------------------- tenants
@click.group()
def tenants() -> None:
    """Per-tenant settings (a stricter safety policy)."""


@tenants.command(name="policy")
@TENANT_OPTION
@click.option("--max-topic-share", type=float, default=None)
@click.option("--max-heavy-share", type=float, default=None)
@click.option("--exclude-topic", "excluded", multiple=True, help="A topic never served to this tenant's users (repeatable).")
@click.option("--treat-all-as-minors/--no-treat-all-as-minors", default=None)
@click.option("--pause-flagged/--no-pause-flagged", default=None,
              help="Stop serving resources their outcomes sent back to review until a reviewer decides.")
@click.option("--mood-checkins/--no-mood-checkins", default=None,
              help="Accept mood check-ins (mood_before / mood_after events with a 1-5 score).")
@click.pass_context
def tenants_policy(ctx: click.Context, tenant: str, max_topic_share: float | None, max_heavy_share: float | None,
                   excluded: tuple[str, ...], treat_all_as_minors: bool | None, pause_flagged: bool | None,
                   mood_checkins: bool | None) -> None:
    """Show the tenant's policy, or change the given settings (stricter only)."""
    from storage.tenants import TenantPolicy, TenantPolicyStore

    s = services_of(ctx)
    store = TenantPolicyStore(s.engine, s.redis, s.keys)
    policy = store.get(check_tenant(tenant)).model_dump(mode="json")
    changes = {"max_topic_share": max_topic_share, "max_heavy_share": max_heavy_share,
               "treat_all_as_minors": treat_all_as_minors, "excluded_topics": list(excluded) or None,
               "pause_flagged": pause_flagged, "mood_checkins": mood_checkins}
    changes = {k: v for k, v in changes.items() if v is not None}
    if changes:
        try:
            new = TenantPolicy.model_validate({**policy, **changes})
        except ValidationError as exc:
            err = exc.errors()[0]
            raise click.BadParameter(err["msg"], param_hint="--" + str(err["loc"][0]).replace("_", "-")) from None
        store.put(tenant, new)
        policy = new.model_dump(mode="json")
    click.echo(json.dumps(policy, indent=2))


# --------------------------------------------------------------------------- events
@click.group()
def events() -> None:
    """The event log (retention)."""


@events.command(name="purge")
@click.option("--older-than-days", type=click.IntRange(min=1), default=None,
              help="Default: SOLACE_EVENT_RETENTION_DAYS (365).")
@click.pass_context
def events_purge(ctx: click.Context, older_than_days: int | None) -> None:
    """Delete events older than the retention period, the per-user state derived from them,
    and the inactive model versions trained on the event log before the cutoff (the active
    one is kept, with a warning to retrain)."""
    from collections import defaultdict

    from solace.jobs import prune_versions_past_retention
    from storage.user_state import sync_user_state

    s = services_of(ctx)
    days = older_than_days or s.settings.event_retention_days
    cutoff = datetime.now(UTC) - timedelta(days=days)
    touched: dict[str, list[str]] = defaultdict(list)
    for tenant, user in s.events.users_with_events_before(cutoff):
        touched[tenant].append(user)
    removed = s.events.purge_before(cutoff)
    # The live state derived from purged events (seen sets, interactions) is rebuilt from
    # what remains, so retention reaches Redis too.
    for tenant, users in touched.items():
        for start in range(0, len(users), 1000):
            chunk = users[start : start + 1000]
            sync_user_state(s.redis, s.keys, tenant, s.events.events_of(tenant, chunk), {}, also_users=chunk)
    click.echo(f"purged {removed} events older than {days} days; rebuilt the state of "
               f"{sum(len(u) for u in touched.values())} users")
    deleted, stale_active = prune_versions_past_retention(s, cutoff)
    click.echo(f"deleted {len(deleted)} model versions trained before the cutoff")
    if stale_active:
        click.echo(f"warning: the active model {stale_active} was trained before the cutoff, on events now "
                   "purged; it is kept so serving goes on: retrain and publish", err=True)


# --------------------------------------------------------------------------- users
@click.group()
def users() -> None:
    """Manage users' data (erasure)."""


@users.command(name="erase")
@click.argument("user_id")
@TENANT_OPTION
@click.pass_context
def users_erase(ctx: click.Context, user_id: str, tenant: str) -> None:
    """Remove every trace of USER_ID of one tenant (SQL and Redis)."""
    from core.ids import opaque_user_id
    from storage.erasure import erase_user

    try:
        opaque_user_id(user_id)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="USER_ID") from None
    s = services_of(ctx)
    report = erase_user(s.settings, s.engine, s.redis, s.keys, check_tenant(tenant), user_id)
    click.echo(f"erased: {report.events} events, {report.profiles} profile, {report.redis_entries} Redis entries, "
               f"vectors in {report.model_versions} stored model versions")
