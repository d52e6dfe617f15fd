"""The built site: strict build, generated event pages, included snippets and files."""

from __future__ import annotations

import json
import re
from pathlib import Path

from docs_support import page_html, text_of
from hookseal_catalog import load_catalog

ROOT = Path(__file__).resolve().parents[2]
SNIPPETS = ROOT / "sdk" / "snippets"
# Snippet folder -> the tab label on the verification page.
LANGUAGES = {"typescript": "TypeScript", "python": "Python", "ruby": "Ruby", "go": "Go", "php": "PHP"}
START = re.compile(r"--8<-- \[start:verify\]")
END = re.compile(r"--8<-- \[end:verify\]")


def test_strict_build_passes_without_warnings(build) -> None:
    assert build.returncode == 0, build.output[-4000:]
    assert "WARNING" not in build.output, build.output


def test_every_catalog_event_has_a_page(site: Path) -> None:
    catalog = load_catalog()
    assert catalog.events, "the catalog has no events"
    index = text_of(page_html(site, "events"))
    for event_type in catalog.events.values():
        page = text_of(page_html(site, f"events/{event_type.type}"))
        current = event_type.current
        assert event_type.type in index
        assert " ".join(current.fires_when.replace("`", "").split()) in " ".join(page.split())
        for version in event_type:
            assert f"Version {version.version}" in page
            example = catalog.example_envelope(version.type, version.version)
            assert example["id"] in page  # the example body is shown
    listed = json.loads((site / "events" / "events.json").read_text())
    assert listed == sorted(catalog.events)


def test_event_pages_list_every_top_level_field(site: Path) -> None:
    catalog = load_catalog()
    for version in catalog.versions():
        page = text_of(page_html(site, f"events/{version.type}"))
        for name in catalog.resolved_schema(version.type, version.version).get("properties", {}):
            assert name in page, f"{version.type} v{version.version}: field {name} missing"


def _snippet_file(language: str) -> Path:
    hits = [p for p in (SNIPPETS / language).rglob("*") if p.is_file()
            and "node_modules" not in p.parts and "build" not in p.parts
            and START.search(p.read_text(encoding="utf-8", errors="replace"))]
    assert len(hits) == 1, f"{language}: expected one file with a verify section, found {hits}"
    return hits[0]


