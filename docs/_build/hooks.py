"""MkDocs hooks: fill generated tables into pages from each part's single source.

A page asks for a table with a marker line ``<!-- hookseal:NAME -->``; the hook replaces it
with Markdown built from the code at build time (so the site cannot drift from it):

- ``retry-schedule``: the reference sender's ``DEFAULT_RETRY_POLICY``.
- ``retry-outcomes``: the sender's own ``outcome.classify`` run over status codes and errors.
- ``sender-config``: the fields, defaults and docstring of ``SenderConfig``.
- ``error-codes``: the SDK's table of error facts (``hookseal.errors.ERROR_FACTS``): class,
  ``.code``, HTTP status, ``hookseal verify`` exit status and docstring summary.
- ``sender-metrics``, ``sender-alerts``, ``sender-api``, ``breaker-policy``, ``ssrf-examples``:
  the sender's own metrics registry, shipped alert rules, OpenAPI document, breaker defaults
  and SSRF check.
- ``owner-notices``, ``owner-notice-settings``: the sender's owner notices (kinds, when each
  is sent, placeholders, default text) and their settings with defaults
  (``hookseal_sender.owner_notices``).
- ``conformance-options``: ``hookseal-conformance``'s argument parser.
- ``quickstart-commands``: the quickstart block of ``sdk/python/docs-receiving.md``, found
  exactly as its end-to-end test (``sdk/python/tests/test_listen.py``) finds it, shown as one
  titled block per terminal (``listen`` never ends, so it has a terminal of its own).

An unknown marker fails the build.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import re
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[2]
RECEIVING_GUIDE = ROOT / "sdk" / "python" / "docs-receiving.md"
_MARKER = re.compile(r"^([ \t]*)<!-- hookseal:([a-z0-9-]+) -->[ \t]*$", re.MULTILINE)


def _duration(seconds: float) -> str:
    """``90`` -> ``1 min 30 s``; ``129600`` -> ``1 d 12 h``."""
    s = int(round(seconds))
    if s == 0:
        return "immediately" if seconds == 0 else f"{seconds:g} s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if s >= size:
            parts.append(f"{s // size} {unit}")
            s %= size
    return " ".join(parts[:2])


def retry_schedule() -> str:
    """The default retry schedule as a table, from the sender's default policy object."""
    from hookseal_sender.config import DEFAULT_RETRY_POLICY, MAX_RETRY_WINDOW

    policy = DEFAULT_RETRY_POLICY
    rows = [
        "| attempt | delay before it | delay with the most jitter | since the first attempt | at the latest |",
        "|---:|---|---|---|---|",
    ]
    worst = 0.0
    for row in policy.describe():
        delay = row["delay_s"]
        worst += delay * (1 + policy.jitter)
        first = row["attempt"] == 1
        if first:
            rows.append("| 1 | — | — | 0 | 0 |")
            continue
        rows.append(
            f"| {row['attempt']:g} | {_duration(delay)} | {_duration(delay * (1 + policy.jitter))} | "
            f"{_duration(row['elapsed_s'])} | {_duration(worst)} |"
        )
    facts = [
        "",
        f"- **Attempts:** at most {policy.max_attempts} (the first one plus "
        f"{len(policy.schedule)} retries); after the last, the delivery is dead-lettered.",
        f"- **Jitter:** each delay is stretched by a random factor between 1 and "
        f"{1 + policy.jitter:g}, never shortened, so failed bursts do not retry in lock step.",
        f"- **Retry-After:** honoured on 429 and 503, up to {_duration(policy.retry_after_cap)}.",
        f"- **Hard cap:** a configured schedule may never span more than "
        f"{_duration(MAX_RETRY_WINDOW)}, jitter included (the sender refuses such a config).",
    ]
    return "\n".join(rows + facts)


_STATUSES = (200, 201, 204, 301, 302, 307, 308, 400, 401, 403, 404, 409, 410, 413, 422, 429,
             500, 502, 503, 504)
