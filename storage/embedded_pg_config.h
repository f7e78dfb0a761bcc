// How an embedded cluster's server is configured and reached: the DSN, the command-line options
// of each start, and the pubsub.conf written at initdb. Internal to storage/embedded_pg*.
// Thread-safety: plain functions and constants.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "storage/embedded_pg.h"

namespace pubsub::detail {

// pg_ctl's own log (postgres.log) is moved to postgres.log.1 at a start once over this size.
constexpr std::uintmax_t k_max_start_log = 10u << 20;

// libpq connection string for database db as role, through the socket under root.
std::string make_dsn(const std::filesystem::path& root, const std::string& db,
                     const std::string& role);

// pg_ctl -o: port, socket folder, no TCP, the bounded server log, and opt.settings.
std::string server_options(const std::filesystem::path& root, const embedded_options& opt);

// The text of data/pubsub.conf, written once, right after initdb.
extern const char* const k_pubsub_conf;

}  // namespace pubsub::detail
