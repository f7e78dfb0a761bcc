#!/usr/bin/env bash
# Set-up command 2: install what is missing, build everything, run the whole test suite:
# unit and integration tests (CTest starts and stops a private PostgreSQL itself), the fuzz
# smoke runs, then the concurrency tests again under ThreadSanitizer, and the doors and the
# write-behind (daemon included) under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/deps.sh
pubsub_install_deps --test
start=$(date +%s)
pubsub_build build -DPUBSUB_BUILD_TESTS=ON -DPUBSUB_BUILD_BENCH=ON
(cd build && ctest --output-on-failure --timeout 900 -j1)
# ThreadSanitizer: only the tests marked TSAN (our own concurrency code), in a second build.
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPUBSUB_SANITIZE=thread \
  -DPUBSUB_BUILD_BENCH=OFF >/dev/null
cmake --build build-tsan --target tsan_tests -j"$(nproc)"
(cd build-tsan && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
  ctest --output-on-failure -L tsan)
# AddressSanitizer + UndefinedBehaviorSanitizer: the tests marked ASAN, in a third build.
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPUBSUB_SANITIZE=address,undefined \
  -DPUBSUB_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan --target asan_tests -j"$(nproc)"
lsan_suppressions="$PWD/tests/lsan.supp"  # a known leak inside libpqxx 6.4, explained there
(cd build-asan && ASAN_OPTIONS="abort_on_error=1:detect_leaks=1" \
  LSAN_OPTIONS="suppressions=$lsan_suppressions:print_suppressions=0" \
  UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1" ctest --output-on-failure -L asan)
echo "pubsub: test suite finished in $(( $(date +%s) - start ))s"
