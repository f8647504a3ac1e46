#!/bin/sh
# Remove the station kiosk's services, udev rules and venv. The config (/etc/kiosk: config, tokens,
# staff logins), the data (/var/lib/kiosk: the database) and the users kiosk and kiosk-ui stay.
# Any option is handed to `kiosk uninstall`. KIOSK_DRY_RUN=1 prints the commands instead.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
VENV=${KIOSK_VENV:-/opt/kiosk/venv}

run() {
    if [ "${KIOSK_DRY_RUN:-0}" = 1 ]; then
        echo "$*"
    else
        "$@"
    fi
}

if [ "${KIOSK_DRY_RUN:-0}" != 1 ] && [ "$(id -u)" != 0 ]; then
    echo "uninstall.sh: run it as root (sudo $0)" >&2
    exit 1
fi

run "$VENV/bin/kiosk" uninstall --source "$HERE" --venv "$VENV" "$@"
run rm -rf "$VENV"
echo "kept /etc/kiosk and /var/lib/kiosk: your config, tokens and database"
