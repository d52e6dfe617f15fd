"""The sender's version, from its one source: the installed package's metadata
(``version`` in reference_sender/pyproject.toml)."""

from __future__ import annotations

from importlib.metadata import version

#: The version of the installed ``hookseal-sender`` distribution.
__version__: str = version("hookseal-sender")

#: The ``User-Agent`` of deliveries by default: ``hookseal-sender/<version>``.
USER_AGENT = f"hookseal-sender/{__version__}"
