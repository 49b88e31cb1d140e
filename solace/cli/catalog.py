"""``solace catalog ...``: the editors' command line.

Every change goes through the store's one ownership and review rule
(``content_catalog.access``), the same as the editor API. ``--actor NAME`` names a staff account
(``solace staff add``), which must exist and be active: its role decides the reviewer
right and its tenant whose staff it is, and the audit trail records its name. Without
``--actor`` the caller is the unnamed operator ``cli``, with no reviewer right: approving,
rejecting and changing crisis lines always name a checked person. A global account (and
the operator) acts as global staff, unless ``--tenant T`` makes it that tenant's staff.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from content_catalog.access import Actor
from content_catalog.io import FORMATS, CatalogFileError, read_catalog_records, write_catalog
from content_catalog.publish import publish_catalog
from solace.jobs import encoder_for
from solace.services import Services


def _services(ctx: click.Context) -> Services:
    return ctx.find_root().obj["services"]


def _actor(ctx: click.Context, actor: str | None, reviewer: bool, tenant: str | None) -> Actor:
    """The checked staff account ``actor`` (or the unnamed operator) as a catalog actor."""
    from core.ids import TENANT_PATTERN
    from storage.staff import StaffError

    if tenant is not None and not re.match(TENANT_PATTERN, tenant):
        raise click.BadParameter("lowercase letters, digits, '-' and '_' (max 64)", param_hint="--tenant")
    if actor is None:
        if reviewer:
            raise click.BadParameter("the reviewer right comes from a staff account: name it with --actor NAME",
                                     param_hint="--reviewer")
        return Actor.operator("cli", tenant=tenant)
    try:
        account = _services(ctx).staff.active(actor)
    except StaffError as exc:
        raise click.BadParameter(str(exc), param_hint="--actor") from None
    if reviewer and not account.reviewer:
        raise click.BadParameter(f"{actor} is an {account.role.value}, without the reviewer right",
                                 param_hint="--reviewer")
    if account.tenant is None:
        return Actor.operator(account.name, reviewer=account.reviewer, tenant=tenant)
    if tenant not in (None, account.tenant):
        raise click.BadParameter(f"{actor} is staff of tenant {account.tenant}, not {tenant}", param_hint="--tenant")
    return Actor.for_staff(account)


ACTOR_OPTION = click.option(
    "--actor", default=None,
    help="Your staff account (solace staff add): recorded in the audit log; its role gives the reviewer right. "
         "Default: the unnamed operator cli, without the reviewer right.")
REVIEWER_OPTION = click.option(
    "--reviewer", is_flag=True,
    help="Check that the --actor account holds the reviewer right (its role decides).")
TENANT_OPTION = click.option(
    "--tenant", default=None,
    help="Act as this tenant's staff: add and change its private resources. Default: global staff.")


@click.group()
def catalog() -> None:
    """Import, export, list and inspect catalog resources."""


@catalog.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None, help="Default: from the file name.")
@click.option("--dry-run", is_flag=True, help="Validate only; write nothing.")
@click.option("--approve", is_flag=True,
              help="As a reviewer (--actor NAME --reviewer): approve what others wrote and the file repeats; "
                   "this import's own new and changed records go to review for a second reviewer "
                   "(solace catalog approve-pending).")
@ACTOR_OPTION
@REVIEWER_OPTION
@TENANT_OPTION
@click.pass_context
def import_cmd(ctx: click.Context, file: Path, fmt: str | None, dry_run: bool, approve: bool,
               actor: str | None, reviewer: bool, tenant: str | None) -> None:
    """Import FILE (all or nothing; upsert by id; unchanged records untouched).

    The file's status, reviewed_by and reviewed_at are ignored: new and changed records
    land as drafts, or back in review when approved before. Nobody approves their own
    changes, an import's included: with --approve they go to review, and a second
    reviewer approves them (`solace catalog approve-pending --actor OTHER --reviewer`).
    """
    from content_catalog.store import ImportRejected

    if approve and not reviewer:
        raise click.ClickException("--approve needs the reviewer right: add --reviewer (and --actor NAME)")
    if approve and not actor:
        raise click.ClickException("--approve records who approved: add --actor NAME")
    who = _actor(ctx, actor, reviewer, tenant)
    try:
        records = read_catalog_records(file, fmt)
    except CatalogFileError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(str(exc)) from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if dry_run:
        click.echo(f"{file}: {len(records)} valid records (dry run: nothing written)")
        return
    services = _services(ctx)
    try:
        counts = services.catalog.import_resources([r for _n, r in records], who, approve=approve)
    except ImportRejected as exc:
        for index, field, reason in exc.problems:
            click.echo(f"{file}: record {records[index][0]}: {field}: {reason}", err=True)
        raise click.ClickException(str(exc)) from None
    publish_catalog(services.catalog, services.redis, services.keys, encoder_for(services))
    approved = f", {counts['approved']} approved" if approve else ""
    click.echo(f"{file}: {counts['created']} created, {counts['updated']} updated, "
               f"{counts['unchanged']} unchanged{approved}")
    if counts["sent_to_review"]:
        click.echo(f"{counts['sent_to_review']} sent to review: nobody approves their own changes; a second "
                   "reviewer approves them with `solace catalog approve-pending --actor NAME --reviewer`")


@catalog.command(name="export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None, help="Default: from FILE, else json.")
@click.pass_context
def export_cmd(ctx: click.Context, file: Path | None, fmt: str | None) -> None:
    """Export every resource to FILE (stdout without FILE)."""
    if fmt is None:
        from content_catalog.io import format_of

        fmt = format_of(file) if file else "json"
    resources = [s.resource for s in _services(ctx).catalog.iter_all()]
    text = write_catalog(resources, fmt)
    if file is None:
        sys.stdout.write(text)
    else:
        with file.open("w", encoding="utf-8", newline="") as fh:  # exact bytes, CRLF kept in CSV
            fh.write(text)
        click.echo(f"wrote {len(resources)} resources to {file}", err=True)


@catalog.command(name="list")
@click.option("--type", "rtype", type=click.Choice(["article", "exercise", "group"]), default=None)
@click.option("--topic", default=None)
@click.option("--status", type=click.Choice(["draft", "in_review", "approved", "retired"]), default=None)
@click.option("--locale", default=None)
@click.pass_context
def list_cmd(ctx: click.Context, rtype: str | None, topic: str | None, status: str | None, locale: str | None) -> None:
    """List resources, optionally filtered; the last column is the owner (global or a tenant)."""
    n = 0
    for stored in _services(ctx).catalog.iter_all():
        r = stored.resource
        if rtype and r.type != rtype or status and r.status != status:
            continue
        if topic and topic not in r.topics:
            continue
        if locale and not any(loc.split("-")[0] == locale.split("-")[0] for loc in r.locales):
            continue
        n += 1
        owner = f"tenant:{stored.owner_tenant}" if stored.owner_tenant else "global"
        click.echo(f"{r.id:<48} {r.type:<9} {r.status:<10} {','.join(r.topics)}  {owner}")
    click.echo(f"{n} resources", err=True)


@catalog.command(name="show")
@click.argument("resource_id")
@click.pass_context
def show_cmd(ctx: click.Context, resource_id: str) -> None:
    """Show one resource as JSON."""
    stored = _services(ctx).catalog.get(resource_id)
    if stored is None:
        raise click.ClickException(f"no resource {resource_id!r}")
    out = stored.resource.model_dump(mode="json", exclude_none=True)
    out["_version"] = stored.version
    out["_owner_tenant"] = stored.owner_tenant
    click.echo(json.dumps(out, indent=2, ensure_ascii=False))


@catalog.command(name="history")
@click.argument("resource_id")
@click.pass_context
def history_cmd(ctx: click.Context, resource_id: str) -> None:
    """The audit trail of one resource: when, who, what, and each changed field's old and
    new value (indented below its line), with a reviewer's comment."""
    services = _services(ctx)
    if services.catalog.get(resource_id) is None:
        raise click.ClickException(f"no resource {resource_id!r}")
    for entry in services.catalog.history(resource_id):
        fields = ", ".join(entry["changes"])
        click.echo(f"{entry['at'][:19]}  {entry['actor']:<16} {entry['action']:<8} {fields}")
        if entry["comment"]:
            click.echo(f"    comment: {entry['comment']}")
        if entry["action"] == "create":
            continue  # every field is new: `catalog show` prints them
        for name, change in entry["changes"].items():
            if isinstance(change, dict) and {"old", "new"} <= set(change):
                click.echo(f"    {name}: {_short(change['old'])} -> {_short(change['new'])}")
            else:  # an entry of another kind (a flag's reasons and evidence)
                click.echo(f"    {name}: {_short(change)}")


