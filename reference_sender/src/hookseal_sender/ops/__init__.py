"""What an operator installs beside the sender: Prometheus alert rules and a Grafana dashboard.

Both ship inside the package, so the version installed is the one matching the metrics the
sender exports. ``hookseal-sender ops-files --out DIR`` copies them out.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ..errors import InvalidRequestError

#: The Prometheus rules file (five alerts), for ``rule_files:`` in ``prometheus.yml``.
RULES = "hookseal-alerts.yml"
#: The Grafana dashboard, for Dashboards → New → Import (or file provisioning).
DASHBOARD = "hookseal-dashboard.json"
#: Every file shipped here.
FILES = (RULES, DASHBOARD)


def read(name: str) -> str:
    """The text of one shipped file.

    Args:
        name: :data:`RULES` or :data:`DASHBOARD`.

    Returns:
        Its text.

    Raises:
        InvalidRequestError: ``name`` is not a shipped file.
    """
    if name not in FILES:
        raise InvalidRequestError(f"no such operations file {name!r}: one of {', '.join(FILES)}")
    return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")


def export(out_dir: Path) -> list[Path]:
    """Write the rules file and the dashboard into a directory (made if missing).

    Args:
        out_dir: The directory; files of the same names there are replaced.

    Returns:
        The paths written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name in FILES:
        path = out_dir / name
        path.write_text(read(name), encoding="utf-8")
        written.append(path)
    return written


__all__ = ["DASHBOARD", "FILES", "RULES", "export", "read"]
