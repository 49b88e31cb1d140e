"""What the commands share: the services of the run, tenant and parameter checks."""

from __future__ import annotations

import json
import re
from typing import Any

import click

from solace.services import Services


def services_of(ctx: click.Context) -> Services:
    """The services the ``solace`` group built for this run."""
    return ctx.find_root().ensure_object(dict)["services"]


TENANT_OPTION = click.option("--tenant", required=True, help="The platform (tenant) id, e.g. acme.")

PUBLISH_TENANT_OPTION = click.option(
    "--tenant", "publish_tenant", default=None,
    help="For a version trained on files: the platform (tenant) whose users its user ids are.")


def check_tenant(tenant: str) -> str:

    from core.ids import TENANT_PATTERN

    if not re.match(TENANT_PATTERN, tenant):
        raise click.BadParameter("lowercase letters, digits, '-' and '_' (max 64)", param_hint="--tenant")
    return tenant



def parse_params(pairs: tuple[str, ...]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"{pair!r}: use NAME=VALUE", param_hint="--param")
        try:
            params[name] = json.loads(raw)
        except json.JSONDecodeError:
            params[name] = raw
    return params



def check_can_bind(host: str, port: int) -> None:
    """One clear line for a busy port or a bad host, before gunicorn retries the bind and
    prints the same error five times."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise click.BadParameter(f"{host!r} is not an address this machine can listen on ({exc.strerror})",
                                 param_hint="'--host'") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror} "
                                       "(another server on that port? give --port)") from None

