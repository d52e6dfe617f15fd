"""``hookseal-sender backfill``: enqueue events that never reached the outbox."""

from __future__ import annotations

import argparse
import sys

from ._cli_output import console, progress_bar
from .backfill import BackfillError, BackfillEvent, backfill, parse_events, read_jsonl, read_sql
from .errors import InvalidRequestError, SenderError
from .sender import Sender

__all__ = ["cmd_backfill"]


def _events(args: argparse.Namespace, sender: Sender) -> list[BackfillEvent]:
    """Read and check every record of ``--file`` or ``--sql`` (a file is streamed, so a
    file larger than a backfill takes stops at the limit, not after reading it all)."""
    if args.sql is not None:
        if not args.dsn:
            raise InvalidRequestError("--sql needs --dsn (the database it reads)")
        return parse_events(read_sql(args.dsn, args.sql), sender.validator)
    if args.dsn:
        raise InvalidRequestError("--dsn goes with --sql")
    if args.file == "-":
        return parse_events(read_jsonl(sys.stdin), sender.validator)
    try:
        with open(args.file, encoding="utf-8") as stream:
            return parse_events(read_jsonl(stream), sender.validator)
    except OSError as exc:
        raise InvalidRequestError(f"--file: cannot read {args.file!r}: {exc.strerror}") \
            from None
    except UnicodeDecodeError as exc:
        raise InvalidRequestError(f"--file: {args.file!r} is not UTF-8: {exc.reason}") from None
    except SenderError:  # bad records (BackfillError is a ValueError too): as they are
        raise
    except ValueError as exc:  # a NUL in the name
        raise InvalidRequestError(f"--file: cannot read {args.file!r}: {exc}") from None


def cmd_backfill(args: argparse.Namespace, sender: Sender) -> int:
    """Run ``backfill``: check every event, then enqueue (or, ``--dry-run``, count) them.

    Args:
        args: Parsed arguments (``--file`` or ``--sql`` with ``--dsn``, ``--dry-run``,
            ``--reason``, ``--batch-size``).
        sender: The sender.

    Returns:
        0 when every event is queued or was already stored (dry run: when all are good),
        1 when some records are bad (each is printed with its line number; nothing was
        written).
    """
    unit = "row" if args.sql is not None else "line"
    try:
        events = _events(args, sender)
    except BackfillError as exc:
        for err in exc.errors:
            console.print(f"{unit} {err.line}: {err.code}: {err.detail}", markup=False)
        more = exc.bad - len(exc.errors)
        console.print(f"{exc.bad} bad {unit}(s){f' ({more} not shown)' if more else ''}; "
                      "nothing was written.", markup=False)
        return 1
    source = "sql" if args.sql is not None else f"file {args.file}"
    with progress_bar() as progress:
        task = progress.add_task("Dry run" if args.dry_run else "Backfilling", total=len(events))

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        report = backfill(sender, events, dry_run=args.dry_run, actor=args.actor,
                          reason=args.reason, source=source, batch_size=args.batch_size,
                          on_progress=on_progress)
    verb = "would enqueue" if args.dry_run else "enqueued"
    console.print(f"{report.events} events read: {verb} {report.enqueued} "
                  f"({report.deliveries} deliveries), {report.already_stored} already "
                  f"stored{' (not sent again)' if report.already_stored else ''}.",
                  markup=False)
    for tenant, row in sorted(report.tenants.items()):
        console.print(f"  {tenant}: {row['enqueued']} {'to enqueue' if args.dry_run else verb}, "
                      f"{row['already_stored']} already stored, {row['deliveries']} deliveries",
                      markup=False)
    return 0
