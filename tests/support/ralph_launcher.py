# SPDX-License-Identifier: AGPL-3.0-or-later
"""Serve Ralph's LRS app on a listening socket handed over by the tests.

Run by ``tests/support/lrs.py`` with the Ralph venv's python, never imported
by the hub's tests: ``python -I ralph_launcher.py FD`` where FD is a TCP
socket already bound to 127.0.0.1 and listening. Ralph's settings come from
the environment the caller sets (``RALPH_*``).

One process, one thread serving, no reloader. SIGTERM (or Ctrl-C) stops
uvicorn cleanly, and so does the death of the test process that started it,
so a killed test run leaves no server behind. The statements file is
appended line by line: a kill leaves at most a torn last line in a test's
temporary folder.
"""

import os
import signal
import socket
import sys
import threading
import time


def stop_when_orphaned(parent: int) -> None:
    """Send ourselves SIGTERM once the process that started us is gone."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="orphan-watch", daemon=True).start()


def main() -> int:
    if len(sys.argv) != 2 or not sys.argv[1].isdigit():
        print("usage: ralph_launcher.py FD (a listening TCP socket)", file=sys.stderr)
        return 2
    sock = socket.socket(fileno=int(sys.argv[1]))
    stop_when_orphaned(os.getppid())

    # The tests promise that nothing they start listens beyond loopback.
    host, port = sock.getsockname()[:2]
    if host != "127.0.0.1":
        print(f"refusing to serve on {host}: only 127.0.0.1", file=sys.stderr)
        return 2

    # Ralph's file backend as released opens its one statements file in
    # "create" mode, so every write after the first fails with 500. Append
    # mode must be in place before the routers module builds its backend
    # at import time.
    from ralph.backends.data.base import BaseOperationType
    from ralph.backends.lrs.fs import FSLRSBackend

    FSLRSBackend.default_operation_type = BaseOperationType.APPEND

    import uvicorn
    from ralph.api import app

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        workers=1,
        reload=False,
        access_log=False,
        log_level="warning",
        lifespan="off",
    )
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
