#include "storage/retention.h"

#include <algorithm>
#include <charconv>

namespace pubsub {

namespace {

bool is_finished(std::string_view which) {
    return std::find(std::begin(finished_statuses), std::end(finished_statuses), which) !=
           std::end(finished_statuses);
}

// The rows of one status older than the cutoff, through tpubsub_events_finished_idx: the status
// is a literal (from the fixed set) and the predicate repeats the index's, so the planner can
// use the partial index whatever the plan.
std::string doomed_where(const pg::connection& c, std::string_view which) {
    return " WHERE status IN ('completed', 'failed', 'cancelled') AND status = " +
           c.quote_literal(which) + " AND completed_at < now() - make_interval(secs => $1::float8)";
}

std::string table(const pg::connection& c, const std::string& schema, const char* name) {
    return c.quote_identifier(schema) + "." + name;
}

status check_status(std::string_view which) {
    if (is_finished(which)) return {};
    return status::error("retention applies to completed, cancelled or failed events, not \"" +
                         std::string(which) + "\"");
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
                                    std::string_view which, std::chrono::seconds older_than) {
    if (auto s = check_status(which); !s.ok()) return s;
    auto r = c.query(
        "SELECT count(*) FROM " + table(c, schema, "tpubsub_events") + doomed_where(c, which),
        {std::to_string(older_than.count())});
    if (!r.ok()) return r.error();
    return r->get_int(0, 0);
}

result<std::int64_t> prune_batch(pg::connection& c, const std::string& schema,
                                 std::string_view which, std::chrono::seconds older_than,
                                 int limit) {
    if (auto s = check_status(which); !s.ok()) return s;
    const std::string events = table(c, schema, "tpubsub_events");
    // One statement, so one short transaction: lock the batch (skipping rows others hold),
    // then delete its deliveries and the events themselves.
    auto r = c.query("WITH doomed AS (SELECT event_id FROM " + events + doomed_where(c, which) +
                         " ORDER BY completed_at LIMIT $2::int FOR UPDATE SKIP LOCKED), "
                         "gone_deliveries AS (DELETE FROM " +
                         table(c, schema, "tpubsub_deliveries") +
                         " d USING doomed WHERE d.event_id = doomed.event_id), gone AS (DELETE "
                         "FROM " +
                         events +
                         " e USING doomed WHERE e.event_id = doomed.event_id RETURNING 1) "
                         "SELECT count(*) FROM gone",
                     {std::to_string(older_than.count()), std::to_string(limit)});
    if (!r.ok()) return r.error();
    return r->get_int(0, 0);
}

result<std::int64_t> prune_all(pg::connection& c, const std::string& schema, std::string_view which,
                               std::chrono::seconds older_than, int limit,
                               const std::function<bool()>& keep_going) {
    std::int64_t total = 0;
    for (;;) {
        auto n = prune_batch(c, schema, which, older_than, limit);
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
