"""Hookseal's event catalog: versioned JSON Schemas for every webhook event.

The catalog is the single source of truth for every payload a Hookseal sender delivers. This
package ships the sample billing catalog and the tools around it::

    from hookseal_catalog import load_catalog

    catalog = load_catalog()                             # the catalog shipped in this package
    catalog.validate("invoice.paid", data, version=1)     # PayloadValidationError on bad data
    body = catalog.build_envelope("invoice.paid", data, version=1)
    v1 = derive(catalog, "payment.failed", v2_data, to_version=1)   # an older version's data

Modules: :mod:`~hookseal_catalog.catalog` (loading, lookup, validation),
:mod:`~hookseal_catalog.lint`, :mod:`~hookseal_catalog.diff` (breaking-change detection),
:mod:`~hookseal_catalog.release` (the frozen released snapshot),
:mod:`~hookseal_catalog.derivation` (older versions' data from newer),
:mod:`~hookseal_catalog.lifecycle` (versions served on a day),
:mod:`~hookseal_catalog.ordering` (ordering keys), :mod:`~hookseal_catalog.fields` (what a
JSON Pointer into data names), :mod:`~hookseal_catalog.scaffold` (``init``),
:mod:`~hookseal_catalog.package` (models packages for customers),
:mod:`~hookseal_catalog.pages` and :mod:`~hookseal_catalog.mkdocs_plugin` (the event
reference of a docs site), :mod:`~hookseal_catalog.openapi` (OpenAPI 3.1 export), :mod:`~hookseal_catalog.reference`
(the event reference the docs render), :mod:`~hookseal_catalog.codegen` (the SDK's pydantic
models), :mod:`~hookseal_catalog.strategies` (hypothesis strategies, ``testing`` extra) and
:mod:`~hookseal_catalog.cli` (the ``hookseal-catalog`` command).
"""

from __future__ import annotations

from typing import Any

from .catalog import (
    Catalog,
    ChangelogEntry,
    EventType,
    EventVersion,
    default_catalog_path,
    load_catalog,
)
from .derivation import derive
from .errors import (
    CatalogError,
    CatalogLoadError,
    DerivationError,
    DerivedDataInvalidError,
    EnvelopeValidationError,
    MissingDerivationError,
    PayloadValidationError,
    UnknownEventError,
    UnknownFieldError,
    ValidationIssue,
)

__all__ = [
    "Catalog",
    "CatalogError",
    "CatalogLoadError",
    "ChangelogEntry",
    "DerivationError",
    "DerivedDataInvalidError",
    "EnvelopeValidationError",
    "EventType",
    "EventVersion",
    "MissingDerivationError",
    "PayloadValidationError",
    "UnknownEventError",
    "UnknownFieldError",
    "ValidationIssue",
    "__version__",
    "default_catalog_path",
    "derive",
    "load_catalog",
]


def __getattr__(name: str) -> Any:
    # The version is stated once, in pyproject.toml: read the installed distribution's
    # metadata on first use.
    if name == "__version__":
        from importlib.metadata import version

        value = globals()["__version__"] = version("hookseal-catalog")
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