_ERRORS = ("timeout", "connection_error", "dns_error", "tls_error", "protocol_error",
           "destination_refused")


def retry_outcomes() -> str:
    """What happens after each kind of answer, computed by the sender's own classifier."""
    from hookseal_sender import outcome

    meaning = {
        outcome.DELIVERED: "delivered (done)",
        outcome.RETRY: "**retried** on the schedule",
        outcome.FAILED: "failed permanently (never retried)",
        outcome.GONE: "failed permanently, and the endpoint is disabled at once",
    }
    grouped: dict[str, list[str]] = {}
    for code in _STATUSES:
        grouped.setdefault(outcome.classify(code, None), []).append(f"`{code}`")
    for err in _ERRORS:
        grouped.setdefault(outcome.classify(None, err), []).append(f"no response: `{err}`")
    rows = ["| the sender's decision | for these answers |", "|---|---|"]
    for decision in (outcome.DELIVERED, outcome.RETRY, outcome.FAILED, outcome.GONE):
        rows.append(f"| {meaning[decision]} | {', '.join(grouped.get(decision, [])) or '—'} |")
    return "\n".join(rows)


def _attribute_docs(cls: type) -> dict[str, str]:
    """The ``Attributes:`` section of a Google-style class docstring, by name."""
    doc = inspect.getdoc(cls) or ""
    out: dict[str, str] = {}
    section = doc.split("Attributes:", 1)[1] if "Attributes:" in doc else ""
    current = None
    for line in section.splitlines():
        match = re.match(r"^    (\w+): (.*)$", line)
        if match:
            current = match.group(1)
            out[current] = match.group(2).strip()
        elif current and line.startswith("        "):
            out[current] += " " + line.strip()
        elif line.strip() and not line.startswith(" "):
            break
    return out


def _rst_to_md(text: str) -> str:
    return text.replace("``", "`")


def sender_config() -> str:
    """Every ``SenderConfig`` field with its default and meaning."""
    from hookseal_sender.config import SenderConfig

    return _dataclass_table(SenderConfig)


def breaker_policy() -> str:
    """Every ``BreakerPolicy`` field with its default and meaning."""
    from hookseal_sender.config import BreakerPolicy

    return _dataclass_table(BreakerPolicy)


def _dataclass_table(cls: Any) -> str:
    """A settings table from a dataclass's defaults and its docstring's Attributes."""
    docs = _attribute_docs(cls)
    default = cls()
    rows = ["| setting | default | meaning |", "|---|---|---|"]
    for f in dataclasses.fields(cls):
        value = getattr(default, f.name)
        if dataclasses.is_dataclass(value):
            shown = f"`{type(value).__name__}()`"
        elif isinstance(value, float) and value >= 3600 and value % 3600 == 0:
            shown = f"`{value:g}` ({_duration(value)})"
        else:
            shown = f"`{value!r}`"
        rows.append(f"| `{f.name}` | {shown} | {_rst_to_md(docs.get(f.name, ''))} |")
    return "\n".join(rows)


def error_codes() -> str:
    """The SDK's errors: class, stable code, HTTP status, exit code and when it is raised.

    Read from ``hookseal.errors.ERROR_FACTS``, the SDK's one table of error facts.
    """
    from hookseal.errors import ERROR_FACTS

    rows = ["| `.code` | Python exception (`hookseal.`) | HTTP status | `hookseal verify` exit | when |",
            "|---|---|---|---|---|"]
    for facts in ERROR_FACTS.values():
        cls = facts.error
        if cls is None:  # integration-only answers are documented with the integrations
            continue
        summary = (inspect.getdoc(cls) or "").split("\n\n", 1)[0].replace("\n", " ")
        status, exit_code = ("—" if n is None else str(n) for n in (facts.status, facts.exit_code))
        rows.append(f"| `{cls.code}` | [`{cls.__name__}`][hookseal.{cls.__name__}] | {status} | "
                    f"{exit_code} | {_rst_to_md(summary)} |")
    return "\n".join(rows)


