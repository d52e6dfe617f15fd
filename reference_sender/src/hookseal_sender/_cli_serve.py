"""``hookseal-sender serve``: listen, say where everything is, run the workers, log.

What it prints at start and logs while running is documented in docs/operations.md
("What serve logs"); the field names of the ``serving`` record are part of it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from types import FrameType
from typing import Any, Optional
from urllib.parse import parse_qsl, urlencode, urlsplit

from ._logs import LogSetup, fields, setup_logging
from ._version import __version__
from .errors import ConfigError
from .sender import Sender
from .supervisor import Supervisor, check_processes, sqlite_worker_lock, worker_command

logger = logging.getLogger("hookseal_sender.serve")

#: Seconds a stopping worker waits for the attempts in flight.
DRAIN_SECONDS = 10.0


def mask_database(url: str) -> str:
    """A database URL fit to print: any password replaced by ``***``.

    Args:
        url: ``sqlite:///...`` or ``postgresql://user:password@host/db?...``.

    Returns:
        The URL with the password in the authority and a ``password=`` query parameter
        masked; anything unparsable is reduced to its scheme.
    """
    try:
        parts = urlsplit(url)
        masked = url
        if parts.password is not None:
            userinfo, _, hostport = parts.netloc.rpartition("@")
            user = userinfo.partition(":")[0]
            masked = masked.replace(f"//{parts.netloc}", f"//{user}:***@{hostport}", 1)
        if parts.query:
            pairs = parse_qsl(parts.query, keep_blank_values=True)
            if any(k.lower() == "password" for k, _ in pairs):
                query = urlencode([(k, "***" if k.lower() == "password" else v)
                                   for k, v in pairs], safe="*")
                masked = masked.replace(f"?{parts.query}", f"?{query}", 1)
        return masked
    except ValueError:
        return url.partition(":")[0] + "://***"


def listen(host: str, port: int) -> socket.socket:
    """A listening-ready socket bound to ``host:port`` (``0``: any free port).

    Args:
        host: Address or name (``::`` or an IPv6 address for IPv6).
        port: The port.

    Returns:
        The bound socket (uvicorn listens on it).

    Raises:
        ConfigError: The address cannot be resolved or bound (in use, not allowed).
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ConfigError(f"--host {host!r}: cannot resolve it: {exc}") from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        # Listening now, before the banner names the URL: a request made as soon as it is
        # printed waits in the backlog for uvicorn instead of being refused.
        sock.listen(2048)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc} (is "
                          "another serve running? pick another --port)") from None
    sock.set_inheritable(True)
    return sock


def _base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def start_info(base: str, sender: Sender, settings: dict[str, Any], worker: bool,
               logs: LogSetup) -> dict[str, Any]:
    """What ``serve`` reports at start: addresses, database, workers, logs.

    Args:
        base: The base URL it listens on.
        sender: The sender.
        settings: The checked settings.
        worker: Whether workers run in this process.
        logs: The logging in force.

    Returns:
        The fields of the ``serving`` record (documented in docs/operations.md).
    """
    cfg = sender.config
    return {
        "event": "serving", "version": __version__,
        "api_url": f"{base}/v1/", "openapi_url": f"{base}/openapi.json",
        "portal_url": f"{base}/portal/", "admin_url": f"{base}/admin/",
        "metrics_url": f"{base}/metrics",
        "health_url": f"{base}/healthz",
        "database": mask_database(cfg.database),
        "workers": worker,
        "concurrency": cfg.global_concurrency if worker else None,
        "per_endpoint_concurrency": cfg.per_endpoint_concurrency if worker else None,
        "retention_days": cfg.retention_days,
        "allow_local": bool(settings.get("allow_local")),
        "log_level": logs.level, "log_format": logs.format,
    }


