# SPDX-License-Identifier: AGPL-3.0-or-later
"""The machine under the bench: what it is, its limits, and process figures.

``PiLimits`` makes a server Pi-sized: pinned to one core with ``taskset``
and its memory bounded, by the best means the machine offers, in order:
``systemd-run --scope -p MemoryMax`` where systemd runs, a cgroup v2 folder
with the memory controller, a cgroup v1 memory folder, and at last
``prlimit --as``, which bounds address space rather than memory and is only
a stand-in. ``ProcessWatch`` samples a process tree's CPU time, resident
memory and bytes written from ``/proc``. Both are used from the bench's
main thread; ``ProcessWatch`` runs one sampling thread of its own.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Self

CGROUP = Path("/sys/fs/cgroup")
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def describe_machine(data_dir: Path) -> dict:
    """What docs/performance.md states about the machine of a run."""
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in cpuinfo.splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    meminfo = Path("/proc/meminfo").read_text().split()
    mem_kb = int(meminfo[meminfo.index("MemTotal:") + 1])
    disk = subprocess.run(
        ["df", "-h", "--output=source,fstype,size", str(data_dir)],
        capture_output=True,
        text=True,
        check=False,
    )
    return {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "memory_mb": mem_kb // 1024,
        "disk": " ".join(disk.stdout.split()[3:]) if disk.returncode == 0 else "?",
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average": load_average(),
    }


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


def ensure_debian_packages(binaries: dict) -> list[str]:
    """Install the Debian packages whose binaries are missing; return notes.

    ``binaries`` maps a command (``wrk``) to its package (``wrk``).
    """
    missing = [
        package
        for command, package in binaries.items()
        if shutil.which(command) is None and not Path("/usr/sbin", command).exists()
    ]
    if not missing:
        return []
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise SystemExit(
            f"bench/classroom: needs {', '.join(missing)}; run it as root on "
            "Debian, or install them"
        )
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return [f"installed {', '.join(missing)} with apt-get"]


class PiLimits:
    """Wraps a command so that it runs on one core with bounded memory."""

    def __init__(self, cpu: str = "0", memory_max: str = "512M"):
        self.cpu = cpu
        self.memory_max = memory_max
        self.max_bytes = _bytes(memory_max)
        self.method = self._choose()
        self._folders: list[Path] = []

    def _choose(self) -> str:
        if Path("/run/systemd/system").is_dir() and shutil.which("systemd-run"):
            return "systemd-run"
        controllers = CGROUP / "cgroup.controllers"
        if controllers.exists() and "memory" in controllers.read_text().split():
            return "cgroup2"
        if (CGROUP / "memory" / "memory.limit_in_bytes").exists():
            return "cgroup1"
        return "prlimit"

    def describe(self) -> str:
        means = {
            "systemd-run": f"systemd-run --scope -p MemoryMax={self.memory_max}",
            "cgroup2": f"a cgroup v2 folder with memory.max={self.memory_max}",
            "cgroup1": f"a cgroup v1 memory folder with limit {self.memory_max} "
            "(this machine's init is not systemd)",
            "prlimit": f"prlimit --as={self.memory_max} (address space, a "
            "stand-in for a memory bound)",
        }
        return f"taskset -c {self.cpu}; {means[self.method]}"

    def wrap(self, name: str, argv: list[str]) -> list[str]:
        """The command line that starts ``argv`` inside the limits."""
        pinned = ["taskset", "-c", self.cpu, *argv]
        if self.method == "systemd-run":
            return [
                "systemd-run",
                "--scope",
                "--quiet",
                "--collect",
                "-p",
                f"MemoryMax={self.memory_max}",
                *pinned,
            ]
        if self.method == "prlimit":
            return ["prlimit", f"--as={self.max_bytes}", *pinned]

        folder = self._folder(name)
        # The shell joins the cgroup, then becomes the server: every child
        # the server starts is counted in the same folder.
        join = 'echo $$ > "$0/cgroup.procs" && exec "$@"'
        return ["sh", "-c", join, str(folder), *pinned]

    def _folder(self, name: str) -> Path:
        root = CGROUP if self.method == "cgroup2" else CGROUP / "memory"
        folder = root / f"classroom-bench-{name}"
        folder.mkdir(exist_ok=True)
        if self.method == "cgroup2":
            (folder / "memory.max").write_text(str(self.max_bytes))
            (folder / "memory.swap.max").write_text("0")
        else:
            (folder / "memory.limit_in_bytes").write_text(str(self.max_bytes))
        if folder not in self._folders:
            self._folders.append(folder)
        return folder

    def peak_bytes(self, name: str) -> int | None:
        """The cgroup's own peak memory (page cache included), if it has one."""
        for folder in self._folders:
            if folder.name == f"classroom-bench-{name}":
                for file in ("memory.peak", "memory.max_usage_in_bytes"):
                    if (folder / file).exists():
                        return int((folder / file).read_text())
        return None

    def cleanup(self) -> None:
        for folder in self._folders:
            try:
                folder.rmdir()
            except OSError:
                pass  # a process still in it; the next run reuses the folder
        self._folders.clear()


def _bytes(text: str) -> int:
    units = {"K": 1024, "M": 1024**2, "G": 1024**3}
    if text[-1].upper() in units:
        return int(float(text[:-1]) * units[text[-1].upper()])
    return int(text)


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [pid]
    while todo:
        current = todo.pop()
        tree.append(current)
        todo.extend(children.get(current, []))
    return tree


def sample(pid: int) -> dict:
    """CPU seconds, RSS bytes and bytes written by a process tree so far."""
    cpu = rss = written = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
            statm = Path(f"/proc/{member}/statm").read_text().split()
            io = Path(f"/proc/{member}/io").read_text().split()
        except OSError:
            continue
        cpu += (int(fields[11]) + int(fields[12])) / TICKS
        rss += int(statm[1]) * PAGE
        written += int(io[io.index("write_bytes:") + 1])
    return {"cpu_s": cpu, "rss_bytes": rss, "write_bytes": written}


class ProcessWatch:
    """CPU used, peak and final RSS, and bytes written over a stretch of time."""

    def __init__(self, pid: int, every_s: float = 0.25):
        self.pid = pid
        self.every_s = every_s
        self._stop = threading.Event()
        self._thread = None
        self.peak_rss = 0
        self.first = None

    def __enter__(self) -> Self:
        self.first = sample(self.pid)
        self.started = time.monotonic()
        self.peak_rss = self.first["rss_bytes"]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every_s):
            self.peak_rss = max(self.peak_rss, sample(self.pid)["rss_bytes"])

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()
        last = sample(self.pid)
        seconds = time.monotonic() - self.started
        self.figures = {
            "seconds": round(seconds, 2),
            "cpu_s": round(last["cpu_s"] - self.first["cpu_s"], 2),
            "cpu_share": round((last["cpu_s"] - self.first["cpu_s"]) / seconds, 3),
            "rss_mb_end": round(last["rss_bytes"] / 2**20, 1),
            "rss_mb_peak": round(max(self.peak_rss, last["rss_bytes"]) / 2**20, 1),
            "written_bytes": last["write_bytes"] - self.first["write_bytes"],
        }
