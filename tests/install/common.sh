# Sourced by the install tests: a scratch folder $tmp removed at exit, and one line per check
# (ok), the first failed check stopping the test with its reason (fail).
set -euo pipefail
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pubsub-install-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
