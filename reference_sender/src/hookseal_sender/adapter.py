"""``python -m hookseal_sender.adapter``: the conformance sender adapter's documented command.

The adapter itself is :mod:`hookseal_sender.conformance_adapter` (named for what it is for);
this module keeps the documented command and imports working.
"""

from __future__ import annotations

import sys

from .conformance_adapter import Adapter, ConformanceAdapter, delivery_json, main, serve

__all__ = ["Adapter", "ConformanceAdapter", "delivery_json", "main", "serve"]

if __name__ == "__main__":
    sys.exit(main())
