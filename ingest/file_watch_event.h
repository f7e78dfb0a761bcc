// The file_received event of the file watcher (SPEC 3.2): its type, source and event_data.
//
// event_source is `file_watcher:<watched dir>` (the configured directory, absolute and
// normalised, without a trailing slash). event_data, in this order:
//   path           absolute path of the file          "/in/sales/2026/q1.csv"
//   name           last component                     "q1.csv"
//   directory      absolute directory holding it      "/in/sales/2026"
//   relative_path  path from the watched directory    "2026/q1.csv"
//   extension      after the last '.', case kept, ""  "csv" ("tar.gz" gives "gz"; ".x" is none)
//   size           bytes                              1234
//   mtime          ISO-8601 UTC, microseconds         "2026-01-02T03:04:05.123456Z"
//   mtime_us       microseconds since the Unix epoch  1767323045123456
//   watch_dir      the watched directory              "/in/sales"
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "router/intake.h"

namespace pubsub {

inline constexpr std::string_view file_received_type = "file_received";

// "2026-01-02T03:04:05.123456Z" (UTC; negative values are before 1970).
std::string format_utc_us(std::int64_t us);

// path must lie under watch_dir (both absolute, normalised).
event_draft file_received_draft(const std::string& watch_dir, const std::string& path,
                                std::int64_t size, std::int64_t mtime_us);

}  // namespace pubsub
