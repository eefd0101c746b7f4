#!/usr/bin/env bash
# Shared set-up for scripts/run-app and scripts/test. Idempotent and quick when
# nothing changed. Usage: source scripts/bootstrap.sh app|test
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILE="${1:-app}"
VENV="$ROOT/.venv"

# System packages: Qt's runtime libraries (offscreen and X11), and for tests Xvfb,
# a tray host (trayer), the Secret Service keyring and Node (real npm MCP servers).
APT_APP=(libgl1 libegl1 libfontconfig1 libxkbcommon0 libglib2.0-0 libdbus-1-3
  libx11-xcb1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1
  libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1 gnome-keyring dbus-daemon)
APT_TEST=(xvfb xauth trayer xdotool dbus-x11 imagemagick x11-utils
  python3-venv python3-dev build-essential git desktop-file-utils appstream  # .deb test
  dunst)  # a real notification daemon (tests/gui/test_notify_dunst.py)

missing=()
want=("${APT_APP[@]}")
[ "$PROFILE" = test ] && want+=("${APT_TEST[@]}")
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${want[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ "$PROFILE" = test ] && ! command -v npx >/dev/null 2>&1; then
    missing+=(nodejs npm)
  fi
  if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      echo "bootstrap: installing system packages: ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
      echo "bootstrap: these system packages are missing: ${missing[*]}" >&2
      echo "bootstrap: install them with: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
      exit 1
    fi
  fi
else
  echo "bootstrap: not a Debian/Ubuntu system; make sure Qt's runtime libraries are present." >&2
fi

# Python virtual environment with the project installed (editable).
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "bootstrap: Python 3.11 or newer is needed (found: $("$PY" --version 2>&1))." >&2
  exit 1
fi
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
extras=""
[ "$PROFILE" = test ] && extras="[test]"
stamp="$VENV/.installed-$PROFILE"
hash="$(cat "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
  echo "bootstrap: installing Python packages into $VENV ..."
  "$VENV/bin/python" -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -m pip install -q -e "$ROOT$extras" 2>&1 | grep -v '^WARNING: Location' || true
  "$VENV/bin/python" -c 'import switchboard, PySide6, qasync, authlib, keyring' || {
    echo "bootstrap: the Python install failed; see the messages above." >&2
    exit 1
  }
  echo "$hash" > "$stamp"
fi
export PATH="$VENV/bin:$PATH"
