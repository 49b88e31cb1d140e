"""Running Solace: the quick start, the API server, the OpenAPI document and rebuilding Redis."""

from __future__ import annotations

import os
import sys

import json
from pathlib import Path

import click

from solace.cli.common import check_can_bind, services_of


@click.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="Port to serve the API on.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--no-serve", is_flag=True, help="Stop after publishing (do not start the API).")
@click.option("--users", "n_users", type=click.IntRange(1, 1_000_000), default=600, show_default=True, help="Simulated users.")
@click.pass_context
def quickstart(ctx: click.Context, port: int, host: str, no_serve: bool, n_users: int) -> None:
    """Load the seed catalog, simulate a history, embed, train, publish and serve."""
    from solace.quickstart import run_quickstart

    services = services_of(ctx)
    if not no_serve:
        check_can_bind(host, port)  # before the offline part, not after it
    click.echo(f"Solace quick start in {services.settings.home} (embedded defaults unless configured)")
    result = run_quickstart(services, n_users=n_users, say=click.echo)
    click.echo(f"\nOffline part done in {result.seconds:.0f} s: model {result.version}")
    click.echo(
        f"Example SIMULATED user {result.example_user} has simulated needs: "
        f"{', '.join(result.example_needs)}"
    )
    curl = (
        f"curl -s -H 'Authorization: Bearer {result.api_key}' "
        f"'http://{host}:{port}/v1/users/{result.example_user}/recommendations?k=5'"
    )
    click.echo(f"\nTry it:\n  {curl}\n")
    click.echo(f"API docs: http://{host}:{port}/docs   (the demo key is kept in {services.settings.home / 'demo_api_key'})")
    click.echo(f"Console:  http://{host}:{port}/console   (for editors and reviewers; make your account first: "
               "solace staff add NAME --role admin)")
    if no_serve:
        return
    click.echo(f"Serving on http://{host}:{port} (Ctrl-C to stop)")
    sys.stdout.flush()
    # A fresh process, as `solace serve`: this one has loaded the encoder's thread pools and
    # opened the embedded stores, which gunicorn's forked workers must not inherit (its
    # server did not answer when started from here).
    os.execv(sys.executable, [sys.executable, "-m", "solace.cli", "serve", "--host", host, "--port", str(port)])




@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="gunicorn worker processes.")
@click.option("--threads", type=click.IntRange(1, 64), default=4, show_default=True,
              help="Threads per worker (gthread: keep-alive, and numpy releases the GIL).")
@click.option("--server", type=click.Choice(["gunicorn", "granian"]), default="gunicorn", show_default=True,
              help="The WSGI server (bench/README.md compares them; granian answers a request too "
                   "malformed to parse with a bare 400).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, workers: int, threads: int, server: str) -> None:
    """Serve the HTTP API with gunicorn (or granian)."""
    from solace.serve import serve as run_server

    settings = services_of(ctx).settings
    check_can_bind(host, port)
    click.echo(f"Serving on http://{host}:{port} ({server}, {workers} workers x {threads} threads; "
               f"API docs at /docs; Ctrl-C to stop)", err=True)
    run_server(settings, host=host, port=port, workers=workers, threads=threads, server=server)
    click.echo("Stopped.", err=True)




@click.command(name="openapi")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path), required=False)
def openapi_cmd(file: Path | None) -> None:
    """Write the API's OpenAPI 3 document to FILE (stdout without FILE)."""
    from serving.app import build_openapi

    text = json.dumps(build_openapi(), indent=2)
    if file is None:
        click.echo(text)
    else:
        file.write_text(text + "\n", encoding="utf-8")


@click.command(name="restore")
@click.pass_context
def restore_cmd(ctx: click.Context) -> None:
    """Rebuild Redis from SQL and the model registry (serving does this by itself when it
    finds Redis emptied; run it after restoring Redis from an old snapshot)."""
    from serving.recovery import restore_redis

    restore_redis(services_of(ctx), say=click.echo)

