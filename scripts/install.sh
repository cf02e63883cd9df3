#!/bin/bash
# SPDX-License-Identifier: AGPL-3.0-or-later
#
# Install, upgrade or remove Classroom Hub on Raspberry Pi OS or Debian 12,
# offline, from a bundle made by scripts/build-offline-bundle:
#
#   sudo bash install.sh                       install, or upgrade in place
#   sudo bash install.sh --uninstall           remove the program; keep data
#   sudo bash install.sh --uninstall --purge   remove data, settings, user too
#
# Options: --bundle DIR (default: the folder holding this script),
# --lock-wait-s N (how long to wait for a busy apt, default 600),
# --health-wait-s N (how long a new version may take to answer, default 90).
#
# Running it again changes nothing. Each release gets its own venv under
# /opt/classroom-hub/releases; /opt/classroom-hub/venv points at the one in
# use, so an upgrade that fails its health check (/api/v1/info) is rolled
# back by pointing at the previous release again. Data in
# /var/lib/classroom-hub is never touched here, except by --purge.
set -eu
export DEBIAN_FRONTEND=noninteractive
umask 022

PREFIX=/opt/classroom-hub
DATA=/var/lib/classroom-hub
CONF_DIR=/etc/classroom-hub
CONF=$CONF_DIR/hub.conf
UNIT_DIR=/etc/systemd/system
BIN=/usr/local/bin/classroom-hub
HUB_USER=classroom-hub
UNITS="classroom-hub.service classroom-hub-sync.service classroom-hub-sync.timer"
ENABLE="classroom-hub.service classroom-hub-sync.timer"

bundle=$(cd "$(dirname "$0")" && pwd)
action=install
purge=no
lock_wait_s=600
health_wait_s=90
changes=0

say() { echo "install.sh: $*"; }
fail() { echo "install.sh: $*" >&2; exit 1; }
changed() { changes=$((changes + 1)); say "$*"; }

while [ $# -gt 0 ]; do
    case "$1" in
        --bundle) bundle=$(cd "$2" && pwd); shift ;;
        --uninstall) action=uninstall ;;
        --purge) purge=yes ;;
        --lock-wait-s) lock_wait_s=$2; shift ;;
        --health-wait-s) health_wait_s=$2; shift ;;
        -h|--help) sed -n '3,18p' "$0"; exit 0 ;;
        *) fail "unknown option $1; see --help" ;;
    esac
    shift
done

[ "$(id -u)" = 0 ] || fail "run it as root: sudo bash $0"

systemd_running() { [ -d /run/systemd/system ]; }

# apt and dpkg take fcntl locks; unattended-upgrades may hold them for many
# minutes after a Pi first comes online.
apt_busy() {
    python3 - <<'PY'
import fcntl, os, sys
for path in ("/var/lib/dpkg/lock-frontend", "/var/lib/dpkg/lock",
             "/var/lib/apt/lists/lock"):
    try:
        fd = os.open(path, os.O_RDWR)
    except OSError:
        continue
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(path)
        sys.exit(0)
    finally:
        os.close(fd)
sys.exit(1)
PY
}

wait_for_apt() {
    local waited=0 held
    while held=$(apt_busy); do
        if [ "$waited" -ge "$lock_wait_s" ]; then
            fail "apt is still busy after ${lock_wait_s}s ($held is locked, usually" \
                "by unattended-upgrades installing updates); try again later," \
                "or wait longer with --lock-wait-s"
        fi
        if [ $((waited % 30)) = 0 ]; then
            say "apt is busy ($held is locked, usually by unattended-upgrades);" \
                "waiting up to ${lock_wait_s}s"
        fi
        sleep 1
        waited=$((waited + 1))
    done
}

need_python() {
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null ||
        fail "Python 3.11 or newer is needed (Raspberry Pi OS bookworm has it)"
    if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        wait_for_apt
        say "installing python3-venv with apt"
        apt-get install -y -q -o DPkg::Lock::Timeout=60 python3-venv >/dev/null ||
            fail "python3-venv is missing and apt could not install it (offline?);" \
                "install it once: sudo apt-get install python3-venv"
        changes=$((changes + 1))
    fi
}

ensure_user() {
    getent group "$HUB_USER" >/dev/null || {
        groupadd --system "$HUB_USER"
        changed "made the group $HUB_USER"
    }
    getent passwd "$HUB_USER" >/dev/null || {
        useradd --system --gid "$HUB_USER" --home-dir "$DATA" --no-create-home \
            --shell /usr/sbin/nologin --comment "Classroom Hub" "$HUB_USER"
        changed "made the system user $HUB_USER"
    }
}

# ensure_dir PATH MODE OWNER:GROUP
ensure_dir() {
    if [ ! -d "$1" ]; then
        install -d -m "$2" -o "${3%:*}" -g "${3#*:}" "$1"
        changed "made $1"
    elif [ "$(stat -c '%a %U:%G' "$1")" != "${2#0} $3" ]; then
        chmod "$2" "$1"
        chown "$3" "$1"
        changed "set the owner and mode of $1"
    fi
}