def sender_metrics() -> str:
    """The sender's Prometheus metrics: name, type, labels and help, from its registry."""
    from hookseal_sender.metrics import Metrics

    metrics = Metrics(queue_depth=lambda: 0.0, failing_endpoints=lambda: [])
    rows = ["| metric | type | labels | meaning |", "|---|---|---|---|"]
    for value in vars(metrics).values():
        name = getattr(value, "_name", None)
        if not isinstance(name, str):
            continue
        kind = getattr(value, "_type", "")
        shown = name + ("_total" if kind == "counter" else "")
        labels = ", ".join(f"`{label}`" for label in getattr(value, "_labelnames", ())) or "—"
        rows.append(f"| `{shown}` | {kind} | {labels} | {getattr(value, '_documentation', '')} |")
    return "\n".join(rows)


def sender_alerts() -> str:
    """The alert rules shipped with the sender: name, condition, wait and severity."""
    import yaml
    from hookseal_sender import ops

    rows = ["| alert | fires when | for | severity |", "|---|---|---|---|"]
    for group in yaml.safe_load(ops.read(ops.RULES))["groups"]:
        for rule in group["rules"]:
            anchor = rule["annotations"]["runbook_url"].rsplit("#", 1)[1]
            expr = " ".join(rule["expr"].split())
            rows.append(f"| [`{rule['alert']}`](#{anchor}) | `{expr}` | "
                        f"{rule.get('for', '—')} | {rule['labels']['severity']} |")
    return "\n".join(rows)


def sender_api() -> str:
    """The admin API's operations, from the OpenAPI document the sender serves."""
    from hookseal_sender.api import openapi_schema

    rows = ["| method | path | what it does |", "|---|---|---|"]
    for path, operations in openapi_schema()["paths"].items():
        for method, operation in operations.items():
            what = operation.get("summary") or operation.get("description", "")
            rows.append(f"| `{method.upper()}` | `{path}` | {what} |")
    return "\n".join(rows)


def owner_notices() -> str:
    """The owner notices: each kind, when it is sent, its placeholders and default text."""
    from hookseal_sender.owner_notices import DEFAULT_TEMPLATES, PLACEHOLDERS, OwnerNoticePolicy

    p = OwnerNoticePolicy()
    when = {
        "bulk_replay": "after a confirmed bulk replay that replayed something (CLI, admin "
                       "API, admin console), unless turned off for that replay",
        "endpoint_down": f"an active endpoint has been failing for more than "
                         f"{p.endpoint_down_after / 3600:g} hours; once per failing streak",
        "tenant_failing": f"more than {p.tenant_failure_rate:.0%} of a tenant's attempts in the "
                          f"last hour failed (at least {p.tenant_min_attempts} attempts); once "
                          f"until it falls to {p.tenant_failure_rate / 2:.0%} or the tenant "
                          "makes no attempt for an hour",
        "endpoint_stale": f"an active endpoint was attempted but not delivered to for "
                          f"{p.stale_after_days:g} days: it is paused, then told",
    }
    rows = ["| kind | sent when | placeholders | default message |", "|---|---|---|---|"]
    for kind, text in DEFAULT_TEMPLATES.items():
        names = ", ".join(f"`{{{n}}}`" for n in sorted(PLACEHOLDERS[kind]))
        rows.append(f"| `{kind}` | {when[kind]} | {names} | {text} |")
    return "\n".join(rows)


