"""The ``hookseal-catalog`` MkDocs plugin: an event reference section for any catalog.

Needs MkDocs 1.6 (``pip install 'hookseal-catalog[docs]'``). In ``mkdocs.yml``::

    plugins:
      - search
      - hookseal-catalog:
          catalog: webhooks/catalog          # your catalog directory (default: the sample)
          path: events                       # where the section goes in the site
          about: webhooks/catalog/README.md  # optional: a page of conventions
                                             # (default: the catalog's README.md, if any)

It adds ``<path>/index.md`` (every event type, the envelope, versioning), one page per
event type (each version's fields, example body, history, ordering key and sunset) and
``<path>/events.json``, all built from :mod:`hookseal_catalog.pages` at build time, so
the reference cannot drift from the schemas. It also writes ``<path>/SUMMARY.md``, the
section's navigation for mkdocs-literate-nav (``nav: [{Events: events/}]``; it is not a
page itself); without literate-nav, list the pages in ``nav`` or let MkDocs list them.

Relative paths are read from the directory of ``mkdocs.yml``. ``mkdocs serve`` rebuilds
when a catalog file changes. A catalog that does not load fails the build with the
loader's message.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Optional

from mkdocs.config import config_options as c
from mkdocs.config.base import Config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import BasePlugin
from mkdocs.structure.files import File, Files, InclusionLevel

from .catalog import README, Catalog, load_catalog
from .errors import CatalogError
from .pages import reference_pages

__all__ = ["EventReferenceConfig", "EventReferencePlugin"]


class EventReferenceConfig(Config):  # type: ignore[no-untyped-call]
    """The plugin's options (see the module documentation)."""

    catalog = c.Optional(c.Type(str))
    path = c.Type(str, default="events")
    about = c.Optional(c.Type(str))


class EventReferencePlugin(BasePlugin[EventReferenceConfig]):  # type: ignore[no-untyped-call]
    """Generates the event reference pages of a catalog into the site."""

    def __init__(self) -> None:
        self._tmp: Optional[tempfile.TemporaryDirectory[str]] = None
        self._catalog_dir: Optional[Path] = None

    def _resolve(self, config: MkDocsConfig, value: Optional[str]) -> Optional[Path]:
        if value is None:
            return None
        path = Path(value)
        return path if path.is_absolute() else Path(config.config_file_path).resolve().parent / path

    def _load(self, config: MkDocsConfig) -> Catalog:
        self._catalog_dir = self._resolve(config, self.config.catalog)
        try:
            return load_catalog(self._catalog_dir)
        except CatalogError as exc:
            raise PluginError(f"hookseal-catalog: {exc}") from exc

    def on_files(self, files: Files, /, *, config: MkDocsConfig) -> Files:
        """Add the generated pages (written to a temporary directory, which other plugins
        such as literate-nav can read like any source file)."""
        catalog = self._load(config)
        about_path = self._resolve(config, self.config.about)
        if about_path is None and catalog.root is not None and (catalog.root / README).is_file():
            about_path = catalog.root / README
        about = None
        if about_path is not None:
            try:
                about = about_path.read_text(encoding="utf-8")
            except OSError as exc:
                raise PluginError(f"hookseal-catalog: cannot read the about page: {exc}") from exc
        if self._tmp is not None:
            self._tmp.cleanup()
        self._tmp = tempfile.TemporaryDirectory(prefix="hookseal-catalog-docs-")
        base = self.config.path.strip("/")
        for rel, text in reference_pages(catalog, about=about).items():
            src_uri = f"{base}/{rel}" if base else rel
            target = Path(self._tmp.name) / src_uri
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            inclusion = InclusionLevel.EXCLUDED if rel == "SUMMARY.md" else InclusionLevel.UNDEFINED
            existing = files.get_file_from_path(src_uri)
            if existing is not None:
                files.remove(existing)
            files.append(File.generated(config, src_uri, abs_src_path=str(target), inclusion=inclusion))
        return files

    def on_serve(self, server: Any, /, *, config: MkDocsConfig, builder: Any) -> Any:
        """``mkdocs serve``: rebuild when the catalog changes."""
        if self._catalog_dir is not None:
            server.watch(str(self._catalog_dir))
        return server
