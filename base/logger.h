// logger: structured log lines on stderr, one line per notable thing, logfmt by default
//   ts=2026-11-27T04:00:00.123Z level=info msg="pubsubd started" socket=/x/pubsub.sock
// or one JSON object per line with --log-format json (log_json.h).
// Values are escaped logfmt-style (log_value), so no payload, subscriber or file name can end
// a line or forge a field; log_line also escapes control bytes left in `fields`, as a backstop.
// Thread-safe (one write(2) per line); the level and format may change at any time (SIGHUP).
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace pubsub {

enum class log_level { debug = 0, info = 1, warn = 2, error = 3 };
enum class log_format { logfmt = 0, json = 1 };

bool parse_log_level(std::string_view s, log_level& out);
void set_log_level(log_level level);
bool parse_log_format(std::string_view s, log_format& out);  // "logfmt" or "json"
void set_log_format(log_format format);
// fields: "key=value key=value", each value made by log_value() (or a number); in JSON each
// becomes a member of the line's object.
void log_line(log_level level, std::string_view msg, std::string_view fields = {});

// A logfmt value: as is when it is a plain token (non-empty; no space, quote, `=`, backslash or
// control byte), else quoted with `"` `\` escaped and newline, CR, tab as \n \r \t, other
// control bytes as \xNN.
std::string log_value(std::string_view v);
// "key=" + log_value(value).
std::string log_field(std::string_view key, std::string_view value);

// The libraries' log hook: they log through it and never write to stderr themselves. May be
// empty (nothing is logged).
using log_sink = std::function<void(log_level, const std::string&)>;

// A log_sink that writes log_line(level, msg, "component=<component>").
log_sink log_hook(std::string component);

}  // namespace pubsub
