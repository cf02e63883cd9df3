# SPDX-License-Identifier: AGPL-3.0-or-later
"""The ``classroom-hub`` command: serve, install packs, sync, look after a hub.

Expected failures print one line saying what went wrong and what to do, and
exit with status 1; only an unexpected failure shows a traceback. Logging is
set up here and nowhere else: to stderr, without timestamps (journald adds
them).
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import sys
from pathlib import Path

from . import __version__
from .config import ConfigError, describe_settings, load_settings

log = logging.getLogger("hub")

DEFAULT_CONFIG = Path("/etc/classroom-hub/hub.conf")

DEMO_CLASS = "Жишээ анги"
DEMO_LEARNERS = ("Болд", "Сарнай", "Тэмүүлэн", "Номин", "Анужин", "Батзориг")


class CommandError(Exception):
    """An expected failure; its message is shown to the person as it is."""


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="%(levelname)s %(name)s: %(message)s",
    )

    try:
        settings = _settings(args)
        return args.command(settings, args) or 0
    except (CommandError, ConfigError) as error:
        print(f"classroom-hub: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"classroom-hub: {_disk_problem(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _disk_problem(error: OSError) -> str:
    """One line for the file-system failures a technician meets in the field."""
    where = f" ({error.filename})" if error.filename else ""
    advice = {
        errno.ENOSPC: "the disk is full: free space (old backups, downloads) "
        "and try again; nothing stored was changed",
        errno.EROFS: "the file system is read-only, which a failing SD card "
        "turns into: copy the data folder off with `cp -a` and replace the card",
        errno.EACCES: "permission denied: run as the hub's user or as root",
        errno.EIO: "the disk reports an input/output error: the SD card may be "
        "failing; copy the data folder off and replace the card",
    }.get(error.errno, "check the disk and the data folder")
    return f"{error.strerror or error}{where}; {advice}"


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's copy of an option given before the subcommand
    # must not put its own default over the value given.
    common.add_argument(
        "--data-dir", default=argparse.SUPPRESS, help="folder for the hub's data"
    )
    common.add_argument(
        "--config",
        type=Path,
        default=argparse.SUPPRESS,
        help=f"settings file of KEY = value lines (default {DEFAULT_CONFIG} "
        "when it exists)",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log more",
    )

    parser = argparse.ArgumentParser(
        prog="classroom-hub",
        description="Lesson packs for a classroom's tablets, results kept safe, "
        "synced to the national LRS.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(title="commands", required=True)

    def command(name, func, help_text, aliases=()):
        sub = commands.add_parser(
            name,
            help=help_text,
            description=help_text,
            parents=[common],
            aliases=list(aliases),
        )
        sub.set_defaults(command=func)
        return sub

    serve = command("serve", cmd_serve, "run the hub's web server")
    serve.add_argument("--host", help="address to listen on (default 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port (default 8080; 0 = any free)")
    serve.add_argument(
        "--ready-file", type=Path, help="write the bound port here once listening"
    )

    install = command(
        "install-pack",
        cmd_install_pack,
        "install lesson packs from zips, pack folders or a folder of packs "
        "(a USB stick)",
        aliases=["import-pack"],
    )
    install.add_argument("paths", nargs="+", type=Path)

    command("packs", cmd_packs, "list the installed packs")

    sync = command("sync", cmd_sync, "send results to the LRS and fetch new packs now")
    sync.add_argument("--json", action="store_true", help="print the report as JSON")
    sync.add_argument(
        "--scheduled",
        action="store_true",
        help="only if due: in a window, at this hub's turn, not backing off "
        "(what the timer runs)",
    )
    sync.add_argument("--force", action="store_true", help="go on past the byte budget")

    catalog = command(
        "build-catalog",
        cmd_build_catalog,
        "write catalog.json for a folder of pack zips (for the national team)",
    )
    catalog.add_argument("folder", type=Path)
    catalog.add_argument(
        "--base-url", required=True, help="URL the folder will be served at"
    )

    add_class = command("add-class", cmd_add_class, "create a class")
    add_class.add_argument("name")

    add_learner = command("add-learner", cmd_add_learner, "add a learner to a class")
    add_learner.add_argument("class_name")
    add_learner.add_argument("name")
    add_learner.add_argument("--picture", help="sign-in picture (default: a free one)")

    command("demo-class", cmd_demo_class, "create a small demo class if none exists")

    for name, func, help_text in (
        ("add-teacher", cmd_add_teacher, "create a teacher account for /teacher/"),
        (
            "reset-password",
            cmd_reset_password,
            "give a teacher a new password and sign them out everywhere (logged)",
        ),
    ):
        account = command(name, func, help_text)
        account.add_argument("name", help="the teacher's sign-in name")
        account.add_argument(
            "--password-stdin",
            action="store_true",
            help="read the password from standard input instead of asking twice",
        )

    status = command("status", cmd_status, "what the hub holds and what waits to sync")
    status.add_argument("--json", action="store_true", help="print as JSON")

    command("settings", cmd_settings, "list every setting with its default")

    from . import care

    care.add_commands(command)
    from . import sync_commands

    sync_commands.add_commands(command)
    from .assessments import report

    report.add_commands(command)
    return parser


def _settings(args):
    config = getattr(args, "config", None)
    if config is None and DEFAULT_CONFIG.exists():
        config = DEFAULT_CONFIG
    if config is not None and not config.exists():
        raise CommandError(f"config file {config} does not exist")
    return load_settings(
        config_file=config,
        DATA_DIR=getattr(args, "data_dir", None),
        HOST=getattr(args, "host", None),
        PORT=getattr(args, "port", None),
    )


# What any hub's data folder holds once the hub has been used at all.
_HUB_FILES = ("hub.json", "results.sqlite3", "packs")


def _open_hub(settings, new_ok: bool = False):
    """Open the hub's data; only commands that set a hub up may start one.

    A mistyped --data-dir must not quietly become a new, empty hub that
    reports no results.
    """
    from .app import Hub

    data_dir = settings.data_dir
    if not new_ok and not any((data_dir / name).exists() for name in _HUB_FILES):
        raise CommandError(
            f"no hub data in {data_dir.resolve()}; give the hub's folder with "
            "--data-dir (installed hubs: /var/lib/classroom-hub)"
        )

    try:
        return Hub.open(settings)
    except OSError as error:
        raise CommandError(
            f"cannot open the data folder {settings.data_dir}: {_disk_problem(error)}"
        ) from None


def cmd_serve(settings, args):
    from .server import HubAlreadyRunning, serve

    hub = _open_hub(settings, new_ok=True)
    try:
        serve(hub, ready_file=args.ready_file)
    except HubAlreadyRunning as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(
            f"cannot listen on {settings.HOST}:{settings.PORT}: {error.strerror}; "
            "is another server using that port? Choose another with --port"
        ) from None
    except ValueError as error:
        # waitress's word for an address it cannot parse or bind.
        raise CommandError(
            f"cannot listen on {settings.HOST!r}: {error}; give an IP address "
            "such as 0.0.0.0 or 127.0.0.1 with --host"
        ) from None


def cmd_install_pack(settings, args):
    from .packs import PackError

    hub = _open_hub(settings, new_ok=True)
    sources = []
    for path in args.paths:
        if not path.exists():
            raise CommandError(f"{path} does not exist")
        sources.extend(_pack_sources(path))
    if not sources:
        raise CommandError(
            f"no pack found in {', '.join(map(str, args.paths))}: a pack is a "
            ".zip or a folder with pack.json"
        )

    failures = 0
    for source in sources:
        try:
            pack = hub.packs.install(source)
        except PackError as error:
            failures += 1
            print(f"refused: {error}", file=sys.stderr)
            continue
        print(f"installed {pack.id} {pack.version} from {source}")
    hub.close()
    return 1 if failures else 0


def _pack_sources(path: Path) -> list[Path]:
    """A pack itself, or the packs inside a folder such as a USB stick."""
    if path.is_file() or (path / "pack.json").exists():
        return [path]
    return sorted(
        child
        for child in path.iterdir()
        if child.suffix == ".zip" or (child / "pack.json").exists()
    )


def cmd_packs(settings, args):
    hub = _open_hub(settings)
    for pack in hub.packs.catalog():
        title = pack.manifest["title"]
        name = title.get("mn") or next(iter(title.values()))
        print(f"{pack.id}\t{pack.version}\t{pack.kind}\t{pack.size} bytes\t{name}")
    hub.close()


def cmd_sync(settings, args):
    from .sync_schedule import SyncBusy, sync_once

    if not (settings.LRS_URL or settings.CATALOG_URL):
        raise CommandError(
            "neither LRS_URL nor CATALOG_URL is set; set them in the config file "
            "(see `classroom-hub settings`)"
        )
    from .sync_windows import WindowError, parse_windows

    try:
        parse_windows(settings.SYNC_WINDOWS)
    except WindowError as error:
        raise CommandError(str(error)) from None
    trigger = "scheduled" if args.scheduled else "forced" if args.force else "now"
    hub = _open_hub(settings)
    try:
        report = sync_once(hub, trigger=trigger)
    except SyncBusy as error:
        if args.scheduled:
            return 0
        raise CommandError(str(error)) from None
    finally:
        hub.close()

    if args.json:
        print(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        print(report.summary())
    return 0 if report.ok else 1


def cmd_build_catalog(settings, args):
    from .catalog import write_catalog
    from .packs import PackError

    if not args.folder.is_dir():
        raise CommandError(f"{args.folder} is not a folder of pack zips")
    try:
        path = write_catalog(args.folder, args.base_url)
    except PackError as error:
        raise CommandError(f"refused: {error}") from None
    except ValueError as error:
        raise CommandError(f"--base-url: {error}") from None
    catalog = json.loads(path.read_text(encoding="utf-8"))
    print(f"wrote {path} with {len(catalog['packs'])} packs")


def cmd_add_class(settings, args):
    from .state import StateError

    hub = _open_hub(settings, new_ok=True)
    try:
        group = hub.state.add_class(args.name)
    except StateError as error:
        raise CommandError(str(error)) from None
    print(f"added class {group['name']} ({group['id']})")


def cmd_add_learner(settings, args):
    from .pictures import is_picture, next_free_picture
    from .state import StateError

    hub = _open_hub(settings)
    group = _class_named(hub, args.class_name)
    taken = {row["picture"] for row in hub.state.learners(group["id"])}
    picture = args.picture or next_free_picture(taken)
    if not is_picture(picture):
        raise CommandError(
            f"there is no sign-in picture {picture!r}; leave --picture out to "
            "get a free one"
        )
    try:
        learner = hub.state.add_learner(group["id"], args.name, picture)
    except StateError as error:
        raise CommandError(str(error)) from None
    print(f"added {learner['name']} ({learner['id']}) with the picture {picture}")


def _class_named(hub, name):
    for group in hub.state.classes():
        if group["name"] == name or group["id"] == name:
            return group
    raise CommandError(f"no class named {name!r}; create it with add-class")


def cmd_demo_class(settings, args):
    from .pictures import all_pictures

    hub = _open_hub(settings, new_ok=True)
    if hub.state.classes():
        print("classes exist already; no demo class added")
        return
    group = hub.state.add_class(DEMO_CLASS)
    for name, picture in zip(DEMO_LEARNERS, all_pictures()):
        hub.state.add_learner(group["id"], name, picture)
    print(f"added the demo class {DEMO_CLASS} with {len(DEMO_LEARNERS)} learners")


def _new_password(args) -> str:
    import getpass

    if args.password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    try:
        first = getpass.getpass("New password (at least 8 characters): ")
        again = getpass.getpass("The same password again: ")
    except EOFError:
        raise CommandError(
            "no terminal to ask for a password; pass --password-stdin"
        ) from None
    if first != again:
        raise CommandError("the two passwords differ; nothing was changed")
    return first


def cmd_add_teacher(settings, args):
    from .teachers import AccountError, TeacherAccounts

    hub = _open_hub(settings, new_ok=True)
    try:
        teacher = TeacherAccounts(hub.state).add_teacher(args.name, _new_password(args))
    except AccountError as error:
        raise CommandError(f"{error}; nothing was changed") from None
    finally:
        hub.close()
    print(f"added the teacher {teacher.name}; they sign in at /teacher/ on the hub")


def cmd_reset_password(settings, args):
    import getpass

    from .teachers import AccountError, TeacherAccounts

    hub = _open_hub(settings)
    try:
        who = f"cli:{getpass.getuser()}"
        teacher = TeacherAccounts(hub.state).reset_password(
            args.name, _new_password(args), by=who
        )
    except AccountError as error:
        raise CommandError(f"{error}; nothing was changed") from None
    finally:
        hub.close()
    print(f"new password set for {teacher.name}; their devices are signed out")


def cmd_status(settings, args):
    from .sync_status import hub_status, status_lines
    from .sync_windows import WindowError

    hub = _open_hub(settings)
    try:
        status = hub_status(hub)
    except WindowError as error:
        raise CommandError(str(error)) from None
    finally:
        hub.close()
    if args.json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
    else:
        print("\n".join(status_lines(status)))


def cmd_settings(settings, args):
    print(describe_settings())


if __name__ == "__main__":
    sys.exit(main())
