"""Command-line options shared by the ``hookseal`` CLI's subcommands."""

from __future__ import annotations

import argparse

from .profiles import DEFAULT_HEADER_PREFIX, HOOKSEAL_V1, PROFILES


def add_profile_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--profile`` and ``--prefix`` (the wire profile and its header prefix).

    Args:
        parser: The subcommand's parser.
    """
    parser.add_argument("--profile", choices=PROFILES, default=HOOKSEAL_V1,
                        help="wire profile (default: %(default)s)")
    parser.add_argument("--prefix", default=DEFAULT_HEADER_PREFIX,
                        help="hookseal-v1 header prefix (default: %(default)s)")