def owner_notice_settings() -> str:
    """The settings file's ``owner_notices`` keys with their defaults."""
    from hookseal_sender.owner_notices import OwnerNoticePolicy

    p = OwnerNoticePolicy()
    rows = ["| key | default | meaning |", "|---|---|---|",
            "| `templates` | the messages above | an object: notice kind to its message "
            "(kinds left out keep the default) |",
            f"| `endpoint_down_hours` | {p.endpoint_down_after / 3600:g} | hours an endpoint "
            "fails before its owner is told |",
            f"| `tenant_failure_percent` | {p.tenant_failure_rate * 100:g} | a tenant failing "
            "more than this share of its attempts in the last hour is told |",
            f"| `tenant_min_attempts` | {p.tenant_min_attempts} | fewest attempts in the hour "
            "before a tenant's share counts |",
            f"| `stale_after_days` | {p.stale_after_days:g} | days without a successful "
            "delivery before an attempted endpoint is paused (0: never) |",
            f"| `check_interval_seconds` | {p.check_interval:g} | how often each worker "
            "process runs the checks |"]
    return "\n".join(rows)


_SSRF_URLS = (
    "https://hooks.example.com/webhooks",
    "http://hooks.example.com/webhooks",
    "https://127.0.0.1/webhooks",
    "https://localhost:8443/webhooks",
    "https://10.0.0.5/webhooks",
    "https://192.168.1.10/webhooks",
    "https://100.64.0.1/webhooks",
    "https://169.254.169.254/latest/meta-data/",
    "https://metadata.google.internal/",
    "https://[::1]/webhooks",
    "https://[::ffff:127.0.0.1]/webhooks",
    "https://[fe80::1]/webhooks",
    "https://2130706433/webhooks",
    "https://0x7f.1/webhooks",
    "https://0177.0.0.1/webhooks",
    "https://0.0.0.0/webhooks",
    "https://224.0.0.1/webhooks",
    "https://user:password@hooks.example.com/webhooks",
)


def ssrf_examples() -> str:
    """What the sender's SSRF check says about sample URLs (its own ``parse_destination``)."""
    from hookseal_sender.errors import DestinationRefusedError
    from hookseal_sender.ssrf import parse_destination

    rows = ["| destination | the sender's answer at registration |", "|---|---|"]
    for url in _SSRF_URLS:
        try:
            parse_destination(url)
        except DestinationRefusedError as exc:
            verdict = str(getattr(exc, "detail", "") or exc)
        else:
            verdict = "accepted, then its DNS answers are checked (below)"
        rows.append(f"| `{url}` | {verdict.replace('|', '/')} |")
    return "\n".join(rows)


def conformance_options() -> str:
    """The ``hookseal-conformance`` options, read from its own argument parser."""
    import argparse

    from hookseal_conformance import cli

    parser = cli._parser()
    sides: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            sides = dict(action.choices)
    rows: dict[str, tuple[list[str], str]] = {}
    for side, sub in sides.items():
        for action in sub._actions:
            if not action.option_strings or isinstance(action, argparse._HelpAction):
                continue
            if action.nargs == 0:
                arg = ""
            elif action.metavar:
                arg = f" {action.metavar}"
            elif action.choices:
                arg = " {" + ",".join(str(c) for c in action.choices) + "}"
            else:
                arg = f" {action.dest.upper()}"
            name = ", ".join(f"`{o}{arg}`" for o in action.option_strings)
            help_text = (action.help or "") % {"default": action.default}
            rows.setdefault(name, ([], help_text))[0].append(side)
    lines = ["| option | for | meaning |", "|---|---|---|"]
    for name, (used_by, help_text) in rows.items():
        who = "both" if len(used_by) == len(sides) else ", ".join(used_by)
        lines.append(f"| {name} | {who} | {help_text.replace('|', '/')} |")
    return "\n".join(lines)


