"""_cli_parser: every command and option says what it does; typos in closed sets are
usage errors that name the allowed values and the closest one."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from pathlib import Path

import pytest
from hookseal_sender._cli_parser import build_parser


def _parsers(p: argparse.ArgumentParser, path: str = "hookseal-sender",
             ) -> Iterator[tuple[str, argparse.ArgumentParser, str | None]]:
    yield path, p, None
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                for found in _parsers(sub, f"{path} {name}"):
                    yield found if found[1] is not sub else (found[0], sub, helps.get(name))


def test_every_subcommand_and_option_has_a_description() -> None:
    missing = []
    seen = 0
    for path, parser, helptext in _parsers(build_parser()):
        if path != "hookseal-sender" and not helptext:
            missing.append(path)
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            seen += 1
            if not action.help:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert seen > 60  # the walk reached the nested commands
    assert missing == []


@pytest.mark.parametrize(("argv", "said"), [
    (["deliveries", "list", "--event-type", "invoice.payed"],
     "argument --event-type: unknown event type 'invoice.payed'; did you mean invoice.paid?"),
    (["deliveries", "replay", "--event-type", "invoice.payed"], "did you mean invoice.paid?"),
    (["endpoints", "add", "https://x.example", "--event-type", "customer.create"],
     "did you mean customer.created?"),
])
def test_event_type_typos_are_usage_errors_with_a_suggestion(
        argv: list[str], said: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Checked against the sender's catalog (the settings' ``catalog``, here the sample),
    once the settings are read."""
    from hookseal_sender.cli import main

    assert main(["init", "--dir", str(tmp_path), "--allow-local"]) == 0
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main(["--config", str(tmp_path / "hookseal-sender.json"), *argv])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert said in err
    assert "test.ping" in err and "invoice.paid," in err  # what is allowed


@pytest.mark.parametrize(("argv", "said"), [
    (["deliveries", "list", "--status", "bogus"],
     "argument --status: unknown status 'bogus' (statuses: pending, delivering, delivered, "
     "failed, dead_lettered, cancelled)"),
    (["deliveries", "list", "--status", "failed,dead_letered"],
     "unknown status 'dead_letered'; did you mean dead_lettered?"),
    (["serve", "--log-level", "verbose"], "invalid choice: 'verbose'"),
])
def test_typos_are_usage_errors_with_a_suggestion(argv: list[str], said: str,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert said in err


def test_known_values_pass() -> None:
    args = build_parser().parse_args(["deliveries", "list", "--event-type", "invoice.paid",
                                      "--status", "failed,dead_lettered", "--json"])
    assert (args.event_type, args.status, args.json) == ("invoice.paid",
                                                        "failed,dead_lettered", True)
    serve = build_parser().parse_args(["serve", "--port", "0", "--log-format", "json"])
    assert (serve.port, serve.log_level, serve.log_format) == (0, "info", "json")
