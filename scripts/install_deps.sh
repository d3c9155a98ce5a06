#!/usr/bin/env bash
# install_deps.sh - install the Debian packages vidsim needs to build, test and run
# its demo. Skips packages that are already installed; needs root (or sudo) only
# when something is missing. With --test (scripts/test.sh) also what only the tests
# use: the sqlite3 shell (crash tests), curl (server tests) and headless Chromium with
# its WebDriver (the review page's browser test).
set -euo pipefail
TEST_PKGS=(sqlite3 curl chromium chromium-driver)
PKGS=(build-essential cmake pkg-config ffmpeg
      libavformat-dev libavcodec-dev libswscale-dev libavutil-dev
      libopenblas-dev liblapacke-dev libdnnl-dev libsqlite3-dev libpng-dev
      libfreetype-dev libmicrohttpd-dev libopenmpi-dev openmpi-bin libfaiss-dev fonts-dejavu-core fonts-liberation2 fonts-noto-color-emoji
      python3
      golang-github-gabriel-vasile-mimetype-dev python3-hug-doc)
[ "${1:-}" = "--test" ] && PKGS+=("${TEST_PKGS[@]}")
missing=()
# node and npm may come from elsewhere than Debian (this machine's image has its own);
# ask apt for them only when the commands are missing
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
