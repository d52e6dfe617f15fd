"""docs/_build/hooks.py: generated blocks come from the code they describe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from docs_support import load_build_module, page_html, text_of

DOCS = Path(__file__).resolve().parents[1]
hooks = load_build_module("hooks")


def test_unknown_marker_fails_the_build() -> None:
    with pytest.raises(ValueError, match="unknown generated block"):
        hooks.render_markers("x\n<!-- hookseal:no-such-table -->\n", "page.md")  # type: ignore[attr-defined]


def test_every_marker_on_the_site_is_known_and_every_generator_is_used() -> None:
    used = set()
    for page in DOCS.glob("*.md"):
        used |= set(re.findall(r"^[ \t]*<!-- hookseal:([a-z0-9-]+) -->", page.read_text(), re.MULTILINE))
    assert used == set(hooks.GENERATORS)  # type: ignore[attr-defined]


def test_retry_table_is_the_default_policy(site: Path) -> None:
    from hookseal_sender import DEFAULT_RETRY_POLICY

    table = hooks.retry_schedule()  # type: ignore[attr-defined]
    rows = [line for line in table.splitlines() if re.match(r"^\| \d+ \|", line)]
    assert len(rows) == DEFAULT_RETRY_POLICY.max_attempts
    assert f"at most {DEFAULT_RETRY_POLICY.max_attempts}" in table
    page = " ".join(text_of(page_html(site, "retries")).split())
    assert f"Attempts: at most {DEFAULT_RETRY_POLICY.max_attempts}" in page


def test_outcome_table_follows_the_classifier() -> None:
    from hookseal_sender.outcome import classify

    table = hooks.retry_outcomes()  # type: ignore[attr-defined]
    retried = next(line for line in table.splitlines() if "retried" in line)
    failed = next(line for line in table.splitlines() if "never retried" in line)
    assert classify(503, None) == "retry" and "`503`" in retried
    assert classify(400, None) == "failed" and "`400`" in failed
    assert "`302`" in failed  # redirects are never followed


def test_sender_config_table_lists_every_field() -> None:
    import dataclasses

    from hookseal_sender import SenderConfig

    table = hooks.sender_config()  # type: ignore[attr-defined]
    for field in dataclasses.fields(SenderConfig):
        row = next(line for line in table.splitlines() if line.startswith(f"| `{field.name}` |"))
        assert row.rstrip(" |").count("|") >= 2 and not row.endswith("|  |"), row


def test_quickstart_blocks_are_the_tested_commands_one_block_per_terminal() -> None:
    commands = hooks.quickstart_commands()  # type: ignore[attr-defined]
    markdown = hooks.quickstart_block()  # type: ignore[attr-defined]
    blocks = re.findall(r'^```\{ \.bash title="([^"]+)" \}\n(.*?)\n```$', markdown,
                        re.MULTILINE | re.DOTALL)
    assert [title.split(":")[0] for title, _ in blocks] == ["Terminal 1", "Terminal 2"]
    # listen never ends: alone in its block; the tested commands, in order, across both.
    assert blocks[0][1].splitlines() == [c for c in commands if c.startswith("hookseal listen")]
    assert [line for _, body in blocks for line in body.splitlines()] == commands
    assert all(line.startswith("hookseal trigger") for line in blocks[1][1].splitlines())


def test_include_rewrites_links_into_the_site(tmp_path: Path) -> None:
    (tmp_path / "docs" / "assets").mkdir(parents=True)
    (tmp_path / "part").mkdir()
    (tmp_path / "part" / "README.md").write_text(
        "![shot](../docs/assets/a.png) [spec](https://example.com/x) [top](#top) "
        "[other](OTHER.md)\n"
    )
    text = hooks.include_file("part/README.md", "sending/portal.md", root=tmp_path)  # type: ignore[attr-defined]
    assert "![shot](../assets/a.png)" in text          # relative to docs/sending/portal.md
    assert "(https://example.com/x)" in text and "(#top)" in text
    assert "(OTHER.md)" in text                       # outside docs/: left for strict to report
    with pytest.raises(ValueError, match="cannot include"):
        hooks.include_file("../etc/passwd", "x.md", root=tmp_path)  # type: ignore[attr-defined]


def test_conformance_options_come_from_the_cli() -> None:
    from hookseal_conformance import cli

    table = hooks.conformance_options()  # type: ignore[attr-defined]
    help_text = cli._parser().format_help()
    for side in ("verifier", "sender"):
        assert side in help_text
    for option in ("--adapter", "--examples", "--seed", "--junit-xml", "--profile", "--timing-stats"):
        assert f"`{option}" in table


def test_error_code_table_is_the_sdks_table_of_error_facts() -> None:
    from hookseal.errors import ERROR_FACTS

    table = hooks.error_codes()  # type: ignore[attr-defined]
    rows = {m.group(1): m.group(2, 3) for m in re.finditer(r"^\| `(\w+)` \| [^|]+ \| (\S+) \| (\S+) \|", table,
                                                            re.MULTILINE)}
    expected = {code: tuple("—" if n is None else str(n) for n in (f.status, f.exit_code))
                for code, f in ERROR_FACTS.items() if f.error is not None}
    assert rows == expected
    assert len(rows) == 7