# ensure_file SOURCE TARGET MODE [OWNER:GROUP]: copy only when it differs.
ensure_file() {
    local owner=${4:-root:root}
    if ! cmp -s "$1" "$2"; then
        install -m "$3" -o "${owner%:*}" -g "${owner#*:}" "$1" "$2"
        changed "installed $2"
        return 0
    fi
    return 1
}

bundle_release() {
    ls "$bundle"/wheels/classroom_hub-*.whl >/dev/null 2>&1 ||
        fail "no classroom_hub wheel in $bundle/wheels; make a bundle with" \
            "scripts/build-offline-bundle and run the install.sh inside it"
    wheel=$(ls "$bundle"/wheels/classroom_hub-*.whl | head -n 1)
    version=$(basename "$wheel" | cut -d- -f2)
    # The release name changes whenever any wheel in the bundle does.
    digest=$(cd "$bundle/wheels" && sha256sum -- *.whl | sha256sum | cut -c1-12)
    release=$version-$digest
}

install_release() {
    local target=$PREFIX/releases/$release
    if [ -f "$target/.complete" ]; then
        return
    fi
    rm -rf "$target"
    say "making $target (offline, from $bundle/wheels)"
    python3 -m venv "$target"
    "$target/bin/python" -m pip install --quiet --no-index --no-cache-dir \
        --disable-pip-version-check --find-links "$bundle/wheels" \
        "classroom-hub==$version" ||
        fail "pip could not install classroom-hub $version from the bundle;" \
            "was it built for this machine's architecture ($(uname -m))?"
    touch "$target/.complete"
    changed "installed classroom-hub $version as $release"
}

write_config() {
    [ -e "$CONF" ] && return 0
    local draft=$CONF.new
    {
        echo "# Classroom Hub settings, read by the hub and by classroom-hub commands."
        echo "# One KEY = value per line; a key the hub does not know is reported in"
        echo "# its log (journalctl -u classroom-hub) and ignored. Each key with its"
        echo "# default and unit, from $PREFIX/docs/config.md:"
        "$PREFIX/venv/bin/python" - <<'PY'
from hub.config import REGISTRY
for setting in REGISTRY:
    print(f"#   {setting.name} = {setting.default}\n#       {setting.help}")
PY
        echo "# Apply a change with: sudo systemctl restart classroom-hub"
        echo
        echo "# The service may write only here, whatever is set."
        echo "DATA_DIR = $DATA"
        echo "HUB_NAME = Classroom Hub"
        echo "PORT = 8080"
        echo "DISCOVERY_ENABLED = yes"
    } >"$draft"
    chown "root:$HUB_USER" "$draft"
    chmod 0640 "$draft"
    mv "$draft" "$CONF"
    changed "wrote $CONF"
}

write_command() {
    local draft
    draft=$(mktemp)
    cat >"$draft" <<EOF
#!/bin/sh
# Installed by Classroom Hub's install.sh. Run as root, commands become the
# hub's own user, so the files they make in $DATA stay the hub's.
if [ "\$(id -u)" = 0 ]; then
    exec runuser -u $HUB_USER -- $PREFIX/venv/bin/classroom-hub "\$@"
fi
exec $PREFIX/venv/bin/classroom-hub "\$@"
EOF
    ensure_file "$draft" "$BIN" 0755 || true
    rm -f "$draft"
}

# A new release answers /api/v1/info, or it is not kept.
healthy() {
    local port=$1 deadline=$((SECONDS + health_wait_s))
    while [ "$SECONDS" -lt "$deadline" ]; do
        if python3 - "$port" <<'PY' 2>/dev/null
import json, sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/api/v1/info", timeout=5) as answer:
    sys.exit(0 if json.load(answer).get("hub_id") else 1)
PY
        then
            return 0
        fi
        sleep 1
    done
    return 1
}

