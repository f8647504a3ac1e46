# Sourced by scripts/sim and scripts/test: make sure the system packages and the venv exist.
# Works on a fresh Debian 12 / Raspberry Pi OS with nothing but python3 and root (or sudo).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${KIOSK_VENV:-$ROOT/.venv}"

_as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

APT_MISSING=()
_apt_updated=0

# need_apt PACKAGE TEST...: queue PACKAGE for installation when the shell test fails.
need_apt() {
    local pkg="$1"; shift
    if ! "$@" >/dev/null 2>&1; then APT_MISSING+=("$pkg"); fi
}

install_apt() {
    if [ "${#APT_MISSING[@]}" -eq 0 ]; then return; fi
    echo "==> installing system packages: ${APT_MISSING[*]}"
    if [ "$_apt_updated" = 0 ]; then _as_root apt-get update -qq; _apt_updated=1; fi
    _as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${APT_MISSING[@]}" >/dev/null
    APT_MISSING=()
}

_python_headers() {
    python3 - <<'PY'
import os, sys, sysconfig
sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)
PY
}

# ensure_venv EXTRAS: system packages for the venv, then the project installed editable with EXTRAS.
ensure_venv() {
    local extras="$1"
    need_apt python3-venv python3 -c 'import venv, ensurepip'
    if [[ "$extras" == *test* || "$extras" == *hid* ]]; then
        # evdev (USB keyboard-mode scanners) has no wheel: it builds against the kernel headers.
        need_apt gcc command -v gcc
        need_apt libc6-dev test -e /usr/include/stdio.h
        need_apt linux-libc-dev test -e /usr/include/linux/input.h
        need_apt python3-dev _python_headers
    fi
    if [[ "$extras" == *test* ]]; then
        # The status page's browser tests drive Debian's own Chromium (Playwright never downloads one).
        need_apt chromium command -v chromium
    fi
    if [[ "$extras" == *test* ]]; then
        # The hub's tests run on a real PostgreSQL server that the test fixture starts (initdb, pg_ctl).
        need_apt postgresql sh -c 'ls /usr/lib/postgresql/*/bin/initdb'
    fi
    if [[ "$extras" == *ui* ]]; then
        # The Kivy app: a virtual screen for tests (and for `kiosk sim --ui xvfb` where no display exists),
        # software OpenGL, and a font with Chinese and Latin.
        if [[ "$extras" == *test* || -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
            need_apt xvfb command -v Xvfb
            need_apt xauth command -v xauth
        fi
        need_apt libgl1-mesa-dri sh -c 'ls /usr/lib/*/dri/swrast_dri.so'
        need_apt libegl1 sh -c 'ls /usr/lib/*/libEGL.so.1'
        need_apt fonts-wqy-microhei test -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
    fi
    install_apt
    if [ ! -x "$VENV/bin/python" ]; then
        echo "==> creating the virtual environment in $VENV"
        python3 -m venv "$VENV"
    fi
    local stamp="$VENV/.kiosk-installed"
    local want
    want="$extras $(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
    if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
        echo "==> installing the station software and its dependencies ($extras)"
        if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e "$ROOT[$extras]" >"$VENV/pip.log" 2>&1; then
            cat "$VENV/pip.log"
            echo "pip could not install the dependencies (log above, and in $VENV/pip.log)" >&2
            exit 1
        fi
        echo "$want" > "$stamp"
    fi
}
