# SPDX-License-Identifier: AGPL-3.0-or-later
"""A server the bench started as a child process, and how it is stopped.

The hub, Kolibri and nginx each run as one child process; stopping asks
politely (SIGTERM) for ``stop_grace_s`` seconds, then kills. Used from the
bench's main thread only.
"""

from __future__ import annotations

import subprocess


class ServerProcess:
    process: subprocess.Popen | None = None
    stop_grace_s: float = 20

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(self.stop_grace_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
