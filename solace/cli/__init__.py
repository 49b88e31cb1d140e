"""The ``solace`` command line: one entry point for operators, editors and data scientists.

Every failure is one clear line on stderr and a non-zero exit; ``SOLACE_LOG_LEVEL=DEBUG``
adds the traceback.
"""

from __future__ import annotations

import sys
import traceback

import click
from pydantic import ValidationError

from core.config import load_settings
from solace.services import Services

# Every command, by name: the module that defines it and its name there. A command's module
# is imported only when that command runs (or --help lists them all), so `solace analytics
# resources` does not pay for training's imports (numpy, scipy, the model libraries).
COMMANDS: dict[str, tuple[str, str]] = {
    "quickstart": ("solace.cli.run", "quickstart"),
    "serve": ("solace.cli.run", "serve"),
    "openapi": ("solace.cli.run", "openapi_cmd"),
    "embed": ("solace.cli.models", "embed"),
    "train": ("solace.cli.models", "train"),
    "publish": ("solace.cli.models", "publish_cmd"),
    "restore": ("solace.cli.run", "restore_cmd"),
    "models": ("solace.cli.models", "models"),
    "keys": ("solace.cli.admin", "keys"),
    "tenants": ("solace.cli.admin", "tenants"),
    "events": ("solace.cli.admin", "events"),
    "users": ("solace.cli.admin", "users"),
    "safety": ("solace.safety_cli", "safety"),
    "catalog": ("solace.cli.catalog", "catalog"),
    "evaluate": ("solace.cli.evaluate", "evaluate"),
    "tune": ("solace.cli.evaluate", "tune"),
    "analytics": ("solace.cli.analytics", "analytics"),
    "staff": ("solace.cli.staff", "staff"),
    "experiments": ("solace.cli.experiments", "experiments"),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (click's documented pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        import importlib

        module, attr = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{module}.{attr} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="solace")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Solace: safe, private recommendations of self-help content for social platforms."""
    try:
        settings = load_settings()
    except ValidationError as exc:
        err = exc.errors()[0]
        raise click.ClickException(
            f"configuration: SOLACE_{str(err['loc'][0]).upper()}: {err['msg']}"
        ) from None
    ctx.ensure_object(dict)["services"] = Services(settings)



def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the one place that turns failures into a line
        click.echo(f"Error: {error_message(exc)}", err=True)
        if _debug_requested():
            traceback.print_exc()
        sys.exit(1)


def error_message(exc: BaseException) -> str:
    """One line for an unexpected failure, in the form click gives its own errors.

    ``str(KeyError("no model version 'x'"))`` is the repr of its argument, quotes and all,
    so a lookup error shows its argument instead; an exception without a message (a
    library's bare ``assert``) is named by its type, with where to find more.
    """
    if isinstance(exc, KeyError) and len(exc.args) == 1 and isinstance(exc.args[0], str):
        text = exc.args[0]
    else:
        text = str(exc)
    text = " ".join(text.split())  # one line, whatever the library's message looked like
    import redis

    if isinstance(exc, redis.ConnectionError):
        text += " (Redis: check SOLACE_REDIS_URL, or unset it for the embedded server)"
    if not text:
        text = f"{type(exc).__name__} (no message; SOLACE_LOG_LEVEL=DEBUG shows the traceback)"
    return text


def _debug_requested() -> bool:
    try:
        return load_settings().log_level.upper() == "DEBUG"
    except Exception:  # noqa: BLE001
        return False
