"""``solace analytics``: what the outcome figures say, per resource, in a table, CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime

import click

from solace.cli.common import services_of

FORMATS = click.Choice(["table", "csv", "json"])


def _day(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: use a day as YYYY-MM-DD") from None


@click.group()
def analytics() -> None:
    """Outcome figures per resource (kept up to date as events arrive)."""


@analytics.command(name="resources")
@click.option("--tenant", default=None, help="One tenant's figures (default: every tenant).")
@click.option("--since", callback=_day, default=None, help="First day counted (UTC), YYYY-MM-DD.")
@click.option("--until", callback=_day, default=None, help="Last day counted (UTC), YYYY-MM-DD.")
@click.option("--format", "fmt", type=FORMATS, default="table", show_default=True)
@click.pass_context
def resources(ctx: click.Context, tenant: str | None, since: date | None, until: date | None, fmt: str) -> None:
    """Impressions, completions and the completion, helpful, dismiss and content-report
    rates with 95% intervals, and why a resource is flagged for review."""
    from analytics.report import resource_figures

    rows = [r.as_json() for r in resource_figures(services_of(ctx).engine, tenant, since, until)]
    if fmt == "json":
        click.echo(json.dumps({"tenant": tenant, "since": since and since.isoformat(),
                               "until": until and until.isoformat(), "resources": rows}, indent=2))
        return
    rates = ("completion_rate", "helpful_rate", "dismiss_rate", "content_report_rate")
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["resource_id", "impressions", "starts", "completions",
                         *(f"{r}_{p}" for r in rates for p in ("estimate", "low", "high")), "flags"])
        for row in rows:
            writer.writerow([row["resource_id"], row["impressions"], row["starts"], row["completions"],
                             *(row[r][p] for r in rates for p in ("estimate", "low", "high")), "; ".join(row["flags"])])
        click.echo(out.getvalue(), nl=False)
        return
    if not rows:
        click.echo("no outcomes in this window yet")
        return
    click.echo(f"{'resource':<44} {'impr.':>7} {'compl.':>13} {'helpful':>13} {'reports':>13}  flags")
    for row in rows:
        def rate(name: str) -> str:
            r = row[name]
            return f"{r['estimate']:.0%} ({r['low']:.0%}-{r['high']:.0%})"

        click.echo(f"{row['resource_id']:<44} {row['impressions']:>7} {rate('completion_rate'):>13} "
                   f"{rate('helpful_rate'):>13} {rate('content_report_rate'):>13}  {len(row['flags']) or ''}")


@analytics.group(name="flags", invoke_without_command=True)
@click.option("--tenant", default=None, help="Evidence of one tenant only (default: every tenant).")
@click.option("--since", callback=_day, default=None, help="First day counted (UTC), YYYY-MM-DD.")
@click.option("--all", "show_all", is_flag=True, help="Also flags a reviewer has decided.")
@click.pass_context
def flags(ctx: click.Context, tenant: str | None, since: date | None, show_all: bool) -> None:
    """Resources that outcomes sent back to clinical review (open flags, with the evidence),
    then what the evidence says now for resources not flagged yet."""
    if ctx.invoked_subcommand is not None:
        return
    from analytics.report import resource_figures
    from content_catalog.flags import FlagStore

    engine = services_of(ctx).engine
    recorded = FlagStore(engine).all(None if show_all else "open")
    for flag in recorded:
        decided = f"; {flag.status} by {flag.decided_by}: {flag.comment}" if flag.status != "open" else ""
        click.echo(f"{flag.resource_id}: {flag.status} since {flag.opened_at:%Y-%m-%d %H:%M}{decided}")
        for reason in flag.reasons:
            click.echo(f"    {reason}")
    known = {f.resource_id for f in recorded}
    crossing = [r for r in resource_figures(engine, tenant, since) if r.flags and r.resource_id not in known]
    for row in crossing:
        for reason in row.flags:
            click.echo(f"{row.resource_id}: not flagged yet (run `solace analytics flags check`): {reason}")
    if not recorded and not crossing:
        click.echo(f"no resource is flagged ({datetime.now().date().isoformat()})")


@flags.command(name="check")
@click.option("--window-days", type=click.IntRange(1, 3650), default=90, show_default=True)
@click.pass_context
def flags_check(ctx: click.Context, window_days: int) -> None:
    """Open a flag on every resource whose evidence crosses the rule (serving does this as
    outcome events arrive); tenants that pause flagged resources stop serving them."""
    from analytics.flags import check_resources

    s = services_of(ctx)
    opened = check_resources(s.engine, s.redis, s.keys, window_days=window_days)
    for flag in opened:
        click.echo(f"flagged {flag.resource_id}: {'; '.join(flag.reasons)}")
    if not opened:
        click.echo("no new flag")


@flags.command(name="decide")
@click.argument("resource_id")
@click.option("--decision", type=click.Choice(["kept", "retired"]), required=True)
@click.option("--actor", required=True, help="The reviewer's staff account.")
@click.option("--comment", required=True, help="What the evidence showed and why this decision.")
@click.option("--tenant", default=None, help="For a tenant's private resource: that tenant.")
@click.pass_context
def flags_decide(ctx: click.Context, resource_id: str, decision: str, actor: str, comment: str,
                 tenant: str | None) -> None:
    """A reviewer's decision on an open flag: keep the resource (the pause lifts) or retire it."""
    from analytics.flags import decide
    from content_catalog.access import CatalogError
    from solace.cli.catalog import _actor

    s = services_of(ctx)
    who = _actor(ctx, actor, True, tenant)
    try:
        flag = decide(s.engine, s.redis, s.keys, resource_id, decision, who, comment)
    except CatalogError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{flag.resource_id}: {flag.status} by {flag.decided_by}")