def test_every_snippet_language_is_on_the_verification_page(site: Path) -> None:
    folders = {p.name for p in SNIPPETS.iterdir() if p.is_dir() and p.name != "tests"}
    assert folders == set(LANGUAGES), "a snippet language was added or removed: update the docs"
    markup = page_html(site, "signing")
    labels = re.findall(r"<label for=\"__tabbed_\d+_\d+\">([^<]+)</label>", markup)
    text = " ".join(text_of(markup).split())
    for language, label in LANGUAGES.items():
        assert labels.count(label) >= 1, f"no {label} tab"
        source = _snippet_file(language).read_text(encoding="utf-8")
        section = source[START.search(source).end():END.search(source).start()]
        lines = [ln.strip() for ln in section.splitlines()[1:-1]
                 if len(ln.strip()) > 25 and "--8<--" not in ln]
        assert lines, language
        # The first, a middle and the last substantial line of the section are on the page.
        for line in (lines[0], lines[len(lines) // 2], lines[-1]):
            assert " ".join(line.split()) in text, f"{language}: {line!r} not on the page"
    assert "--8<--" not in text


def test_included_files_are_rendered(site: Path) -> None:
    receiving = text_of(page_html(site, "receiving-python"))
    assert "Process each delivery once" in receiving
    adapter = text_of(page_html(site, "conformance-sender-adapter"))
    assert "create_endpoint" in adapter and "rotate_secret" in adapter
    assert "durable" in text_of(page_html(site, "performance-sender"))
    assert "hookseal verify (hookseal-v1)" in text_of(page_html(site, "performance-sdk"))
    conformance = page_html(site, "conformance")
    assert "Proof that it catches bugs" in text_of(conformance)
    assert "--timing-stats N" in text_of(conformance)  # the generated options table, in its details
    portal = page_html(site, "portal")
    images = re.findall(r'<img [^>]*src="([^"]+)"', portal)
    assert images, "the portal page lost its screenshots"
    for src in images:  # the include hook rewrote ../docs/assets/... to site-relative paths
        assert (site / "portal" / src).resolve().is_file(), src


def test_quickstart_shows_the_tested_commands(site: Path) -> None:
    # sdk/python/tests/test_listen.py runs the guide's quickstart block end to end; the
    # docs quickstart must show exactly those commands.
    guide = (ROOT / "sdk" / "python" / "docs-receiving.md").read_text(encoding="utf-8")
    block = guide.split("<!-- quickstart", 1)[1].split("```console\n", 1)[1].split("```", 1)[0]
    commands = [c for c in block.splitlines() if c.strip()]
    assert any(c.startswith("hookseal listen") for c in commands)
    assert any(c.startswith("hookseal trigger") for c in commands)
    page = text_of(page_html(site, "quickstart"))
    for command in commands:
        assert command in page


def test_api_reference_documents_the_public_api(site: Path) -> None:
    import hookseal
    import hookseal.idempotency
    import hookseal.ordering
    import hookseal_conformance
    import hookseal_sender
    import hookseal_sender.ops
    import hookseal_sender.review

    for module, page in ((hookseal, "reference/hookseal"),
                         (hookseal_conformance, "reference/hookseal_conformance"),
                         (hookseal.idempotency, "reference/hookseal-receiving"),
                         (hookseal.ordering, "reference/hookseal-receiving"),
                         (hookseal_sender, "reference/hookseal_sender"),
                         (hookseal_sender.review, "reference/hookseal_sender"),
                         (hookseal_sender.ops, "reference/hookseal_sender")):
        markup = page_html(site, page)
        for name in module.__all__:
            if name.startswith("__"):
                continue
            assert f'id="{module.__name__}.{name}"' in markup, f"{module.__name__}.{name} not documented"


def test_no_external_scripts_or_styles(site: Path) -> None:
    # The site must work with no network: no CDN scripts, stylesheets or fonts.
    for page in site.rglob("*.html"):
        markup = page.read_text(encoding="utf-8")
        for tag in re.findall(r"<(?:script|link)\b[^>]*>", markup):
            src = re.search(r"(?:src|href)=\"(https?:)?//[^\"]+\"", tag)
            if src and ("<script" in tag or "stylesheet" in tag or "preconnect" in tag):
                raise AssertionError(f"{page.relative_to(site)} loads {src.group(0)}")


# Where the API reference's docstrings come from (mkdocs.yml, mkdocstrings' paths).
DOCSTRING_SOURCES = (ROOT / "sdk" / "python" / "src", ROOT / "reference_sender" / "src",
                     ROOT / "conformance" / "src")
_DOCTEST_FLAG = re.compile(r"\s*# doctest:.*$")


def _docstring_examples() -> list[str]:
    """The first line of every ``>>>`` example in the documented packages' sources."""
    found = []
    for source in DOCSTRING_SOURCES:
        for path in sorted(source.rglob("*.py")):
            previous = ""
            for line in path.read_text(encoding="utf-8").splitlines():
                stripped = line.strip()
                if stripped.startswith(">>> ") and not previous.startswith((">>>", "...")):
                    found.append(_DOCTEST_FLAG.sub("", stripped))
                previous = stripped
    return found


def test_docstring_examples_render_as_code_not_blockquotes(site: Path) -> None:
    # Outside a Google-style `Examples:` section, a docstring's `>>>` is Markdown: three
    # nested blockquotes around the code run together as one paragraph (issue 26).
    for page in site.rglob("*.html"):
        markup = page.read_text(encoding="utf-8")
        where = page.relative_to(site)
        assert not re.search(r"<blockquote>\s*<blockquote>", markup), f"{where}: nested blockquote"
        for quote in re.findall(r"<blockquote>(.*?)</blockquote>", markup, re.DOTALL):
            assert ">>>" not in text_of(quote), f"{where}: a >>> example in a blockquote"
    examples = _docstring_examples()
    assert len(examples) >= 11, examples
    reference = "".join(page_html(site, f"reference/{name}")
                        for name in ("hookseal", "hookseal-receiving", "hookseal_sender",
                                     "hookseal_conformance"))
    code = [" ".join(text_of(block).split())
            for block in re.findall(r"<pre\b[^>]*>(.*?)</pre>", reference, re.DOTALL)]
    for example in examples:
        assert any(" ".join(example.split()) in block for block in code), (
            f"{example!r} is not in a code block of the API reference")
