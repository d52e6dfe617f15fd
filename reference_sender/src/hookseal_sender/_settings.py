"""The settings file (``hookseal-sender.json``): read, and checked field by field.

Every field is checked when the file is read, with an error naming the file and the
field, so a typo or a wrong type never surfaces later as a traceback.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Callable

from ._http import DEFAULT_MAX_BODY_BYTES
from .errors import ConfigError

#: The database of a settings file that names none.
DEFAULT_DATABASE = "sqlite:///hookseal-sender.db"


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError("must be a non-empty string")
    return value


def _optional_string(value: Any) -> Any:
    return None if value is None else _string(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    return value


def _optional_object(value: Any) -> Any:
    return None if value is None else _object(value)


def _api_keys(value: Any) -> dict[str, str]:
    keys = _object(value)
    for key, name in keys.items():
        if not key or not isinstance(name, str) or not name:
            raise ValueError('must map each API key to its name, such as {"hsk_...": "admin"}')
    return keys


def _metrics_keys(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(k, str) and k for k in value):
        raise ValueError("must be a list of keys (strings)")
    return value


def _modules(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(m, str) and m for m in value):
        raise ValueError("must be a list of module names (strings)")
    return value


def _positive_seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not math.isfinite(value) or value <= 0:
        raise ValueError("must be a number of seconds > 0")
    return float(value)


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError("must be a positive integer")
    return int(value)


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError("must be an integer >= 0")
    return int(value)


#: Each field the file may hold, with its check (a ``ValueError`` says what is wrong).
FIELDS: dict[str, Callable[[Any], Any]] = {
    "database": _string,
    "master_key_file": _optional_string,
    "api_keys": _api_keys,
    "metrics_keys": _metrics_keys,
    "allow_local": _flag,
    "max_body_bytes": _positive_int,
    "public_url": _string,
    "smtp": _optional_object,
    "portal": _object,
    "egress_proxy": _optional_string,
    "owner_notices": _object,
    "admin": _object,
    "catalog": _optional_string,
    "derivations": _modules,
    "idempotency_retention": _positive_seconds,
    "metrics_endpoint_series": _count,
}


def check_settings(settings: Any, source: str) -> dict[str, Any]:
    """Check every field of a settings object.

    Args:
        settings: The parsed file.
        source: Where it came from, for error messages.

    Returns:
        The settings, with defaults for ``database``, ``allow_local``,
        ``max_body_bytes``, ``api_keys`` and ``metrics_keys``.

    Raises:
        ConfigError: Not an object, an unknown field, or a field of the wrong form.
    """
    if not isinstance(settings, dict):
        raise ConfigError(f"{source} must hold a JSON object")
    unknown = sorted(set(settings) - set(FIELDS))
    if unknown:
        raise ConfigError(f"{source}: unknown field {unknown[0]!r} (known: "
                          f"{', '.join(FIELDS)})")
    out = {"database": DEFAULT_DATABASE, "allow_local": False, "api_keys": {},
           "metrics_keys": [], "max_body_bytes": DEFAULT_MAX_BODY_BYTES, **settings}
    for name, check in FIELDS.items():
        if name in out:
            try:
                check(out[name])
            except ValueError as exc:
                raise ConfigError(f"{source}: field {name!r} {exc}") from None
    return out


def read_settings(path: Path) -> dict[str, Any]:
    """Read and check a settings file; relative paths in it are resolved against its
    directory.

    Args:
        path: The file.

    Returns:
        The checked settings (see :func:`check_settings`).

    Raises:
        ConfigError: The file is missing, unreadable (a directory, say), not JSON, or a
            field is wrong; the message names the file and the field.
    """
    if not path.exists():
        raise ConfigError(f"no settings file {path}: run `hookseal-sender init` first")
    if path.is_dir():
        raise ConfigError(f"settings file {path} is a directory; give the file "
                          f"({path / 'hookseal-sender.json'}, say)")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read settings file {path}: {exc}") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"settings file {path} is not JSON: {exc.msg} at line {exc.lineno}"
                          f" column {exc.colno}") from None
    except RecursionError:
        raise ConfigError(f"settings file {path} nests too deeply") from None
    return resolve_paths(check_settings(raw, f"settings file {path}"), path.resolve().parent)


def resolve_paths(settings: dict[str, Any], base: Path) -> dict[str, Any]:
    """Resolve the relative paths of settings (SQLite file, master key, catalog directory)
    against ``base``.

    Args:
        settings: Checked settings.
        base: The settings file's directory.

    Returns:
        A copy with absolute paths.
    """
    out = dict(settings)
    db = out["database"]
    if db.startswith("sqlite:///") and not db.startswith("sqlite:////"):
        out["database"] = f"sqlite:///{base / db[len('sqlite:///'):]}"
    if out.get("master_key_file"):
        out["master_key_file"] = str(base / out["master_key_file"])
    if out.get("catalog"):
        out["catalog"] = str(base / out["catalog"])
    return out
