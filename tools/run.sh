#!/usr/bin/env bash
# Set-up command 1: install what is missing, build, and run pubsubd on the embedded default
# (a private PostgreSQL cluster under ./.data, created on first run). Extra arguments go to
# pubsubd, e.g. tools/run.sh --log-level debug
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/deps.sh
pubsub_install_deps
pubsub_build build -DPUBSUB_BUILD_TESTS=OFF -DPUBSUB_BUILD_BENCH=ON
exec build/bin/pubsubd "$@"
