"""Files the sender creates are 0600 whatever the umask, from their first moment."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from hookseal_sender import SQLiteStore, generate_master_key
from hookseal_sender._private import create_private, write_private
from hookseal_sender.secretbox import SecretBox


@pytest.fixture
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_create_private(tmp_path: Path, open_umask: None) -> None:
    f = tmp_path / "db"
    assert create_private(f) and mode(f) == 0o600
    f.chmod(0o644)  # an existing file is left as its owner set it
    assert not create_private(f) and mode(f) == 0o644


def test_write_private_replaces_with_a_private_file(tmp_path: Path, open_umask: None) -> None:
    f = tmp_path / "settings.json"
    f.write_text("old")
    f.chmod(0o644)
    write_private(f, "new")
    assert f.read_text() == "new" and mode(f) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]  # no temporary left


def test_sqlite_database_wal_and_shm_are_private(tmp_path: Path, open_umask: None) -> None:
    """Regression: the SQLite database was created 0644."""
    db = tmp_path / "sender.db"
    store = SQLiteStore(str(db), SecretBox(generate_master_key()))
    store.migrate()
    try:
        files = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
        assert all(p.exists() for p in files)
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    finally:
        store.close()
