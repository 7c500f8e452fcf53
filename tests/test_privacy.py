"""Private by default: a new store is readable by its owner only, and a store others can read is reported."""

from __future__ import annotations

import os
import stat

from conftest import T0
from fakes import HashEmbedder
from memory_store import MemoryStore

from test_cli import run


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_store_and_its_files_are_private_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        store = MemoryStore.open(tmp_path / "home" / "store", embedder=HashEmbedder())
        store.add("My PIN is 4321.", now=T0)
        store.search("PIN", k=1, now=T0)
        path = store.path
        assert {p.name for p in path.glob("memory.db*")} >= {"memory.db", "memory.db-wal", "memory.db-shm"}
        assert all(mode(p) == 0o600 for p in path.glob("memory.db*"))
        store.export_jsonl(tmp_path / "export.jsonl")
        store.close()
    finally:
        os.umask(old)
    assert mode(path) == 0o700 and mode(path / "index") == 0o700
    assert [mode(p) for p in (path / "index").iterdir()] == [0o600]
    assert mode(tmp_path / "export.jsonl") == 0o600
    assert MemoryStore.open(path, embedder=HashEmbedder()).exposed == []


def test_a_store_others_can_read_is_reported_once_by_the_cli(tmp_path, capsys):
    home = tmp_path / "home"
    assert run(["--home", str(home), "add", "--raw", "My PIN is 4321."], capsys)[0] == 0
    os.chmod(home, 0o755)
    os.chmod(home / "memory.db", 0o644)
    store = MemoryStore.open(home)
    assert store.exposed[:2] == [home, home / "memory.db"]  # (SQLite gives the WAL the database's mode)
    store.close()
    code, out, err = run(["--home", str(home), "facts"], capsys)
    assert code == 0 and "PIN" in out
    assert err.count("can be read by other accounts") == 1 and f"chmod -R go-rwx {home}" in err
    for path in [home, *home.rglob("*")]:
        os.chmod(path, 0o700 if path.is_dir() else 0o600)
    assert "other accounts" not in run(["--home", str(home), "facts"], capsys)[2]