def banner(info: dict[str, Any]) -> str:
    """The start output for people (text log format)."""
    workers = (f"on: {info['concurrency']} attempts in flight, at most "
               f"{info['per_endpoint_concurrency']} per endpoint"
               if info["workers"] else "off (--no-worker): deliveries wait for a worker")
    lines = [
        f"hookseal-sender {info['version']} serving on {info['api_url'][:-4]}",
        f"  Admin API  {info['api_url']}  (Authorization: Bearer <api key from the "
        "settings>; schema at /openapi.json)",
        f"  Portal     {info['portal_url']}  (customers sign in with a link from "
        "`hookseal-sender portal-link --tenant T`)",
        f"  Console    {info['admin_url']}  (your staff: sign in with an admin API key, or a "
        "link from `hookseal-sender admin-link --operator NAME`)",
        f"  Metrics    {info['metrics_url']}  (Bearer <metrics key>)",
        f"  Database   {info['database']}",
        f"  Workers    {workers}; finished deliveries purged after "
        f"{info['retention_days']:g} days",
        f"  Logs       {info['log_level']} and above, {info['log_format']}, on stderr "
        "(--log-level, --log-format json)",
    ]
    if info["allow_local"]:
        lines.append("  allow_local is on: http:// and local destinations are allowed "
                     "(testing only)")
    lines.append("Press Ctrl-C to stop (attempts in flight finish first, up to "
                 f"{DRAIN_SECONDS:.0f} s).")
    return "\n".join(lines)


@contextlib.contextmanager
def signals_after_uvicorn() -> Iterator[None]:
    """SIGTERM and SIGINT raise :class:`KeyboardInterrupt` while ``serve`` runs.

    uvicorn stops on either and then raises the signal again under the handler it found;
    with the default SIGTERM one the process died right there, before the workers were
    stopped (what they held was left to its leases). And a signal that comes before
    uvicorn has installed its own handlers (just after the start output) must stop the
    start, not be lost. ``serve`` catches the interrupt, stops its workers gracefully and
    exits 0."""
    def interrupt(signum: int, frame: Optional[FrameType]) -> None:
        raise KeyboardInterrupt

    old = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)


def serve(args: argparse.Namespace, sender: Sender, settings: dict[str, Any],
          settings_file: Optional[Path] = None) -> int:
    """Run ``serve``: bind, print where everything is, run the API, portal and workers.

    Args:
        args: ``--host``, ``--port``, ``--no-worker``, ``--workers``, ``--log-level``,
            ``--log-format``.
        sender: The sender.
        settings: The checked settings.
        settings_file: The settings file the worker processes of ``--workers N`` (more
            than 1) read.

    Returns:
        The exit status.

    Raises:
        ConfigError: The address cannot be bound.
    """
    import uvicorn
    from starlette.routing import Mount

    from .admin import AdminConfig, create_admin
    from .api import create_app
    from .portal import PortalConfig, create_portal
    from .worker import BackgroundWorker, tune_gc

    tune_gc()  # a process of its own: see tune_gc
    workers = 0 if args.no_worker else args.workers
    check_processes(settings["database"], workers)  # SQLite: one worker process at most
    sock = listen(args.host, args.port)
    logs = setup_logging(args.log_level, args.log_format)
    stack = contextlib.ExitStack()
    try:
        stack.enter_context(signals_after_uvicorn())
        portal = create_portal(sender, PortalConfig.from_settings(settings.get("portal", {})))
        admin = create_admin(sender, settings["api_keys"],
                             AdminConfig.from_settings(settings.get("admin", {})))
        app = create_app(sender, settings["api_keys"],
                         mounts=[Mount("/portal", app=portal), Mount("/admin", app=admin)],
                         metrics_keys=settings["metrics_keys"],
                         max_body_bytes=settings["max_body_bytes"])
        info = start_info(_base_url(sock), sender, settings, workers > 0, logs)
        if args.log_format == "json":
            logger.info("serving on %s", info["api_url"][:-4], extra=fields(**info))
        else:
            print(banner(info), file=sys.stderr, flush=True)
        if workers == 1:  # in this process
            stack.enter_context(sqlite_worker_lock(settings["database"]))
            worker = BackgroundWorker(sender, drain_timeout=DRAIN_SECONDS).start()
            stack.callback(worker.stop)
        elif workers > 1:  # worker processes under a supervisor (PostgreSQL)
            if settings_file is None:
                raise ConfigError("serve --workers N (N > 1) needs its settings file")
            supervisor = Supervisor(partial(worker_command, settings_file),
                                    workers).start_background()
            stack.callback(supervisor.join)
            stack.callback(supervisor.stop)
        # uvicorn's own records go through the handler above (log_config=None); its
        # access log is off: the delivery log says what the workers do.
        config = uvicorn.Config(app, log_config=None, log_level="warning", access_log=False)
        uvicorn.Server(config).run(sockets=[sock])
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM, before uvicorn ran or re-raised after it
        pass
    finally:
        stack.close()  # workers stop (gracefully) before the process ends
        logger.info("stopped", extra=fields(event="stopped"))
        sock.close()
        logs.close()
    return 0
