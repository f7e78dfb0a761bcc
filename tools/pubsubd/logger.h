// logger: structured log lines (logfmt) on stderr, one line per notable thing.
//   ts=2026-11-27T04:00:00.123Z level=info msg="pubsubd started" socket=/x/pubsub.sock
// Thread-safe (one write(2) per line). The level is set once at start-up.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace pubsub {

enum class log_level { debug = 0, info = 1, warn = 2, error = 3 };

bool parse_log_level(std::string_view s, log_level& out);
void set_log_level(log_level level);
void log_line(log_level level, std::string_view msg, std::string_view fields = {});

// Adapter for the libraries' `std::function<void(int, const std::string&)>` log hooks.
std::function<void(int, const std::string&)> log_hook(std::string component);

}  // namespace pubsub
