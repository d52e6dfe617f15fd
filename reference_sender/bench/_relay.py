"""A counting TCP relay for the capacity benchmarks: bytes each way and round trips.

``/proc/<pid>/io`` does not count socket traffic, and PostgreSQL's statistics count
statements, not the round trips a pipeline saves; so the benchmark puts this relay
between the worker processes and what they talk to (PostgreSQL, the receiver) and reads
what went through. A round trip is a client-to-server burst answered by a
server-to-client burst: counted when the server starts sending after the client sent
(so a pipeline of statements sent in one go, answered in one go, is one; a server message
nobody asked for, after an answer, is none).

It runs as a process of its own, so its CPU is never the workers': the benchmark reads
it apart (``/proc``) and says what it adds.

Usage: ``python _relay.py TARGET_PORT [TARGET_PORT ...]``: one relay on 127.0.0.1 per
target port (on 127.0.0.1), each on a free port; prints ``ready PORT [PORT ...]``. Then
each line ``counts`` on standard input is answered by a JSON line, a list with one
object per relay: ``up`` (client to server bytes), ``down`` (server to client bytes),
``trips`` (round trips) and ``connections``. End of input ends it.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

#: Bytes read at once from either side.
CHUNK = 65536


@dataclass
class Counts:
    """What went through one relay so far."""

    up: int = 0
    down: int = 0
    trips: int = 0
    connections: int = 0


class _Direction:
    """Which side of one connection sent last (``True``: the client)."""

    def __init__(self) -> None:
        self.client_last = False


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counts: Counts,
                state: _Direction, up: bool) -> None:
    try:
        while data := await reader.read(CHUNK):
            if up:
                counts.up += len(data)
                state.client_last = True
            else:
                counts.down += len(data)
                if state.client_last:  # the answer to what the client sent: one round trip
                    counts.trips += 1
                state.client_last = False
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _relay(port: int, counts: Counts) -> asyncio.Server:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            client_w.close()
            return
        counts.connections += 1
        state = _Direction()
        await asyncio.gather(_pump(client_r, server_w, counts, state, True),
                             _pump(server_r, client_w, counts, state, False))

    return await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)


class Relay:
    """This relay run as a process of its own, from the benchmark.

    Args:
        targets: The ports (on 127.0.0.1) to relay to, one relay each.
    """

    def __init__(self, targets: list[int]) -> None:
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()),
                                      *map(str, targets)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "ready":
            raise RuntimeError(f"the relay did not start: {line}")
        #: The port each target is relayed on, in the targets' order.
        self.ports = [int(p) for p in line[1:]]

    @property
    def pid(self) -> int:
        """The relay's process id (its CPU time is read from ``/proc``)."""
        return self.proc.pid

    def counts(self) -> list[Counts]:
        """What went through each relay so far, in the targets' order."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("counts\n")
        self.proc.stdin.flush()
        return [Counts(**c) for c in json.loads(self.proc.stdout.readline())]

    def close(self) -> None:
        """End the relay (end of its input), and wait for it."""
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def main() -> None:
    """Relay to each port named on the command line; answer ``counts`` lines."""
    targets = [int(a) for a in sys.argv[1:]]
    counts = [Counts() for _ in targets]

    async def run() -> None:
        servers = [await _relay(port, c) for port, c in zip(targets, counts)]
        ports = [s.sockets[0].getsockname()[1] for s in servers]
        print("ready", *ports, flush=True)
        done = asyncio.get_running_loop().create_future()
        loop = asyncio.get_running_loop()

        def control() -> None:
            # Plain ints read from another thread: a snapshot a chunk or so out at most.
            for line in sys.stdin:
                if line.strip() == "counts":
                    print(json.dumps([asdict(c) for c in counts]), flush=True)
            loop.call_soon_threadsafe(lambda: done.done() or done.set_result(None))

        threading.Thread(target=control, daemon=True).start()
        await done
        for s in servers:
            s.close()

    asyncio.run(run())


if __name__ == "__main__":
    main()
