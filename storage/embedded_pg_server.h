// The state of an embedded cluster's server as seen from outside: pings, and what a
// postmaster.pid left behind means. Internal to storage/embedded_pg*.
// Thread-safety: plain functions without shared state; they read /proc and may sleep.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace pubsub::detail {

PGPing ping(const std::string& dsn);
// Pings until the server answers or stops refusing (it is starting or shutting down).
PGPing ping_settled(const std::string& dsn, std::chrono::seconds limit);

// Server processes (the postmaster and its children) all work in PGDATA: their pids.
std::vector<long> processes_in(const std::filesystem::path& pgdata);
// Waits up to `limit` for server processes left behind (a killed postmaster's children).
std::vector<long> wait_for_orphans(const std::filesystem::path& pgdata, std::chrono::seconds limit);

enum class pid_state { absent, ours, dead, reused };

// Reads PGDATA/postmaster.pid: is its process alive, a postgres, and working in this PGDATA?
// When we cannot tell (no permission to read its cwd), we assume it is ours.
std::pair<pid_state, long> postmaster_state(const std::filesystem::path& pgdata);

}  // namespace pubsub::detail
