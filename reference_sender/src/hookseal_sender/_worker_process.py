"""One worker child of :class:`~hookseal_sender.supervisor.Supervisor`.

``python -m hookseal_sender._worker_process --config FILE --index N [--metrics-port P]``
opens the sender the settings describe and runs one :class:`~hookseal_sender.Worker`
until SIGTERM or SIGINT (or until its supervisor is gone), then stops it gracefully and
exits 0. With ``--metrics-port`` it serves its own ``/metrics``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Optional

from .errors import ScaleOutRefusedError, SenderError
from .supervisor import EXIT_REFUSED, sqlite_worker_lock

if TYPE_CHECKING:
    from .worker import WorkerSource

#: Seconds between checks that the supervisor is still alive.
PARENT_CHECK = 1.0


async def deliver_until_stopped(sender: WorkerSource, parent: Optional[int] = None) -> None:
    """Run one :class:`~hookseal_sender.Worker` of ``sender`` until SIGTERM or SIGINT, or
    until the process ``parent`` is no longer this process's parent; then stop it
    gracefully (finish or release what it holds).

    Args:
        sender: The sender.
        parent: The supervisor's pid (default: the parent now).
    """
    from .worker import Worker

    parent = os.getppid() if parent is None else parent
    worker = Worker(sender)
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, worker.stop)

    async def watch_parent() -> None:
        # A supervisor killed with SIGKILL cannot stop its children: they stop themselves.
        while os.getppid() == parent:
            await asyncio.sleep(PARENT_CHECK)
        logging.getLogger("hookseal_sender.supervisor").warning(
            "the supervisor (pid %d) is gone; stopping", parent)
        worker.stop()

    watcher = asyncio.create_task(watch_parent())
    logging.getLogger("hookseal_sender.supervisor").info("delivering")
    try:
        await worker.run()
    finally:
        watcher.cancel()


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one worker process.

    Args:
        argv: ``--config FILE --index N`` (default: ``sys.argv[1:]``).

    Returns:
        0 after a graceful stop, :data:`~hookseal_sender.supervisor.EXIT_REFUSED` if the
        database takes no further worker (SQLite), 1 on a configuration error.
    """
    p = argparse.ArgumentParser(prog="hookseal_sender._worker_process")
    p.add_argument("--config", required=True)
    p.add_argument("--index", type=int, default=1)
    p.add_argument("--metrics-port", type=int)
    p.add_argument("--metrics-host", default="127.0.0.1")
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr,
        format=f"%(asctime)s worker {args.index} [pid %(process)d] %(levelname)s %(message)s")
    parent = os.getppid()
    from .cli import load_settings, open_sender
    from .worker import tune_gc

    log = logging.getLogger("hookseal_sender.supervisor")
    try:
        database = load_settings(args.config)["database"]
        with sqlite_worker_lock(database):
            sender = open_sender(argparse.Namespace(config=args.config))
            try:
                if args.metrics_port is not None:
                    from prometheus_client import start_http_server

                    # This process's counters only; a scrape config lists every port.
                    start_http_server(args.metrics_port, args.metrics_host,
                                      registry=sender.metrics.registry)
                    log.info("metrics at http://%s:%d/metrics", args.metrics_host,
                             args.metrics_port)
                tune_gc()
                asyncio.run(deliver_until_stopped(sender, parent))
            finally:
                sender.close()
    except ScaleOutRefusedError as exc:
        log.error("error (%s): %s", exc.code, exc.detail)
        return EXIT_REFUSED
    except SenderError as exc:
        log.error("error (%s): %s", exc.code, exc.detail)
        return 1
    log.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