# Without systemd (an image being built, a chroot) the new release is started
# on loopback with a scratch data folder, so the real data stays untouched.
# XXX: so it does not prove the release reads the real data.
check_release_offline() {
    local scratch ready pid port=
    scratch=$(mktemp -d)
    chown "$HUB_USER:$HUB_USER" "$scratch"
    ready=$scratch/ready.json
    runuser -u "$HUB_USER" -- env CLASSROOM_HUB_DISCOVERY_ENABLED=no \
        "$PREFIX/venv/bin/classroom-hub" --config "$CONF" serve \
        --data-dir "$scratch/data" --host 127.0.0.1 --port 0 \
        --ready-file "$ready" >"$scratch/log" 2>&1 &
    pid=$!
    for _ in $(seq "$health_wait_s"); do
        [ -s "$ready" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 1
    done
    [ -s "$ready" ] && port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$ready")
    local verdict=1
    if [ -n "$port" ] && health_wait_s=10 healthy "$port"; then
        verdict=0
    else
        sed 's/^/    /' "$scratch/log" >&2
    fi
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    rm -rf "$scratch"
    return $verdict
}

check_release() {
    if ! systemd_running; then
        check_release_offline
        return
    fi
    systemctl restart classroom-hub.service || return 1
    local port
    port=$(sed -n 's/^[[:space:]]*PORT[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' "$CONF" | tail -n 1)
    healthy "${port:-8080}"
}

use_release() {
    ln -sfn "releases/$1" "$PREFIX/venv.new"
    mv -T "$PREFIX/venv.new" "$PREFIX/venv"
}

install_units() {
    local unit units_changed=no
    for unit in $UNITS; do
        ensure_file "$bundle/systemd/$unit" "$UNIT_DIR/$unit" 0644 && units_changed=yes
    done
    if [ "$units_changed" = yes ] && systemd_running; then
        systemctl daemon-reload
    fi
    for unit in $ENABLE; do
        if ! systemctl is-enabled --quiet "$unit" 2>/dev/null; then
            systemctl enable --quiet "$unit" 2>/dev/null || systemctl enable "$unit"
            changed "enabled $unit (starts on boot)"
        fi
    done
    units_were_changed=$units_changed
}

prune_releases() {
    local keep_current keep_previous dir
    keep_current=$(readlink "$PREFIX/venv")
    keep_previous=${previous:-none}
    for dir in "$PREFIX"/releases/*; do
        [ -d "$dir" ] || continue
        case "releases/$(basename "$dir")" in
            "$keep_current"|"$keep_previous") ;;
            *) rm -rf "$dir"; changed "removed the old release $(basename "$dir")" ;;
        esac
    done
}

do_install() {
    need_python
    bundle_release
    ensure_user
    ensure_dir "$PREFIX" 0755 root:root
    ensure_dir "$PREFIX/releases" 0755 root:root
    ensure_dir "$PREFIX/docs" 0755 root:root
    ensure_dir "$CONF_DIR" 0755 root:root
    ensure_dir "$DATA" 0750 "$HUB_USER:$HUB_USER"

    install_release
    previous=$(readlink "$PREFIX/venv" 2>/dev/null || true)
    ensure_file "$bundle/docs/config.md" "$PREFIX/docs/config.md" 0644 || true
    write_command
    install_units

    if [ "$previous" != "releases/$release" ]; then
        use_release "$release"
        write_config
        say "checking that classroom-hub $version answers"
        # XXX: a rollback restores the program, not data the new release
        # changed; releases must keep their data readable by the one before.
        if ! check_release; then
            if [ -n "$previous" ] && [ -d "$PREFIX/$previous" ]; then
                use_release "${previous#releases/}"
                systemd_running && systemctl restart classroom-hub.service || true
                rm -rf "$PREFIX/releases/$release"
                fail "classroom-hub $version failed its health check; rolled back" \
                    "to ${previous#releases/}. Its log: journalctl -u classroom-hub"
            fi
            fail "classroom-hub $version failed its health check (see above)"
        fi
        changed "now using classroom-hub $version"
    else
        write_config
        if systemd_running && { [ "$units_were_changed" = yes ] ||
                                ! systemctl is-active --quiet classroom-hub.service; }; then
            systemctl restart classroom-hub.service
            changed "restarted classroom-hub.service"
        fi
    fi
    prune_releases

    # Unknown keys in hub.conf are reported here, before the service sees them.
    runuser -u "$HUB_USER" -- "$PREFIX/venv/bin/classroom-hub" --config "$CONF" \
        settings >/dev/null || fail "$CONF has an error (see above); fix it and run again"

    if [ "$changes" = 0 ]; then
        say "classroom-hub $version is installed; nothing changed"
    else
        say "classroom-hub $version is installed ($changes changes)"
    fi
    systemd_running || say "systemd is not running here; the hub starts at next boot"
}

do_uninstall() {
    local unit
    for unit in $UNITS; do
        if [ -e "$UNIT_DIR/$unit" ]; then
            if systemd_running; then
                systemctl disable --now --quiet "$unit" 2>/dev/null || true
            else
                systemctl disable --quiet "$unit" 2>/dev/null || true
            fi
            rm -f "$UNIT_DIR/$unit"
            changed "removed $unit"
        fi
    done
    systemd_running && systemctl daemon-reload
    for path in "$BIN" "$PREFIX"; do
        if [ -e "$path" ]; then
            rm -rf "$path"
            changed "removed $path"
        fi
    done

    if [ "$purge" = yes ]; then
        for path in "$DATA" "$CONF_DIR"; do
            if [ -e "$path" ]; then
                rm -rf "$path"
                changed "removed $path"
            fi
        done
        if getent passwd "$HUB_USER" >/dev/null; then
            userdel "$HUB_USER"
            changed "removed the user $HUB_USER"
        fi
        if getent group "$HUB_USER" >/dev/null; then
            groupdel "$HUB_USER"
        fi
    else
        say "kept the data in $DATA and the settings in $CONF_DIR" \
            "(--purge removes them)"
    fi
}

case "$action" in
    install) do_install ;;
    uninstall) do_uninstall ;;
esac
