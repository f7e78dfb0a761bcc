// file_received drafts: see file_watch_event.h.
#include "ingest/file_watch_event.h"

#include <cstdio>
#include <ctime>

#include "router/file_watch_state.h"
#include "ingest/request.h"

namespace pubsub {

std::string format_utc_us(std::int64_t us) {
    std::int64_t secs = us / 1000000;
    std::int64_t frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        --secs;
    }
    const auto t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(frac));
    return buf;
}

namespace {

void add_string(std::string& out, std::string_view key, std::string_view value) {
    if (out.size() > 1) out += ',';
    append_json_string(out, key);
    out += ':';
    append_json_string(out, value);
}

void add_int(std::string& out, std::string_view key, std::int64_t value) {
    if (out.size() > 1) out += ',';
    append_json_string(out, key);
    out += ':';
    out += std::to_string(value);
}

}  // namespace

event_draft file_received_draft(const std::string& watch_dir, const std::string& path,
                                std::int64_t size, std::int64_t mtime_us) {
    const auto slash = path.rfind('/');
    const std::string_view p(path);
    const std::string_view name = p.substr(slash + 1);
    const std::string_view directory = slash == 0 ? p.substr(0, 1) : p.substr(0, slash);
    std::string_view relative = p;
    if (p.size() > watch_dir.size() && p.compare(0, watch_dir.size(), watch_dir) == 0) {
        relative = p.substr(watch_dir == "/" ? 1 : watch_dir.size() + 1);
    }
    const auto dot = name.rfind('.');
    const std::string_view extension =
        (dot == std::string_view::npos || dot == 0) ? std::string_view() : name.substr(dot + 1);

    event_draft d;
    d.type = std::string(file_received_type);
    d.source = file_watcher_source(watch_dir);
    std::string& o = d.data_json;
    o.clear();
    o.reserve(256 + 3 * path.size());
    o += '{';
    add_string(o, "path", path);
    add_string(o, "name", name);
    add_string(o, "directory", directory);
    add_string(o, "relative_path", relative);
    add_string(o, "extension", extension);
    add_int(o, "size", size);
    add_string(o, "mtime", format_utc_us(mtime_us));
    add_int(o, "mtime_us", mtime_us);
    add_string(o, "watch_dir", watch_dir);
    o += '}';
    return d;
}

}  // namespace pubsub
