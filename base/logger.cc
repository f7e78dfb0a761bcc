#include "base/logger.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "base/log_json.h"

namespace pubsub {

namespace {
std::atomic<int> g_level{static_cast<int>(log_level::info)};
std::atomic<int> g_format{static_cast<int>(log_format::logfmt)};

const char* level_name(log_level l) {
    switch (l) {
        case log_level::debug:
            return "debug";
        case log_level::info:
            return "info";
        case log_level::warn:
            return "warn";
        case log_level::error:
            return "error";
    }
    return "info";
}

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

// Appends v with quotes, backslashes and control bytes escaped (no surrounding quotes).
void append_escaped(std::string& out, std::string_view v, bool escape_quotes) {
    static const char hex[] = "0123456789abcdef";
    for (char ch : v) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '"' && escape_quotes) {
            out += "\\\"";
        } else if (c == '\\' && escape_quotes) {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (is_control(c)) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += ch;
        }
    }
}

}  // namespace

std::string log_value(std::string_view v) {
    bool plain = !v.empty();
    for (char ch : v) {
        auto c = static_cast<unsigned char>(ch);
        if (c == ' ' || c == '"' || c == '=' || c == '\\' || is_control(c)) plain = false;
    }
    if (plain) return std::string(v);
    std::string out = "\"";
    append_escaped(out, v, true);
    return out + '"';
}

std::string log_field(std::string_view key, std::string_view value) {
    return std::string(key) + "=" + log_value(value);
}

bool parse_log_level(std::string_view s, log_level& out) {
    for (auto l : {log_level::debug, log_level::info, log_level::warn, log_level::error}) {
        if (s == level_name(l)) {
            out = l;
            return true;
        }
    }
    return false;
}

void set_log_level(log_level level) { g_level.store(static_cast<int>(level)); }

bool parse_log_format(std::string_view s, log_format& out) {
    if (s == "logfmt" || s == "json") {
        out = s == "json" ? log_format::json : log_format::logfmt;
        return true;
    }
    return false;
}

void set_log_format(log_format format) { g_format.store(static_cast<int>(format)); }

void log_line(log_level level, std::string_view msg, std::string_view fields) {
    if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
    using namespace std::chrono;
    auto now = system_clock::now();
    auto secs = system_clock::to_time_t(now);
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char ts[40];
    std::snprintf(ts, sizeof ts, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    if (g_format.load(std::memory_order_relaxed) == static_cast<int>(log_format::json)) {
        std::string line = log_json_line(ts, level_name(level), msg, fields) + '\n';
        [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
        return;
    }
    std::string line = "ts=";
    line += ts;
    line += " level=";
    line += level_name(level);
    line += " msg=\"";
    append_escaped(line, msg, true);
    line += '"';
    if (!fields.empty()) {
        line += ' ';
        append_escaped(line, fields, false);  // callers quote values; this keeps lines whole
    }
    line += '\n';
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
}

log_sink log_hook(std::string component) {
    return [component = std::move(component)](log_level level, const std::string& msg) {
        log_line(level, msg, log_field("component", component));
    };
}

}  // namespace pubsub
