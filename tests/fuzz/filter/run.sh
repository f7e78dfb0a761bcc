#!/bin/sh
# Builds the filter parser fuzzer with clang (libFuzzer + ASan + UBSan) and runs it for a
# bounded time. Usage: tests/fuzz/filter/run.sh [seconds=60] [work_dir]
# The seed corpus in corpus/ is read, never written; new inputs go to <work_dir>/corpus.
set -eu
seconds=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
work=${2:-$root/build-fuzz-filter}
cxx=${CXX:-clang++}
case "$("$cxx" --version 2>/dev/null | head -1)" in
  *clang*) ;;
  *) cxx=clang++ ;;
esac
mkdir -p "$work/corpus"
flags="-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined"
bin="$work/filter_parser_fuzz"
if [ ! -x "$bin" ] || [ -n "$(find "$here" "$root/router/filter" -newer "$bin" \( -name '*.cc' -o -name '*.h' \))" ]; then
  echo "building $bin"
  "$cxx" $flags -I"$root" "$here/filter_parser_fuzz.cc" "$root"/router/filter/*.cc \
    -lsimdjson -o "$bin.tmp"
  mv "$bin.tmp" "$bin"
fi
echo "fuzzing for $seconds s in $work"
"$bin" -max_total_time="$seconds" -max_len=2048 -timeout=10 \
  -print_final_stats=1 "$work/corpus" "$here/corpus"
