"""The exceptions ``hookseal_catalog`` raises.

Every error derives from :class:`CatalogError` and has a stable ``code``, so
``except CatalogError`` catches them all. Validation errors carry JSON pointers so that a
caller (the reference sender at enqueue, the conformance suite on a received body, a CLI
user) can say exactly which value is wrong.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Optional


class CatalogError(Exception):
    """Base class of every error raised by ``hookseal_catalog``.

    Attributes:
        code: A stable, machine-readable error code; each subclass has its own.
    """

    code = "catalog_error"


@dataclass(frozen=True)
class Problem:
    """One problem found in a catalog's files: where it is and what is wrong.

    Attributes:
        file: The path relative to the catalog root, with POSIX separators.
        pointer: A JSON pointer into that file's document (``""`` for the whole document).
        message: What is wrong.
    """

    file: str
    pointer: str
    message: str

    def __str__(self) -> str:
        where = self.file + (f"#{self.pointer}" if self.pointer else "")
        return f"{where}: {self.message}"


class CatalogLoadError(CatalogError):
    """The catalog's files could not be loaded (unreadable JSON, missing manifest or envelope).

    Attributes:
        problems: Everything found; ``hookseal-catalog lint`` reports the same problems.
    """

    code = "catalog_load_error"

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        lines = "\n".join(f"  {p}" for p in self.problems)
        super().__init__(f"cannot load the event catalog:\n{lines}")


class UnknownEventError(CatalogError, LookupError):
    """An event type, or a version of it, is not in the catalog.

    Attributes:
        event_type: The type asked for.
        version: The version asked for, or None when the type itself is unknown.
    """

    code = "unknown_event"

    def __init__(self, event_type: object, version: Optional[object] = None, known: Sequence[int] = ()) -> None:
        self.event_type = event_type
        self.version = version
        if version is None:
            message = f"unknown event type {event_type!r}"
        else:
            have = ", ".join(f"v{v}" for v in known) or "none"
            message = f"unknown version {version!r} of event type {event_type!r} (the catalog has {have})"
        super().__init__(message)

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class ValidationIssue:
    """One reason an instance does not validate.

    Attributes:
        pointer: JSON pointer of the offending value in the validated instance (``""`` is the
            whole instance; for an envelope, payload values are under ``/data``). For a
            missing property it is the object that lacks it.
        message: What is wrong, in English.
        keyword: The JSON Schema keyword that failed (``required``, ``type``, ...).
        schema_pointer: Where that keyword is, in the (inlined) schema validated against.
    """

    pointer: str
    message: str
    keyword: str
    schema_pointer: str

    def __str__(self) -> str:
        return f"{self.pointer or '/'}: {self.message}"


class PayloadValidationError(CatalogError, ValueError):
    """An event payload (``data``) does not validate against its event schema.

    Raised by :meth:`hookseal_catalog.Catalog.validate`.

    Attributes:
        event_type: The event type validated against.
        version: The major version validated against.
        issues: Every failure, most relevant first.
        pointer: The JSON pointer of the first issue (the message is the first issue's too).
    """

    code = "invalid_event_data"

    def __init__(self, event_type: str, version: int, issues: Sequence[ValidationIssue]) -> None:
        self.event_type = event_type
        self.version = version
        self.issues: tuple[ValidationIssue, ...] = tuple(issues)
        first = self.issues[0] if self.issues else ValidationIssue("", "invalid", "", "")
        self.pointer = first.pointer
        more = f" (and {len(self.issues) - 1} more)" if len(self.issues) > 1 else ""
        super().__init__(f"{event_type} v{version}: {first}{more}")


class EnvelopeValidationError(PayloadValidationError):
    """An event envelope is malformed, or its ``data`` does not validate.

    Raised by :meth:`hookseal_catalog.Catalog.validate_envelope`. ``event_type`` and
    ``version`` are those the envelope claims (``"?"`` and ``0`` when it does not say);
    pointers start at the envelope's root, so payload errors start with ``/data``.
    """

    code = "invalid_envelope"


class GitSourceError(CatalogError):
    """A catalog could not be read from a git revision (``hookseal-catalog diff REV ...``)."""

    code = "git_source_error"


class SnapshotError(CatalogError):
    """The released snapshot is missing, was edited by hand, or does not match the catalog."""

    code = "snapshot_error"


class CodegenError(CatalogError):
    """Model generation failed, or (with ``--check``) the committed models are stale."""

    code = "codegen_error"


class DerivationError(CatalogError):
    """An older version's ``data`` could not be derived from a newer version's.

    Raised by :func:`hookseal_catalog.derivation.derive` when a step cannot apply (its
    source field is absent where it is needed, a named function is not registered or
    raised) . A sender treats it as a permanent failure of that one delivery: an invalid
    body is never sent.

    Attributes:
        event_type: The event type.
        from_version: The version the failing derivation reads.
        to_version: The version it was deriving.
        step: The index of the failing step in that version's ``derivation.steps``, or
            None when the failure is not one step's (a missing derivation, an invalid result).
        reason: What went wrong, in English.
    """

    code = "derivation_failed"

    def __init__(
        self,
        event_type: str,
        from_version: int,
        to_version: int,
        reason: str,
        *,
        step: Optional[int] = None,
    ) -> None:
        self.event_type = event_type
        self.from_version = from_version
        self.to_version = to_version
        self.step = step
        self.reason = reason
        where = f" (step {step})" if step is not None else ""
        super().__init__(f"{event_type}: cannot derive v{to_version} from v{from_version}{where}: {reason}")


class MissingDerivationError(DerivationError):
    """The catalog declares no derivation for a version (or no usable one): there is no way
    to derive that version's ``data``, so it cannot be served to an endpoint pinned to it."""

    code = "derivation_missing"


class DerivedDataInvalidError(DerivationError):
    """A derivation ran, but its result does not validate against the older version's schema.

    Attributes:
        issues: Every validation failure of the derived ``data`` (pointers into it).
    """

    code = "derived_data_invalid"

    def __init__(self, event_type: str, from_version: int, to_version: int, issues: Sequence[ValidationIssue]) -> None:
        self.issues: tuple[ValidationIssue, ...] = tuple(issues)
        first = str(self.issues[0]) if self.issues else "invalid"
        more = f" (and {len(self.issues) - 1} more)" if len(self.issues) > 1 else ""
        super().__init__(
            event_type, from_version, to_version, f"the result is not valid v{to_version} data: {first}{more}"
        )


class UnknownFieldError(CatalogError, LookupError):
    """A JSON Pointer into an event's ``data`` names no field of that version's schema.

    Attributes:
        event_type: The event type.
        version: The version whose schema was searched.
        pointer: The pointer asked about.
    """

    code = "unknown_field"

    def __init__(self, event_type: str, version: int, pointer: str, reason: str) -> None:
        self.event_type = event_type
        self.version = version
        self.pointer = pointer
        super().__init__(f"{event_type} v{version}: {pointer!r} names no field of data: {reason}")

    def __str__(self) -> str:
        return str(self.args[0])


class ScaffoldError(CatalogError):
    """``hookseal-catalog init`` refused to write: the target exists and is not empty, or
    a name given for the new catalog breaks the naming conventions."""

    code = "scaffold_error"


class CatalogLintError(CatalogError):
    """A catalog loaded, but ``hookseal-catalog lint`` finds errors in it: a program that
    relies on a catalog (a sender at start) refuses it with the linter's messages.

    Attributes:
        issues: The lint errors (``hookseal_catalog.lint.LintIssue``), as the linter prints them.
    """

    code = "catalog_invalid"

    def __init__(self, where: str, issues: Sequence[object]) -> None:
        self.issues: tuple[object, ...] = tuple(issues)
        lines = "\n".join(f"  {issue}" for issue in self.issues)
        super().__init__(f"the event catalog {where} does not pass `hookseal-catalog lint`:\n{lines}")
