#!/bin/sh
# Install the station kiosk on Raspberry Pi OS (Bookworm), from this checkout:
#   sudo systemd/install.sh            a station (kiosk-core + kiosk-ui)
#   sudo systemd/install.sh --hub-only the city hub
# Any option is handed to `kiosk install` (see `kiosk install --help`).
#
# This script does what must happen before the kiosk command exists: apt packages, the venv, the
# project in it. Then `kiosk install` makes the users, folders, config, tokens, udev rules and units.
# KIOSK_DRY_RUN=1 prints the commands instead of running them.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
CHECKOUT=$(dirname "$HERE")
VENV=${KIOSK_VENV:-/opt/kiosk/venv}
# python3-evdev: keyboard-mode scanners (prebuilt, no kernel headers needed).
# libegl1 libgles2 libgbm1 libgl1-mesa-dri: SDL2's KMS/DRM display for the touchscreen app.
# The venv sees apt's Python packages through --system-site-packages.
APT_PACKAGES="python3-venv python3-pip python3-evdev fonts-wqy-microhei util-linux libegl1 libgles2 libgbm1 libgl1-mesa-dri"

run() {
    if [ "${KIOSK_DRY_RUN:-0}" = 1 ]; then
        echo "$*"
    else
        "$@"
    fi
}

if [ "${KIOSK_DRY_RUN:-0}" != 1 ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: run it as root (sudo $0)" >&2
    exit 1
fi

EXTRAS="ui"
case " $* " in
    *" --hub-only "*) EXTRAS="postgres" ;;
    *" --hub "*) EXTRAS="ui,postgres" ;;
esac

run apt-get update
# python3-lgpio: gpiozero's pin driver on Bookworm; only Raspberry Pi OS's archive has it.
if apt-cache show python3-lgpio >/dev/null 2>&1; then
    APT_PACKAGES="$APT_PACKAGES python3-lgpio"
else
    echo "install.sh: no python3-lgpio in the apt sources (not Raspberry Pi OS?): GPIO cabinets need it" >&2
fi
# shellcheck disable=SC2086 # the package list is meant to split
run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $APT_PACKAGES
if [ ! -x "$VENV/bin/python" ]; then
    run python3 -m venv --system-site-packages "$VENV"
fi
run "$VENV/bin/pip" install --upgrade "$CHECKOUT[$EXTRAS]"
run "$VENV/bin/kiosk" install --source "$HERE" --venv "$VENV" "$@"
