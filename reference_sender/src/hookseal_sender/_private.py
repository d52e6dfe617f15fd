"""Files only their owner may read: the database, the master key, the settings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Union

#: The mode of every file the sender creates: owner read and write, nothing for others.
PRIVATE_MODE = 0o600


def create_private(path: Union[str, Path]) -> bool:
    """Create an empty file with mode 0600 if it does not exist (whatever the umask).

    The file is created with its final mode in one step, so there is no moment when
    another user could open it. SQLite creates a database's ``-wal`` and ``-shm`` files
    with the database file's mode, so creating the database this way covers them too.

    Args:
        path: The file.

    Returns:
        ``True`` if it was created, ``False`` if it existed.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def write_private(path: Union[str, Path], text: str) -> None:
    """Write ``text`` to a new file of mode 0600 (an existing file is replaced).

    Written to a temporary file of mode 0600 beside it, then renamed over it, so the file
    is never readable by others and never half written.

    Args:
        path: The file.
        text: Its content (UTF-8).
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, PRIVATE_MODE)  # an existing leftover kept its old mode
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
