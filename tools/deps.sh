#!/usr/bin/env bash
# Installs the Debian packages pubsub needs, only those missing. Sourced by run.sh and test.sh.
# As root it calls apt-get directly; as a normal user it uses sudo when available, and otherwise
# stops with the exact command an administrator must run.
set -euo pipefail

PUBSUB_PACKAGES=(
  g++ cmake make pkg-config ccache
  libpq-dev libpqxx-dev libboost-dev libsimdjson-dev libconcurrentqueue-dev
  libcli11-dev libsystemd-dev libjemalloc-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  postgresql-15 python3
)
# clang and its runtime build the libFuzzer targets; tests skip fuzzing when they are absent.
# chromium, nodejs and npm run the admin page's browser test (tests/browser: playwright-core
# from npm drives Debian's chromium; no browser download).
# help2man writes the man pages (optional for a build; the install test and the .deb want them).
# python3-pip, -setuptools and -wheel build the Python client offline (pip install test).
PUBSUB_TEST_PACKAGES=(clang libclang-rt-14-dev chromium nodejs npm help2man
  python3-pip python3-setuptools python3-wheel)

pubsub_install_deps() {
  local want=("${PUBSUB_PACKAGES[@]}")
  if [ "${1:-}" = "--test" ]; then want+=("${PUBSUB_TEST_PACKAGES[@]}"); fi
  local missing=()
  for p in "${want[@]}"; do
    # Node.js may come from elsewhere (nodesource's nodejs bundles npm and conflicts with
    # Debian's npm package): a working command is enough.
    case "$p" in
      nodejs) command -v node >/dev/null && continue ;;
      npm) command -v npm >/dev/null && continue ;;
    esac
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "pubsub: installing Debian packages: ${missing[*]}" >&2
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
      sudo=(sudo -n)
    else
      echo "pubsub: missing packages and no root or password-less sudo. Run as root:" >&2
      echo "  apt-get update && apt-get install -y ${missing[*]}" >&2
      return 1
    fi
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >&2
}

# Configures and builds into $1 with the extra CMake arguments that follow.
pubsub_build() {
  local dir=$1; shift
  local root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  cmake -S "$root" -B "$root/$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
  cmake --build "$root/$dir" -j"$(nproc)"
}
