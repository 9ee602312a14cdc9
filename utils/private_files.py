"""Files only the owner may read: backups, reports, exports (0600 files in 0700 folders).

The modes are set explicitly, not left to the process umask: a backup holds the whole database
and a report names people, so a lax umask (022: readable by everyone) must not leak them.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) and make it 0700; an existing one is tightened."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Create `path` empty with mode 0600 (or make an existing file 0600) before anything is
    written into it, so its content is never readable by others, not even for a moment."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)
    return path
