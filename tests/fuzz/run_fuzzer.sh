#!/bin/sh
# Builds one libFuzzer target with clang (libFuzzer + ASan + UBSan) if any of its sources or
# headers changed, and runs it for a bounded time on its seed corpus.
# Usage: tests/fuzz/run_fuzzer.sh NAME SECONDS WORK_DIR MAX_LEN WATCHED_DIR SOURCE...
# (NAME.cc and corpus/ are in tests/fuzz/<dir of the caller>; WATCHED_DIR holds the headers the
# sources include). The seed corpus is read, never written; new inputs go to WORK_DIR/corpus.
set -eu
name=$1 seconds=$2 work=$3 max_len=$4 watched=$5
shift 5
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
dir=$(dirname "$(find "$here" -name "$name.cc" | head -1)")
cxx=${CXX:-clang++}
case "$("$cxx" --version 2>/dev/null | head -1)" in
  *clang*) ;;
  *) cxx=clang++ ;;
esac
mkdir -p "$work/corpus"
flags="-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
bin="$work/$name"
if [ ! -x "$bin" ] || [ -n "$(find "$dir" "$watched" "$@" -newer "$bin" \( -name '*.cc' -o -name '*.h' \))" ]; then
  echo "building $bin"
  "$cxx" $flags -I"$root" "$dir/$name.cc" "$@" -lsimdjson -o "$bin.tmp"
  mv "$bin.tmp" "$bin"
fi
echo "fuzzing for $seconds s in $work"
# Crash reproducers go to the work folder, not to whatever folder this was started from.
cd "$work"
"$bin" -max_total_time="$seconds" -max_len="$max_len" -timeout=10 \
  -print_final_stats=1 "$work/corpus" "$dir/corpus"
