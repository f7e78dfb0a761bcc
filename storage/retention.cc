#include "storage/retention.h"

#include <algorithm>
#include <charconv>
#include <optional>

namespace pubsub {

namespace {

bool is_finished(std::string_view which) {
    return std::find(std::begin(finished_statuses), std::end(finished_statuses), which) !=
           std::end(finished_statuses);
}

std::string table(const pg::connection& c, const std::string& schema, const char* name) {
    return c.quote_identifier(schema) + "." + name;
}

// The rows a policy removes: finished, of a status kept for a while (0 keeps forever), whose
// completed_at is older than that. As completed_at is never before created_at, the shortest
// duration also bounds created_at, so tpubsub_events_created_idx finds them oldest first with no
// index of their own; the rows it visits and keeps are the expired-looking ones of a status kept
// longer (say failed, 7 to 30 days old). Parameters $1 (shortest), $2..$4 (completed, cancelled,
// failed) in seconds.
std::string doomed_where(const retention_policy& p) {
    std::string in;
    for (auto s : finished_statuses) {
        if (p.keep(s).count() == 0) continue;
        in += std::string(in.empty() ? "" : ", ") + "'" + std::string(s) + "'";
    }
    return " WHERE status IN (" + in +
           ") AND created_at < now() - make_interval(secs => $1::float8) AND completed_at < now() "
           "- make_interval(secs => CASE status WHEN 'completed' THEN $2::float8 WHEN "
           "'cancelled' THEN $3::float8 ELSE $4::float8 END)";
}

std::vector<std::optional<std::string>> policy_params(const retention_policy& p) {
    std::int64_t shortest = 0;
    for (auto s : finished_statuses) {
        auto k = p.keep(s).count();
        if (k > 0 && (shortest == 0 || k < shortest)) shortest = k;
    }
    return {std::to_string(shortest), std::to_string(p.completed.count()),
            std::to_string(p.cancelled.count()), std::to_string(p.failed.count())};
}

}  // namespace

std::chrono::seconds retention_policy::keep(std::string_view which) const {
    if (which == "completed") return completed;
    if (which == "cancelled") return cancelled;
    if (which == "failed") return failed;
    return std::chrono::seconds(0);
}

bool retention_policy::keeps_everything() const {
    return completed.count() == 0 && cancelled.count() == 0 && failed.count() == 0;
}

result<std::chrono::seconds> parse_duration(std::string_view text) {
    auto bad = [&] {
        return status::error(
            "a duration is a whole number with a unit s, m, h or d (\"30s\", "
            "\"15m\", \"12h\", \"7d\") or 0 to keep forever, got \"" +
            std::string(text) + "\"");
    };
    if (text == "0") return std::chrono::seconds(0);
    if (text.size() < 2) return bad();
    std::int64_t n = 0;
    const char* end = text.data() + text.size() - 1;
    auto [p, ec] = std::from_chars(text.data(), end, n);
    if (ec != std::errc() || p != end || n < 0) return bad();
    std::int64_t unit = 0;
    switch (text.back()) {
        case 's':
            unit = 1;
            break;
        case 'm':
            unit = 60;
            break;
        case 'h':
            unit = 3600;
            break;
        case 'd':
            unit = 86400;
            break;
        default:
            return bad();
    }
    if (n > std::int64_t{100} * 365 * 86400 / unit) return bad();  // beyond a century
    return std::chrono::seconds(n * unit);
}

std::string format_duration(std::chrono::seconds d) {
    const auto s = d.count();
    if (s == 0) return "0";
    if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
    if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
    if (s % 60 == 0) return std::to_string(s / 60) + "m";
    return std::to_string(s) + "s";
}

result<retention_policy> parse_retention(const std::vector<std::string>& items) {
    retention_policy p;
    for (const auto& item : items) {
        auto eq = item.find('=');
        if (eq == std::string::npos) {
            return status::error("--retention takes STATUS=DURATION, got \"" + item + "\"");
        }
        const std::string status_name = item.substr(0, eq);
        if (!is_finished(status_name)) {
            return status::error("--retention " + item +
                                 ": STATUS must be completed, cancelled or failed");
        }
        auto d = parse_duration(std::string_view(item).substr(eq + 1));
        if (!d.ok()) return status::error("--retention " + item + ": " + d.message());
        if (status_name == "completed") p.completed = *d;
        if (status_name == "cancelled") p.cancelled = *d;
        if (status_name == "failed") p.failed = *d;
    }
    return p;
}

std::string describe(const retention_policy& p) {
    std::string out;
    for (auto s : finished_statuses) {
        if (!out.empty()) out += ' ';
        out += std::string(s) + "=" + format_duration(p.keep(s));
    }
    return out;
}

result<std::int64_t> count_prunable(pg::connection& c, const std::string& schema,
                                    const retention_policy& p) {
    if (p.keeps_everything()) return std::int64_t{0};
    auto r = c.query("SELECT count(*) FROM " + table(c, schema, "tpubsub_events") + doomed_where(p),
                     policy_params(p));
    if (!r.ok()) return r.error();
    return r->get_int(0, 0);
}

namespace {

// One batch from `from` on (created_at; nullopt: the oldest), which it moves to the created_at of
// the last event removed: the rows before it that a batch read and kept are not read again by
// the next batch of the same pass.
result<std::int64_t> batch_from(pg::connection& c, const std::string& schema,
                                const retention_policy& p, int limit,
                                std::optional<std::string>& from) {
    if (p.keeps_everything()) return std::int64_t{0};
    const std::string events = table(c, schema, "tpubsub_events");
    auto params = policy_params(p);
    params.emplace_back(std::to_string(limit));
    params.push_back(from);
    // One statement, so one short transaction: lock the batch (skipping rows others hold),
    // then delete its deliveries and the events themselves.
    auto r =
        c.query("WITH doomed AS (SELECT event_id, created_at FROM " + events + doomed_where(p) +
                    " AND ($6::timestamptz IS NULL OR created_at >= $6::timestamptz) ORDER "
                    "BY created_at LIMIT $5::int FOR UPDATE SKIP LOCKED), "
                    "gone_deliveries AS (DELETE FROM " +
                    table(c, schema, "tpubsub_deliveries") +
                    " d USING doomed WHERE d.event_id = doomed.event_id), gone AS (DELETE "
                    "FROM " +
                    events +
                    " e USING doomed WHERE e.event_id = doomed.event_id RETURNING "
                    "doomed.created_at) SELECT count(*), max(created_at)::text FROM gone",
                params);
    if (!r.ok()) return r.error();
    if (!r->is_null(0, 1)) from = std::string(r->get(0, 1));
    return r->get_int(0, 0);
}

}  // namespace

result<std::int64_t> prune_batch(pg::connection& c, const std::string& schema,
                                 const retention_policy& p, int limit) {
    std::optional<std::string> from;
    return batch_from(c, schema, p, limit, from);
}

result<std::int64_t> prune_all(pg::connection& c, const std::string& schema,
                               const retention_policy& p, int limit,
                               const std::function<bool()>& keep_going) {
    std::int64_t total = 0;
    std::optional<std::string> from;
    for (;;) {
        auto n = batch_from(c, schema, p, limit, from);
        if (!n.ok()) return n.error();
        total += *n;
        if (*n < limit || (keep_going && !keep_going())) return total;
    }
}

status vacuum_event_tables(pg::connection& c, const std::string& schema) {
    return c.exec("VACUUM (ANALYZE) " + table(c, schema, "tpubsub_events") + ", " +
                  table(c, schema, "tpubsub_deliveries"));
}

}  // namespace pubsub
