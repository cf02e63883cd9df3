# SPDX-License-Identifier: AGPL-3.0-or-later
"""nginx (Debian's package) serving the hub's own pack files, as the yardstick.

The bench writes a configuration of its own: one worker, on the same core
the hub gets, on 127.0.0.1, with the hub's packs folder as its root, so
both serve the same file from the same disk. ``sendfile`` is on, as in
Debian's default configuration. Nothing is read from or written to
``/etc/nginx``; logs and the pid file go to the run folder.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from .hub_side import free_port
from .server_process import ServerProcess

_CONFIG = """
worker_processes 1;
daemon off;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {run}/nginx-body;
    proxy_temp_path {run}/nginx-proxy;
    fastcgi_temp_path {run}/nginx-fastcgi;
    uwsgi_temp_path {run}/nginx-uwsgi;
    scgi_temp_path {run}/nginx-scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location /packs/ {{
            alias {root}/;
            etag on;
        }}
    }}
}}
"""


class Nginx(ServerProcess):
    stop_grace_s = 10

    def __init__(self, packs_dir: Path, run_dir: Path):
        self.packs_dir = packs_dir
        self.run_dir = run_dir
        self.port = free_port()
        self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, limits=None) -> Nginx:
        config = self.run_dir / "nginx.conf"
        config.write_text(
            _CONFIG.format(run=self.run_dir, port=self.port, root=self.packs_dir)
        )
        argv = ["nginx", "-c", str(config), "-p", str(self.run_dir)]
        self.process = subprocess.Popen(
            limits.wrap("nginx", argv) if limits else argv,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait()
        return self

    def _wait(self) -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"nginx exited; see nginx-error.log in {self.run_dir}"
                )
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not start listening in 10 s")
