#!/usr/bin/env bash
# pubsub-bench --data-dir on a folder that does not exist yet (with --dsn naming the fixture
# cluster): the folder is made and the run succeeds; one that cannot be made is named. Before,
# both read "cannot start .../pubsubd: No such file or directory" though pubsubd was there.
set -euo pipefail
dsn=$("$PUBSUB_BIN_DIR/pubsub-pg" dsn --data-dir "$PUBSUB_TEST_PG_DIR" -q)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bench=("$PUBSUB_BIN_DIR/pubsub-bench" --dsn "$dsn" --events 20 --producers 1 --timeout 60
  --baselines none --json)
out=$("${bench[@]}" --data-dir "$tmp/new/dir" 2>&1) || { echo "$out"; exit 1; }
test -d "$tmp/new/dir"
touch "$tmp/file"
if out=$("${bench[@]}" --data-dir "$tmp/file/dir" 2>&1); then
  echo "a --data-dir below a file was accepted: $out"; exit 1
fi
case "$out" in
  *"cannot create --data-dir $tmp/file/dir"*) ;;
  *) echo "unexpected error: $out"; exit 1 ;;
esac
echo "data_dir_smoke: 2 passed, 0 failed"