def _short(value: object, limit: int = 120) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fail_on_workflow(exc: Exception) -> click.ClickException:
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err["loc"]) or "-"
        return click.ClickException(f"{field}: {err['msg'].removeprefix('Value error, ')}")
    return click.ClickException(str(exc))


def _after_change(ctx: click.Context) -> None:
    services = _services(ctx)
    publish_catalog(services.catalog, services.redis, services.keys, encoder_for(services))


@catalog.command(name="add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@ACTOR_OPTION
@TENANT_OPTION
@click.pass_context
def add_cmd(ctx: click.Context, file: Path, actor: str | None, tenant: str | None) -> None:
    """Add the resources of FILE as new drafts (each must have a new id)."""
    from content_catalog.store import CatalogError

    who = _actor(ctx, actor, False, tenant)
    try:
        records = read_catalog_records(file)
    except CatalogFileError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(str(exc)) from None
    store = _services(ctx).catalog
    for _n, r in records:
        try:
            store.create(r, who)
        except CatalogError as exc:
            raise _fail_on_workflow(exc) from None
        click.echo(f"added {r.id} as a draft")


@catalog.command(name="edit")
@click.argument("resource_id")
@click.option("--set", "assignments", multiple=True, metavar="FIELD=VALUE",
              help="A field to change; VALUE is JSON when it parses as JSON (lists, numbers).")
@click.option("--expect-version", type=int, default=None, help="Refuse if someone changed it since.")
@ACTOR_OPTION
@REVIEWER_OPTION
@TENANT_OPTION
@click.pass_context
def edit_cmd(ctx: click.Context, resource_id: str, assignments: tuple[str, ...],
             expect_version: int | None, actor: str | None, reviewer: bool, tenant: str | None) -> None:
    """Change fields of a resource. Any change but tags sends approved content back to review."""
    from pydantic import ValidationError

    from content_catalog.store import CatalogError

    who = _actor(ctx, actor, reviewer, tenant)
    changes: dict[str, object] = {}
    for item in assignments:
        name, sep, raw = item.partition("=")
        if not sep:
            raise click.BadParameter(f"{item!r}: use FIELD=VALUE", param_hint="--set")
        try:
            changes[name] = json.loads(raw)
        except json.JSONDecodeError:
            changes[name] = raw
    if not changes:
        raise click.UsageError("nothing to change: give at least one --set FIELD=VALUE")
    try:
        stored = _services(ctx).catalog.edit(resource_id, changes, who, expect_version)
    except (CatalogError, ValidationError) as exc:
        raise _fail_on_workflow(exc) from None
    _after_change(ctx)
    click.echo(f"{resource_id}: version {stored.version}, status {stored.resource.status}")


@catalog.command(name="review")
@click.argument("resource_id")
@click.option("--action", type=click.Choice(["submit", "approve", "reject", "retire", "unretire"]), required=True)
@click.option("--actor", required=True, help="Your staff account (recorded in the audit log).")
@click.option("--comment", default=None, help="What the author should read; a rejection needs one.")
@REVIEWER_OPTION
@TENANT_OPTION
@click.pass_context
def review_cmd(ctx: click.Context, resource_id: str, action: str, actor: str, comment: str | None,
               reviewer: bool, tenant: str | None) -> None:
    """Move a resource through review: submit, approve (reviewers only, never the person
    who last changed the content), reject (reviewers only, with --comment), retire, or
    unretire (back to review: served again only once a reviewer approves it)."""
    from content_catalog.store import CatalogError

    who = _actor(ctx, actor, reviewer, tenant)
    try:
        stored = _services(ctx).catalog.review(resource_id, action, who, comment=comment)
    except CatalogError as exc:
        raise _fail_on_workflow(exc) from None
    _after_change(ctx)
    click.echo(f"{resource_id}: {stored.resource.status}")


@catalog.command(name="approve-pending")
@click.option("--actor", required=True, help="Your staff account, with the reviewer right (recorded as the reviewer).")
@click.option("--comment", default=None, help="Recorded with each approval in the audit trail.")
@REVIEWER_OPTION
@TENANT_OPTION
@click.pass_context
def approve_pending_cmd(ctx: click.Context, actor: str, comment: str | None, reviewer: bool,
                        tenant: str | None) -> None:
    """Approve everything in review that you may approve: the second pair of eyes on an
    import. What you last changed yourself stays in review, listed with the reason."""
    from content_catalog.store import CatalogError

    if not reviewer:
        raise click.BadParameter("approving needs the reviewer right: add --reviewer", param_hint="--reviewer")
    who = _actor(ctx, actor, reviewer, tenant)
    try:
        done, left = _services(ctx).catalog.approve_pending(who, comment=comment)
    except CatalogError as exc:
        raise _fail_on_workflow(exc) from None
    if done:
        _after_change(ctx)
    click.echo(f"{len(done)} approved, {len(left)} left in review")
    for rid, why in sorted(left.items()):
        click.echo(f"  {rid}: {why}")


@catalog.command(name="retire")
@click.argument("resource_id")
@ACTOR_OPTION
@REVIEWER_OPTION
@TENANT_OPTION
@click.pass_context
def retire_cmd(ctx: click.Context, resource_id: str, actor: str | None, reviewer: bool, tenant: str | None) -> None:
    """Stop serving a resource at once (it stays in the catalog and its history).
    Retiring a crisis line needs --reviewer."""
    from content_catalog.store import CatalogError

    who = _actor(ctx, actor, reviewer, tenant)
    try:
        _services(ctx).catalog.review(resource_id, "retire", who)
    except CatalogError as exc:
        raise _fail_on_workflow(exc) from None
    _after_change(ctx)
    click.echo(f"{resource_id}: retired")
