"""``hookseal-sender send`` and ``hookseal-sender deliveries ...``: queue events, read the
delivery log, replay, cancel and follow deliveries."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from typing import IO, Any, Callable, Optional

from rich.table import Table

from ._cli_output import cells, console, delivery_table, progress_bar, when
from ._inputs import loads_json
from .errors import InvalidRequestError, SenderError
from .models import DeliveryFilter
from .owner_notices import notify_bulk_replay
from .sender import Sender

#: Exit status after Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130
#: Delivery states a delivery is still moving in.
LIVE_STATUSES = ("pending", "delivering")


def _event_from_line(line: str) -> tuple[str, Any]:
    try:
        event = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InvalidRequestError(f"not JSON: {exc}") from None
    if not isinstance(event, dict) or not isinstance(event.get("type"), str) \
            or "data" not in event:
        raise InvalidRequestError('expected a JSON object {"type": "...", "data": {...}}')
    extra = set(event) - {"type", "data"}
    if extra:
        raise InvalidRequestError(f"unexpected keys: {', '.join(sorted(extra))}")
    return event["type"], event["data"]


def _open_lines(path: str) -> IO[str]:
    if path == "-":
        return sys.stdin
    try:
        return open(path, encoding="utf-8")  # the caller closes it
    except OSError as exc:
        raise InvalidRequestError(f"--file: cannot read {path!r}: {exc.strerror}") from None
    except ValueError as exc:  # a NUL in the name
        raise InvalidRequestError(f"--file: cannot read {path!r}: {exc}") from None


def _numbered(stream: IO[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(stream, 1):
        if line.strip():
            yield number, line


def _send_file(args: argparse.Namespace, sender: Sender) -> int:
    total: Optional[int] = None
    if args.file != "-":
        with _open_lines(args.file) as stream:
            try:
                total = sum(1 for _ in _numbered(stream))
            except UnicodeDecodeError as exc:
                raise InvalidRequestError(f"{args.file} is not UTF-8 text: {exc}") from None
    queued = deliveries = 0
    failure: Optional[tuple[int, SenderError]] = None
    stream = _open_lines(args.file)
    try:
        with progress_bar() as progress:
            task = progress.add_task("Queueing events", total=total)
            for number, line in _numbered(stream):
                try:
                    event_type, data = _event_from_line(line)
                    result = sender.send(args.tenant, event_type, data)
                except SenderError as exc:
                    failure = (number, exc)
                    break
                queued += 1
                deliveries += len(result.deliveries)
                progress.advance(task)
    finally:
        if stream is not sys.stdin:
            stream.close()
    source = "stdin" if args.file == "-" else args.file
    console.print(f"Queued {queued} events ({deliveries} deliveries) from {source}.",
                  markup=False)
    if failure is None:
        return 0
    number, error = failure
    console.print(f"[red]line {number}: error ({error.code}):[/] ", end="")
    console.print(error.detail, markup=False)
    console.print(f"Stopped at line {number}: the {queued} events before it are queued; "
                  f"fix line {number} and send from there on (resending the earlier lines "
                  "would send their events twice).", markup=False)
    return 1


def cmd_send(args: argparse.Namespace, sender: Sender) -> int:
    """Run ``send``: one event (``TYPE --data``) or a JSON lines file (``--file``).

    Args:
        args: Parsed arguments.
        sender: The sender.

    Returns:
        The exit status.
    """
    if args.file is not None:
        if args.type is not None or args.data is not None:
            console.print("[red]give either TYPE --data JSON or --file PATH, not both[/]")
            return 2
        return _send_file(args, sender)
    if args.type is None or args.data is None:
        console.print("[red]give TYPE --data JSON, or --file PATH[/]")
        return 2
    data = loads_json(args.data, "--data")
    r = sender.send(args.tenant, args.type, data)
    console.print(f"Event {r.event_id}: {len(r.deliveries)} deliveries queued")
    for d, e in r.deliveries:
        console.print(f"  {d} -> {e}")
    return 0


def _flt(args: argparse.Namespace) -> DeliveryFilter:
    return DeliveryFilter(endpoint_id=args.endpoint, event_type=args.event_type,
                          status=args.status.split(",") if args.status else None,
                          since=time.time() - args.since_hours * 3600
                          if args.since_hours else None)


def _list(args: argparse.Namespace, sender: Sender) -> int:
    console.print(delivery_table(sender.list_deliveries(args.tenant, _flt(args),
                                                        limit=args.limit)))
    return 0


def _show(args: argparse.Namespace, sender: Sender) -> int:
    d = sender.get_delivery(args.tenant, args.id)
    console.print(delivery_table([d]))
    at = Table("#", "at", "status", "error", "latency ms", "outcome", "response (excerpt)")
    for a in d.attempts:
        at.add_row(*cells(str(a.number), when(a.at), str(a.status_code or "-"),
                          a.error or "-", f"{a.latency_ms:.1f}", a.outcome,
                          a.response_body[:80]))
    console.print(at)
    console.print("Body:", d.payload or "", markup=False)
    return 0


def _confirmed(selected: int, yes: bool) -> bool:
    """Whether a bulk replay of ``selected`` deliveries goes ahead (``--yes`` or a ``y``)."""
    if yes:
        return True
    answer = console.input(f"Replay {selected}? [y/N] ") if sys.stdin.isatty() else "n"
    if answer.strip().lower() != "y":
        console.print("Nothing replayed (pass --yes to confirm).")
        return False
    return True


def _replay(args: argparse.Namespace, sender: Sender) -> int:
    t = args.tenant
    if args.id:
        d = sender.replay(t, args.id, actor=args.actor, reason=args.reason)
        console.print(f"Replaying {d.id}")
        return wait_for_deliveries(sender, t, [d.id], args.poll_interval) if args.wait else 0
    flt = _flt(args)
    preview = sender.replay_bulk(t, flt, limit=args.limit)
    matched = f"{preview['matched']}{' or more' if preview['more_match'] else ''}"
    selected = preview["selected"]
    if selected < preview["matched"] or preview["more_match"]:
        console.print(f"{matched} deliveries match; the oldest {selected} will be replayed "
                      f"(--limit {args.limit}).", markup=False)
    else:
        console.print(f"{matched} deliveries match; {selected} will be replayed.", markup=False)
    if not selected:
        return 0
    if not _confirmed(selected, args.yes):
        return 1
    done = sender.replay_bulk(t, flt, confirm=True, actor=args.actor, reason=args.reason,
                              include_ids=args.wait, limit=args.limit)
    console.print(f"Replaying {done['replayed']} at {done['rate_per_s']}/s.")
    if not args.no_notify:
        message = notify_bulk_replay(sender, t, flt, done, actor=args.actor,
                                     reason=args.reason, template=args.notice_template,
                                     period=args.notice_period)
        if message is not None:
            console.print(f"Told the owners of {t}: {message}", markup=False)
    if args.wait:
        return wait_for_deliveries(sender, t, done["ids"], args.poll_interval)
    return 0


def _cancel(args: argparse.Namespace, sender: Sender) -> int:
    if not args.endpoint and not args.ids:
        console.print("[red]give --endpoint or delivery ids[/]")
        return 2
    n = sender.cancel(args.tenant, endpoint_id=args.endpoint, delivery_ids=args.ids or None,
                      actor=args.actor, reason=args.reason)
    console.print(f"Cancelled {n} pending deliveries.")
    return 0


_ACTIONS: dict[str, Callable[[argparse.Namespace, Sender], int]] = {
    "list": _list, "show": _show, "replay": _replay, "cancel": _cancel,
}


def cmd_deliveries(args: argparse.Namespace, sender: Sender) -> int:
    """Run ``deliveries <action>``.

    Args:
        args: Parsed arguments (``action`` and its options).
        sender: The sender.

    Returns:
        The exit status.
    """
    return _ACTIONS[args.action](args, sender)


def _counts_text(counts: dict[str, int]) -> str:
    return (f"delivered {counts.get('delivered', 0)}, failed {counts.get('failed', 0)}, "
            f"dead-lettered {counts.get('dead_lettered', 0)}")


def wait_for_deliveries(sender: Sender, tenant_id: str, delivery_ids: Sequence[str],
                        interval: float = 1.0) -> int:
    """Show a progress bar of deliveries finishing until none is pending or delivering.

    Polls the store every ``interval`` seconds; Ctrl-C stops waiting (the workers go on
    delivering).

    Args:
        sender: The sender.
        tenant_id: The tenant owning the deliveries.
        delivery_ids: The deliveries to follow.
        interval: Seconds between polls.

    Returns:
        0 if every delivery was delivered, 1 if some ended otherwise (failed,
        dead-lettered, cancelled), :data:`EXIT_INTERRUPTED` after Ctrl-C.
    """
    ids = list(dict.fromkeys(delivery_ids))
    total = len(ids)
    counts: dict[str, int] = {}
    live = total
    try:
        console.print(f"Waiting for {total} deliveries to finish (Ctrl-C stops waiting; the "
                      "workers keep delivering).")
        with progress_bar() as progress:
            task = progress.add_task(_counts_text(counts), total=total)
            while True:
                counts = sender.delivery_status_counts(tenant_id, ids)
                live = sum(counts.get(s, 0) for s in LIVE_STATUSES)
                progress.update(task, completed=total - live, description=_counts_text(counts))
                if not live:
                    break
                time.sleep(interval)
    except KeyboardInterrupt:
        console.print(f"Stopped waiting (Ctrl-C): {live} of {total} deliveries still pending "
                      f"or delivering; {_counts_text(counts)}. The workers keep delivering; "
                      "follow them with `deliveries list`.", markup=False)
        return EXIT_INTERRUPTED
    other = total - sum(counts.get(s, 0) for s in ("delivered", "failed", "dead_lettered"))
    console.print(f"Finished: {_counts_text(counts)}"
                  + (f", other {other} (cancelled or purged)" if other else "") + ".",
                  markup=False)
    return 0 if counts.get("delivered", 0) == total else 1
