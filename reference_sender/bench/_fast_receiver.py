"""A minimal fast HTTP receiver for the benchmarks: answers every POST with 200 "ok",
except under ``/slow``, where it answers after a minute (an endpoint slower than any
timeout, for the fairness section), and under ``/lag<ms>/``, where it answers after that
many milliseconds (a slower receiver, so one worker process runs at a lower rate: the
capacity section's second calibration point).

Usage: python _fast_receiver.py PORT  (prints "ready" when listening).
"""

from __future__ import annotations

import asyncio
import sys

from aiohttp import web

#: Seconds a /slow request waits before its answer (the sender gives up long before).
SLOW = 60.0


async def handle(request: web.Request) -> web.Response:
    await request.read()
    if request.path.startswith("/slow"):
        await asyncio.sleep(SLOW)
    elif request.path.startswith("/lag"):
        await asyncio.sleep(int(request.path[4:].split("/", 1)[0]) / 1000)
    return web.Response(text="ok")


def main() -> None:
    app = web.Application()
    app.router.add_post("/{tail:.*}", handle)
    print("ready", flush=True)
    # handler_cancellation: a request the sender gave up on stops waiting too.
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None,
                handler_cancellation=True)


if __name__ == "__main__":
    main()
