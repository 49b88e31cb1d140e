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


@analytics.command(name="flags")
@click.option("--tenant", default=None)
@click.option("--since", callback=_day, default=None, help="First day counted (UTC), YYYY-MM-DD.")
@click.pass_context
def flags(ctx: click.Context, tenant: str | None, since: date | None) -> None:
    """Resources whose evidence says they need clinical review, and why."""
    from analytics.report import resource_figures

    flagged = [r for r in resource_figures(services_of(ctx).engine, tenant, since) if r.flags]
    if not flagged:
        click.echo(f"no resource is flagged ({datetime.now().date().isoformat()})")
    for row in flagged:
        for reason in row.flags:
            click.echo(f"{row.resource_id}: {reason}")
