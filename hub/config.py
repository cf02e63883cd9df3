# SPDX-License-Identifier: AGPL-3.0-or-later
"""The hub's settings: one registry with each key's default, unit and meaning.

Settings come, each overriding the last, from the defaults below, a config
file of ``KEY = value`` lines (``/etc/classroom-hub/hub.conf`` when installed),
environment variables named ``CLASSROOM_HUB_<KEY>``, and command-line options.
Unknown keys are reported, never silently ignored. A ``Settings`` object is
read-only once built, so any thread may read it.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

ENV_PREFIX = "CLASSROOM_HUB_"


@dataclass(frozen=True)
class Setting:
    name: str
    default: object
    help: str
    # Bounds for whole-number settings, inclusive; None is no upper bound.
    low: int = 0
    high: int | None = None

    @property
    def kind(self) -> type:
        return type(self.default)


REGISTRY = [
    Setting("HUB_NAME", "Classroom Hub", "Name shown to teachers and tablets."),
    Setting("DATA_DIR", "var/hub", "Folder for the hub's state, results and packs."),
    Setting("HOST", "0.0.0.0", "Address to listen on; 0.0.0.0 means every one."),
    Setting("PORT", 8080, "TCP port to listen on; 0 lets the system pick.", 0, 65535),
    Setting(
        "THREADS",
        40,
        "Worker threads answering requests: one per tablet of a class, so a "
        "class sending results at once is stored in one group commit.",
        1,
        256,
    ),
    Setting(
        "CONNECTION_LIMIT", 200, "Open connections at once (tablets keep some).", 1
    ),
    Setting(
        "CHANNEL_TIMEOUT_S",
        120,
        "Seconds an idle or stalled connection is kept before it is closed.",
    ),
    Setting(
        "RESULTS_MAX_BATCH_BYTES", 1048576, "Largest results batch, in bytes.", 1024
    ),
    Setting("RESULTS_MAX_BATCH_COUNT", 500, "Most results in one batch.", 1),
    Setting(
        "DISK_RESERVE_BYTES",
        50 * 1024 * 1024,
        "Free space kept for results; below it new packs are refused.",
    ),
    Setting("LRS_URL", "", "National xAPI endpoint, ending in /, e.g. …/xAPI/."),
    Setting("LRS_USERNAME", "", "User name for the national LRS."),
    Setting("LRS_PASSWORD", "", "Password for the national LRS."),
    Setting("CATALOG_URL", "", "URL of the national pack catalog (catalog.json)."),
    Setting("SYNC_TIMEOUT_S", 30, "Seconds to wait for the national side to answer."),
    Setting("SYNC_BATCH_SIZE", 200, "Statements sent in one request to the LRS."),
    Setting(
        "SYNC_INTERVAL_S",
        0,
        "Seconds between the server's own checks whether a scheduled sync is "
        "due; 0 leaves it to the systemd timer or the sync command.",
    ),
    Setting(
        "SYNC_WINDOWS",
        "01:00-05:00,12:30-13:30",
        "Times of day, local time, when scheduled syncs may run: HH:MM-HH:MM, "
        "comma-separated; empty means any time. `sync` by hand ignores them.",
    ),
    Setting(
        "SYNC_SPREAD_S",
        1800,
        "Longest wait after a window opens before this hub's turn (drawn from "
        "its id and the day), so that hubs do not all call at once.",
    ),
    Setting(
        "SYNC_BUDGET_DAY_BYTES",
        0,
        "Bytes sync may move per day, both ways; 0 means no limit.",
    ),
    Setting(
        "SYNC_BUDGET_MONTH_BYTES",
        0,
        "Bytes sync may move per calendar month, both ways; 0 means no limit.",
    ),
    Setting(
        "SYNC_MAX_BYTES_PER_S",
        0,
        "Cap on the speed of each transfer, bytes per second; 0 means none.",
    ),
    Setting(
        "SYNC_RETRIES",
        3,
        "Tries again of a request that timed out, was cut off or got 429/5xx, "
        "within one sync, after growing waits.",
    ),
    Setting(
        "SYNC_BACKOFF_MAX_S",
        3600,
        "Longest wait before the next scheduled sync after failed ones.",
    ),
    Setting(
        "CLOCK_MAX_SKEW_S",
        300,
        "Seconds the hub's clock may differ from the national server's, or jump, "
        "and still be trusted.",
    ),
    Setting(
        "XAPI_ACCOUNT_HOMEPAGE",
        "https://classroom-hub.example/learners",
        "homePage of the pseudonymous xAPI account that names a learner.",
    ),
    Setting(
        "XAPI_ACTIVITY_BASE",
        "https://classroom-hub.example/xapi/activities",
        "Base IRI of the activities named in statements.",
    ),
    Setting(
        "DISCOVERY_ENABLED",
        True,
        "Advertise the hub over mDNS (_classroom-hub._tcp) so tablets and "
        "other hubs find it; yes or no.",
    ),
    Setting(
        "DISCOVERY_INTERFACES",
        "",
        "Comma-separated network interfaces to advertise on; empty means every "
        "one but loopback and container bridges (docker0, br-…, veth…).",
    ),
    Setting(
        "DISCOVERY_CHECK_S",
        5,
        "Seconds between checks of the hub's addresses; a change is announced.",
    ),
    Setting(
        "TEACHER_SESSION_S",
        8 * 3600,
        "Seconds a teacher stays signed in on a device before signing in again.",
    ),
    Setting(
        "TEACHER_LOCKOUT_FAILURES",
        5,
        "Wrong sign-ins from one address before it must wait TEACHER_LOCKOUT_S.",
    ),
    Setting(
        "TEACHER_LOCKOUT_S",
        900,
        "Seconds a locked-out address waits; older failures are forgotten.",
    ),
    Setting(
        "TEACHER_MASTERY_ANSWERS",
        10,
        "A lesson is mastered when the learner has at least this many scored "
        "answers in it and TEACHER_MASTERY_PERCENT of the last ones are right.",
    ),
    Setting(
        "TEACHER_MASTERY_PERCENT",
        80,
        "Share of right answers, in percent, that counts as mastered.",
    ),
    Setting(
        "TEACHER_WARN_FREE_BYTES",
        200 * 1024 * 1024,
        "Free disk space below which the teacher page warns.",
    ),
    Setting(
        "TEACHER_WARN_SYNC_WAIT_S",
        7 * 24 * 3600,
        "Seconds a result may wait to be synced before the teacher page warns.",
    ),
    Setting(
        "SCHOOL_ID",
        "",
        "The school's code from the national register, sent with the answers "
        "to baseline and endline checks so that reports group them by school "
        "(a school may have several hubs); empty: reports group by hub. Set it "
        "before the first check: a statement sent once must not change.",
    ),
]

_BY_NAME = {setting.name: setting for setting in REGISTRY}


class ConfigError(Exception):
    """A setting with a value the hub cannot use; the message says the fix."""


@dataclass(frozen=True)
class Settings:
    values: dict

    def __getattr__(self, name: str):
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def data_dir(self) -> Path:
        return Path(self.values["DATA_DIR"])

    def replace(self, **changes) -> "Settings":
        values = dict(self.values)
        for name, raw in changes.items():
            values[name] = _convert(name, raw, "arguments")
        return Settings(values)


def load_settings(
    config_file: Path | None = None,
    environ: dict | None = None,
    **overrides,
) -> Settings:
    """Build settings from defaults, a config file, the environment, overrides.

    ``overrides`` whose value is None are left out, so command-line options
    that were not given do not hide the file or the environment.
    """
    values = {setting.name: setting.default for setting in REGISTRY}

    if config_file is not None:
        values.update(read_config_file(config_file))

    environ = os.environ if environ is None else environ
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        name = key[len(ENV_PREFIX) :]
        if name not in _BY_NAME:
            log.warning("unknown setting %s in the environment; ignored", key)
            continue
        values[name] = _convert(name, raw, key)

    for name, raw in overrides.items():
        if raw is not None:
            values[name] = _convert(name, raw, "command line")

    return Settings(values)


def read_config_file(path: Path) -> dict:
    """Read ``KEY = value`` lines; ``#`` starts a comment line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read config file {path}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(
            f"config file {path} is not UTF-8 text; save it as UTF-8"
        ) from None

    values = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, raw = line.partition("=")
        name = name.strip()
        where = f"{path}:{number}"
        if not sep:
            raise ConfigError(f"{where}: expected KEY = value, got {line!r}")
        if name not in _BY_NAME:
            log.warning(
                "%s: unknown setting %s; ignored (see docs/config.md)", where, name
            )
            continue
        values[name] = _convert(name, raw.strip(), where)

    return values


