# Every dependency comes from a Debian package (see tools/install-deps).
find_package(Threads REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBPQ REQUIRED IMPORTED_TARGET libpq)
# The pg layer (storage/pg.h) is libpqxx, with raw libpq only for COPY and socket waits.
pkg_check_modules(LIBPQXX REQUIRED IMPORTED_TARGET libpqxx)
# sd_notify for pubsubd.service (Type=notify, watchdog).
pkg_check_modules(SYSTEMD REQUIRED IMPORTED_TARGET libsystemd)
# pubsubd's allocator (tools/pubsubd/CMakeLists.txt).
pkg_check_modules(JEMALLOC REQUIRED IMPORTED_TARGET jemalloc)
find_package(simdjson REQUIRED)
find_package(Boost 1.74 REQUIRED)
find_package(CLI11 REQUIRED)

# ConcurrentQueue is header-only; Debian installs it under /usr/include/concurrentqueue.
find_path(CONCURRENTQUEUE_INCLUDE_DIR concurrentqueue.h PATH_SUFFIXES concurrentqueue
          concurrentqueue/moodycamel REQUIRED)
add_library(concurrentqueue INTERFACE)
target_include_directories(concurrentqueue SYSTEM INTERFACE ${CONCURRENTQUEUE_INCLUDE_DIR})
