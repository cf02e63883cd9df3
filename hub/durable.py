# SPDX-License-Identifier: AGPL-3.0-or-later
"""Writing files so that a power cut leaves the old version or the new one.

Schools lose power without warning and SD cards keep what was fsynced, not
what was written: a file is written beside its target, fsynced, renamed over
it, and the folder fsynced so that the rename itself survives. Functions of
their arguments alone; safe from any thread when each writes its own path.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path


def fsync_dir(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` survive a power cut."""
    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def write_file_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that a crash leaves old or new."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        # A full disk fails the write; leave no half file behind.
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