def _convert(name: str, raw, where: str):
    setting = _BY_NAME.get(name)
    if setting is None:
        raise ConfigError(f"{where}: unknown setting {name}")
    if not isinstance(raw, str):
        if setting.kind is int:
            _check_bounds(setting, raw, where)
        return raw

    if setting.kind is bool:
        words = {
            "yes": True,
            "true": True,
            "on": True,
            "1": True,
            "no": False,
            "false": False,
            "off": False,
            "0": False,
        }
        value = words.get(raw.strip().lower())
        if value is None:
            raise ConfigError(f"{where}: {name} must be yes or no, got {raw!r}")
        return value

    if setting.kind is int:
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(
                f"{where}: {name} must be a whole number, got {raw!r}"
            ) from None
        _check_bounds(setting, value, where)
        return value

    return raw


def _check_bounds(setting: Setting, value: int, where: str) -> None:
    if setting.high is not None and not setting.low <= value <= setting.high:
        raise ConfigError(
            f"{where}: {setting.name} must be from {setting.low} to "
            f"{setting.high}, got {value}"
        )
    if value < setting.low:
        lowest = "negative" if setting.low == 0 else f"below {setting.low}"
        raise ConfigError(f"{where}: {setting.name} must not be {lowest}, got {value}")


_DOC_HEADER = """\
# Settings

Each key can be set in the config file (`/etc/classroom-hub/hub.conf` when
installed, or the file given with `--config`) as `KEY = value`, or in the
environment as `CLASSROOM_HUB_KEY`; command-line options win over both.
Units are in the names (`_S` seconds, `_BYTES` bytes). Unknown keys are
reported in the log and ignored.

This page is made by `classroom-hub settings > docs/config.md`.
"""


def describe_settings() -> str:
    """The registry as a Markdown page: docs/config.md is its output."""
    lines = [_DOC_HEADER, "| key | default | meaning |", "| --- | --- | --- |"]
    for setting in REGISTRY:
        lines.append(f"| `{setting.name}` | `{setting.default}` | {setting.help} |")
    return "\n".join(lines)