def quickstart_commands() -> list[str]:
    """The quickstart commands, extracted by the same rule as their end-to-end test."""
    text = RECEIVING_GUIDE.read_text(encoding="utf-8")
    block = text.split("<!-- quickstart", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    return [line for line in block.splitlines() if line.strip()]


# `listen` runs until Ctrl+C, so it gets a terminal (and a copyable block) of its own; the
# commands that finish share the second one.
_TERMINALS = (
    ("Terminal 1: start the local receiver (it runs until Ctrl+C)",
     lambda command: command.startswith("hookseal listen")),
    ("Terminal 2: send a signed test event, then a tampered one",
     lambda command: not command.startswith("hookseal listen")),
)


def quickstart_block() -> str:
    """The quickstart commands as one titled block per terminal, in the tested order."""
    commands = quickstart_commands()
    blocks = []
    for title, belongs in _TERMINALS:
        mine = [command for command in commands if belongs(command)]
        if not mine:
            raise ValueError(f"quickstart-commands: no command for {title!r} in {RECEIVING_GUIDE}")
        blocks.append(f'```{{ .bash title="{title}" }}\n' + "\n".join(mine) + "\n```")
    # Splitting must not reorder what the end-to-end test runs in order.
    if [line for block in blocks for line in block.splitlines()[1:-1]] != commands:
        raise ValueError("quickstart-commands: the terminals would reorder the tested commands")
    return "\n\n".join(blocks)


GENERATORS: dict[str, Callable[[], str]] = {
    "retry-schedule": retry_schedule,
    "retry-outcomes": retry_outcomes,
    "sender-config": sender_config,
    "breaker-policy": breaker_policy,
    "error-codes": error_codes,
    "quickstart-commands": quickstart_block,
    "sender-metrics": sender_metrics,
    "sender-alerts": sender_alerts,
    "sender-api": sender_api,
    "ssrf-examples": ssrf_examples,
    "owner-notices": owner_notices,
    "owner-notice-settings": owner_notice_settings,
    "conformance-options": conformance_options,
}


_INCLUDE = re.compile(r"^<!-- hookseal:include ([\w./-]+) -->[ \t]*$", re.MULTILINE)
_LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s#]+)([^)]*\))")


def include_file(path: str, page_uri: str, root: Path = ROOT) -> str:
    """A repository file's Markdown, with its relative links rewritten for the page.

    ``pymdownx.snippets`` includes text verbatim, so a README's ``../docs/assets/x.png``
    would point outside the site. Here every relative link is resolved against the
    included file's folder; a target inside ``docs/`` becomes a link relative to the page,
    anything else is left for strict link validation to report.
    """
    root = root.resolve()
    source = (root / path).resolve()
    if not source.is_file() or root not in source.parents:
        raise ValueError(f"{page_uri}: cannot include {path}: no such file in the repository")
    docs = root / "docs"
    page_dir = (docs / page_uri).parent

    def rewrite(match: re.Match[str]) -> str:
        target = match.group(2)
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("/"):
            return match.group(0)
        resolved = (source.parent / target).resolve()
        if docs in resolved.parents:
            target = os.path.relpath(resolved, page_dir).replace(os.sep, "/")
        return match.group(1) + target + match.group(3)

    return _LINK.sub(rewrite, source.read_text(encoding="utf-8"))


def render_markers(markdown: str, where: str = "") -> str:
    """Replace every ``<!-- hookseal:NAME -->`` line with its generated Markdown, and every
    ``<!-- hookseal:include PATH -->`` line with that file (see :func:`include_file`)."""
    markdown = _INCLUDE.sub(lambda m: include_file(m.group(1), where), markdown)

    def replace(match: re.Match[str]) -> str:
        indent, name = match.group(1), match.group(2)
        if name not in GENERATORS:
            raise ValueError(f"{where}: unknown generated block <!-- hookseal:{name} -->")
        # Keep the marker's indentation, so a table can sit inside an admonition or a tab.
        return "\n".join(indent + line if line else line for line in GENERATORS[name]().splitlines())

    return _MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """MkDocs hook: fill the generated blocks of a page."""
    return render_markers(markdown, page.file.src_uri)
