"""``solace catalog ...``: the editors' command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from content_catalog.io import FORMATS, CatalogFileError, read_catalog_file, write_catalog
from content_catalog.publish import publish_catalog
from solace.jobs import encoder_for


def _services(ctx: click.Context):  # type: ignore[no-untyped-def]
    return ctx.find_root().obj["services"]


@click.group()
def catalog() -> None:
    """Import, export, list and inspect catalog resources."""


@catalog.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None, help="Default: from the file name.")
@click.option("--dry-run", is_flag=True, help="Validate only; write nothing.")
@click.option("--actor", default="cli", show_default=True, help="Who is importing (for the audit log).")
@click.pass_context
def import_cmd(ctx: click.Context, file: Path, fmt: str | None, dry_run: bool, actor: str) -> None:
    """Import FILE (all or nothing; upsert by id; unchanged records untouched)."""
    try:
        resources = read_catalog_file(file, fmt)
    except CatalogFileError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(str(exc)) from None
    if dry_run:
        click.echo(f"{file}: {len(resources)} valid records (dry run: nothing written)")
        return
    services = _services(ctx)
    counts = services.catalog.upsert_many(resources, actor=actor)
    publish_catalog(services.catalog, services.redis, services.keys, encoder_for(services))
    click.echo(f"{file}: {counts['created']} created, {counts['updated']} updated, {counts['unchanged']} unchanged")


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
        file.write_text(text, encoding="utf-8")
        click.echo(f"wrote {len(resources)} resources to {file}", err=True)


@catalog.command(name="list")
@click.option("--type", "rtype", type=click.Choice(["article", "exercise", "group"]), default=None)
@click.option("--topic", default=None)
@click.option("--status", type=click.Choice(["draft", "in_review", "approved", "retired"]), default=None)
@click.option("--locale", default=None)
@click.pass_context
def list_cmd(ctx: click.Context, rtype: str | None, topic: str | None, status: str | None, locale: str | None) -> None:
    """List resources, optionally filtered."""
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
        click.echo(f"{r.id:<48} {r.type:<9} {r.status:<10} {','.join(r.topics)}")
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
    click.echo(json.dumps(out, indent=2, ensure_ascii=False))


@catalog.command(name="history")
@click.argument("resource_id")
@click.pass_context
def history_cmd(ctx: click.Context, resource_id: str) -> None:
    """The audit trail of one resource."""
    services = _services(ctx)
    if services.catalog.get(resource_id) is None:
        raise click.ClickException(f"no resource {resource_id!r}")
    for entry in services.catalog.history(resource_id):
        fields = ", ".join(entry["changes"])
        click.echo(f"{entry['at'][:19]}  {entry['actor']:<16} {entry['action']:<8} {fields}")


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
@click.option("--actor", default="cli", show_default=True)
@click.pass_context
def add_cmd(ctx: click.Context, file: Path, actor: str) -> None:
    """Add the resources of FILE as new drafts (each must have a new id)."""
    from content_catalog.store import CatalogError

    try:
        resources = read_catalog_file(file)
    except CatalogFileError as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(str(exc)) from None
    store = _services(ctx).catalog
    for r in resources:
        try:
            store.create(r, actor)
        except CatalogError as exc:
            raise _fail_on_workflow(exc) from None
        click.echo(f"added {r.id} as a draft")


@catalog.command(name="edit")
@click.argument("resource_id")
@click.option("--set", "assignments", multiple=True, metavar="FIELD=VALUE",
              help="A field to change; VALUE is JSON when it parses as JSON (lists, numbers).")
@click.option("--expect-version", type=int, default=None, help="Refuse if someone changed it since.")
@click.option("--actor", default="cli", show_default=True)
@click.pass_context
def edit_cmd(ctx: click.Context, resource_id: str, assignments: tuple[str, ...],
             expect_version: int | None, actor: str) -> None:
    """Change fields of a resource. Clinical edits of approved content go back to review."""
    from pydantic import ValidationError

    from content_catalog.store import CatalogError

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
        stored = _services(ctx).catalog.edit(resource_id, changes, actor, expect_version)
    except (CatalogError, ValidationError) as exc:
        raise _fail_on_workflow(exc) from None
    _after_change(ctx)
    click.echo(f"{resource_id}: version {stored.version}, status {stored.resource.status}")


@catalog.command(name="review")
@click.argument("resource_id")
@click.option("--action", type=click.Choice(["submit", "approve", "reject"]), required=True)
@click.option("--actor", required=True, help="The editor or reviewer (recorded in the audit log).")
@click.option("--reviewer", is_flag=True, help="Assert the actor holds the reviewer right (needed to approve).")
@click.pass_context
def review_cmd(ctx: click.Context, resource_id: str, action: str, actor: str, reviewer: bool) -> None:
    """Move a resource through review: submit, approve (reviewers only) or reject."""
    from content_catalog.store import CatalogError

    try:
        stored = _services(ctx).catalog.review(resource_id, action, actor, can_approve=reviewer)
    except (CatalogError, PermissionError) as exc:
        raise _fail_on_workflow(exc) from None
    _after_change(ctx)
    click.echo(f"{resource_id}: {stored.resource.status}")


@catalog.command(name="retire")
@click.argument("resource_id")
@click.option("--actor", default="cli", show_default=True)
@click.pass_context
def retire_cmd(ctx: click.Context, resource_id: str, actor: str) -> None:
    """Stop serving a resource at once (it stays in the catalog and its history)."""
    from content_catalog.store import CatalogError

    try:
        _services(ctx).catalog.review(resource_id, "retire", actor)
    except CatalogError as exc:
        raise _fail_on_workflow(exc) from None
    _after_change(ctx)
    click.echo(f"{resource_id}: retired")
