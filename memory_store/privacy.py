"""Private by default: a store's directory is made 0700 and each of its files 0600, and a store that other
accounts could read is found (`exposed`) for the caller to report.

A store holds a person's private life. SQLite gives the WAL and shared-memory files the mode of the
database file, so creating `memory.db` 0600 before SQLite opens it covers all three; index files and
exports are written 0600 through `private_opener`. Modes are set explicitly, whatever the umask.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> None:
    """Create the directory (and missing parents) if needed; one created here is made 0700. An existing
    directory is left as it is: `exposed` reports it."""
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)


def private_file(path: Path) -> None:
    """Create an empty file 0600 if it does not exist (so what opens it next keeps that mode)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)
    os.chmod(path, FILE_MODE)


def private_opener(path: str, flags: int) -> int:
    """An `open(..., opener=private_opener)` that creates files 0600."""
    fd = os.open(path, flags, FILE_MODE)
    os.fchmod(fd, FILE_MODE)
    return fd


def exposed(root: Path) -> list[Path]:
    """The store's directory and the files and folders in it that accounts other than the owner can read,
    write or enter (any group or other permission bit), root first."""
    found = []
    for path in [root, *sorted(root.rglob("*"))]:
        try:
            mode = path.stat().st_mode
        except OSError:  # removed meanwhile (a temporary file)
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            found.append(path)
    return found
