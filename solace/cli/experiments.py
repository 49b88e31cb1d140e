"""``solace experiments``: create, start, stop and read experiments between model versions."""

from __future__ import annotations

import json

import click

from solace.cli.common import TENANT_OPTION, check_tenant, services_of
from storage.experiments import ArmSpec, ExperimentRecord


def _service(ctx: click.Context):  # type: ignore[no-untyped-def]  # serving is imported only when used
    from serving.experiments import ExperimentService

    s = services_of(ctx)
    return ExperimentService(s.engine, s.redis, s.keys, s.registry)


def _arm(raw: str) -> ArmSpec:
    """``NAME=VERSION[:SHARE][:topic=CAP]``."""
    name, sep, rest = raw.partition("=")
    if not sep or not name or not rest:
        raise click.BadParameter(f"{raw!r}: use NAME=VERSION[:SHARE][:topic=CAP]", param_hint="--arm")
    parts = rest.split(":")
    version, share, cap = parts[0], 1.0, None
    for part in parts[1:]:
        try:
            if part.startswith("topic="):
                cap = float(part.removeprefix("topic="))
            else:
                share = float(part)
        except ValueError:
            raise click.BadParameter(f"{raw!r}: {part!r} is not a number", param_hint="--arm") from None
    return ArmSpec(name, version, share, cap)


def _show(record: ExperimentRecord) -> str:
    arms = ", ".join(f"{a.name}={a.model_version} share {a.share:g}"
                     + (f" topic cap {a.max_topic_share:g}" if a.max_topic_share is not None else "")
                     for a in record.arms)
    extra = f" ({record.stop_reason})" if record.stop_reason else ""
    return f"{record.experiment_id}: {record.status}{extra}; arms {arms}; control {record.control.name}"


def _run(fn, *args):
    from serving.experiments import ExperimentNotFound

    try:
        return fn(*args)
    except ExperimentNotFound as exc:
        raise click.ClickException(str(exc.args[0])) from None
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def experiments() -> None:
    """Experiments between model versions and topic-cap variants, one running per tenant."""


@experiments.command(name="create")
@click.argument("experiment_id")
@TENANT_OPTION
@click.option("--arm", "arms", multiple=True, required=True,
              help="NAME=VERSION[:SHARE][:topic=CAP], given twice or more; the first is control.")
@click.option("--description", default="", help="What the experiment tests (at most 200 characters).")
@click.pass_context
def create(ctx: click.Context, experiment_id: str, tenant: str, arms: tuple[str, ...], description: str) -> None:
    """Create a draft experiment (nothing changes until it is started)."""
    record = _run(_service(ctx).create, check_tenant(tenant), experiment_id, [_arm(a) for a in arms], description)
    click.echo(_show(record))


@experiments.command(name="start")
@click.argument("experiment_id")
@TENANT_OPTION
@click.pass_context
def start(ctx: click.Context, experiment_id: str, tenant: str) -> None:
    """Start a draft: its arms' versions go live beside the active one."""
    click.echo(_show(_run(_service(ctx).start, check_tenant(tenant), experiment_id)))


@experiments.command(name="stop")
@click.argument("experiment_id")
@TENANT_OPTION
@click.option("--reason", default="stopped by an admin", show_default=True)
@click.pass_context
def stop(ctx: click.Context, experiment_id: str, tenant: str, reason: str) -> None:
    """Stop it: everyone is served the active model again."""
    click.echo(_show(_run(_service(ctx).stop, check_tenant(tenant), experiment_id, reason)))


@experiments.command(name="list")
@TENANT_OPTION
@click.pass_context
def list_cmd(ctx: click.Context, tenant: str) -> None:
    """The tenant's experiments, oldest first."""
    records = _service(ctx).list(check_tenant(tenant))
    if not records:
        click.echo("no experiments yet")
    for record in records:
        click.echo(_show(record))


@experiments.command(name="show")
@click.argument("experiment_id")
@TENANT_OPTION
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.pass_context
def show(ctx: click.Context, experiment_id: str, tenant: str, fmt: str) -> None:
    """Results per arm against control (always-valid p-values: safe to look every day), the
    sample-ratio check and the guardrail (reading a harmful arm's results stops it)."""
    body = _run(_service(ctx).read, check_tenant(tenant), experiment_id)
    if fmt == "json":
        click.echo(json.dumps(body, indent=2))
        return
    click.echo(f"{body['experiment_id']}: {body['status']}"
               + (f" ({body['stop_reason']})" if body.get("stop_reason") else "") + f"; {body['test']}")
    srm = body["sample_ratio"]
    click.echo(f"sample ratio p = {srm['p_value']:.4f}" + ("  MISMATCH: check assignment and logging" if srm["mismatch"] else ""))
    for arm in body["arms"]:
        f = arm["figures"]
        helpful = f["helpful_rate"]
        click.echo(f"  {arm['name']:<12} users {arm['users']:>7}  impressions {f['impressions']:>8}  helpful "
                   f"{helpful['estimate']:.3f} [{helpful['low']:.3f}, {helpful['high']:.3f}]")
        for row in arm.get("against_control", []):
            d = row["difference"]
            mark = "  significant" if row["significant"] else ""
            click.echo(f"      {row['metric']:<20} diff {d['estimate']:+.4f} [{d['low']:+.4f}, {d['high']:+.4f}] "
                       f"p {row['p_value']:.4f}{mark}")
