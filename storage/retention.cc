#include "storage/retention.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <optional>

#include "storage/event_search.h"

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
// duration also bounds created_at: the pruner reads the chunks that ended before it (oldest
// first), not the whole table. Parameters $1 (shortest), $2..$4 (completed, cancelled, failed)
// in seconds.
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

namespace {

// Where a pass of the pruner is: the chunks of tpubsub_event_chunks that ended before the
// shortest duration, oldest (by max_created) first, then the tail above every chunk (events no
// writer has summarised yet), read directly in id order.
struct prune_pass {
    std::optional<std::string> after_created;  // the (max_created, first_id, last_id) done last
    event_id after_first = 0, after_last = 0;
    bool chunks_done = false;
    std::optional<event_id> tail_from;  // nullopt: not looked up yet
    bool done = false;
};

// The first id of the tail (above every chunk; the lowest id when there is no chunk).
result<event_id> tail_start(pg::connection& c, const std::string& schema) {
    auto r = c.query("SELECT max(last_id) FROM " + table(c, schema, "tpubsub_event_chunks"));
    if (!r.ok()) return r.error();
    return r->is_null(0, 0) ? std::numeric_limits<event_id>::min() : r->get_int(0, 0) + 1;
}

// The chunks a pass reads: ended before the shortest duration ($1 seconds), after the pass's
// position ($2..$4), oldest first.
std::string chunks_due(const pg::connection& c, const std::string& schema) {
    return "SELECT first_id, last_id, n_events, max_created::text FROM " +
           table(c, schema, "tpubsub_event_chunks") +
           " WHERE max_created < now() - make_interval(secs => $1::float8) AND ($2::timestamptz "
           "IS NULL OR (max_created, first_id, last_id) > ($2::timestamptz, $3::bigint, "
           "$4::bigint)) ORDER BY max_created, first_id, last_id";
}

// Deletes the doomed events among `rows_sql` (a FROM list with the events as e, and its
// conditions), locking them first and skipping rows others hold, with their deliveries; one
// statement. Returns how many and the highest id removed.
result<std::pair<std::int64_t, event_id>> delete_doomed(
    pg::connection& c, const std::string& schema, const retention_policy& p,
    const std::string& rows_sql, std::vector<std::optional<std::string>> extra) {
    auto params = policy_params(p);
    params.insert(params.end(), extra.begin(), extra.end());
    auto r = c.query("WITH doomed AS (SELECT e.event_id " + rows_sql +
                         " FOR UPDATE OF e SKIP LOCKED), gone_deliveries AS (DELETE FROM " +
                         table(c, schema, "tpubsub_deliveries") +
                         " d USING doomed WHERE d.event_id = doomed.event_id), gone AS (DELETE "
                         "FROM " +
                         table(c, schema, "tpubsub_events") +
                         " x USING doomed WHERE x.event_id = doomed.event_id RETURNING "
                         "x.event_id) SELECT count(*), max(event_id) FROM gone",
                     params);
    if (!r.ok()) return r.error();
    return std::pair(r->get_int(0, 0), r->get_int(0, 1));
}

// The policy's conditions on e, after `AND`.
std::string doomed_and(const retention_policy& p) {
    std::string w = doomed_where(p);
    return w.substr(std::string(" WHERE ").size());
}

// The events of the ranges (merged) that the policy removes, with the ranges as constants,
// not arrays joined in: the planner then knows how few rows they hold (with an unnest() join
// it expected most of the table and hash-joined the events and deliveries whole, a second and
// a half a batch at 1,000,000 events).
std::string doomed_in(const pg::connection& c, const std::string& schema, const retention_policy& p,
                      std::vector<id_range> ranges) {
    std::string in;
    for (const auto& r : merge_ranges_desc(std::move(ranges))) {
        in += std::string(in.empty() ? "" : " OR ") + "e.event_id BETWEEN " + std::to_string(r.lo) +
              " AND " + std::to_string(r.hi);
    }
    return "FROM " + table(c, schema, "tpubsub_events") + " e WHERE (" + in + ") AND " +
           doomed_and(p);
}

// One batch of the chunk walk: the next chunks due, up to `limit` events by their counts (at
// least one chunk), every doomed event in their ranges, then those chunks whose range no event
// is left in. Moves the pass on past them. Returns how many events.
result<std::int64_t> chunk_batch(pg::connection& c, const std::string& schema,
                                 const retention_policy& p, int limit, prune_pass& pass) {
    auto ch = c.query(chunks_due(c, schema) + " LIMIT " + std::to_string(limit / 16 + 1),
                      {policy_params(p)[0], pass.after_created, std::to_string(pass.after_first),
                       std::to_string(pass.after_last)});
    if (!ch.ok()) return ch.error();
    std::vector<id_range> ranges;
    std::vector<std::int64_t> firsts, lasts;
    std::int64_t events = 0;
    for (int i = 0; i < ch->rows() && (i == 0 || events + ch->get_int(i, 2) <= limit); ++i) {
        events += ch->get_int(i, 2);
        ranges.push_back({ch->get_int(i, 0), ch->get_int(i, 1)});
        firsts.push_back(ch->get_int(i, 0));
        lasts.push_back(ch->get_int(i, 1));
        pass.after_created = std::string(ch->get(i, 3));
        pass.after_first = ch->get_int(i, 0);
        pass.after_last = ch->get_int(i, 1);
    }
    if (ranges.empty()) {
        pass.chunks_done = true;
        return std::int64_t{0};
    }
    auto gone = delete_doomed(c, schema, p, doomed_in(c, schema, p, std::move(ranges)), {});
    if (!gone.ok()) return gone.error();
    // A chunk whose range is empty now summarises nothing: searches would read it for nothing.
    if (status st = c.query("DELETE FROM " + table(c, schema, "tpubsub_event_chunks") +
                                " k USING unnest($1::bigint[], $2::bigint[]) r(f, l) WHERE "
                                "k.last_id = r.l AND k.first_id = r.f AND NOT EXISTS (SELECT 1 "
                                "FROM " +
                                table(c, schema, "tpubsub_events") +
                                " e WHERE e.event_id BETWEEN k.first_id AND k.last_id)",
                            {pg::bigint_array(firsts), pg::bigint_array(lasts)})
                        .error();
        !st.ok()) {
        return st;
    }
    return gone->first;
}

// One batch of the tail: at most `limit` doomed events above every chunk, in id order.
result<std::int64_t> tail_batch(pg::connection& c, const std::string& schema,
                                const retention_policy& p, int limit, prune_pass& pass) {
    auto gone =
        delete_doomed(c, schema, p,
                      "FROM " + table(c, schema, "tpubsub_events") + " e WHERE " + doomed_and(p) +
                          " AND e.event_id >= $5::bigint ORDER BY e.event_id LIMIT "
                          "$6::int",
                      {std::to_string(*pass.tail_from), std::to_string(limit)});
    if (!gone.ok()) return gone.error();
    if (gone->first < limit) pass.done = true;
    if (gone->first > 0) pass.tail_from = gone->second + 1;
    return gone->first;
}

// The next batch of a pass (0 events when it read only kept rows; pass.done at the end).
result<std::int64_t> next_batch(pg::connection& c, const std::string& schema,
                                const retention_policy& p, int limit, prune_pass& pass) {
    if (p.keeps_everything()) {
        pass.done = true;
        return std::int64_t{0};
    }
    if (!pass.tail_from) {
        auto t = tail_start(c, schema);
        if (!t.ok()) return t.error();
        pass.tail_from = *t;
    }
    if (!pass.chunks_done) {
        auto n = chunk_batch(c, schema, p, limit, pass);
        if (!n.ok() || !pass.chunks_done) return n;
    }
    return tail_batch(c, schema, p, limit, pass);
}

}  // namespace

result<std::int64_t> count_prunable(pg::connection& c, const std::string& schema,
                                    const retention_policy& p) {
    if (p.keeps_everything()) return std::int64_t{0};
    auto ch = c.query(chunks_due(c, schema), {policy_params(p)[0], std::nullopt, "0", "0"});
    if (!ch.ok()) return ch.error();
    auto tail = tail_start(c, schema);
    if (!tail.ok()) return tail.error();
    std::vector<id_range> ranges{{*tail, std::numeric_limits<event_id>::max()}};
    for (int i = 0; i < ch->rows(); ++i) ranges.push_back({ch->get_int(i, 0), ch->get_int(i, 1)});
    auto r =
        c.query("SELECT count(*) " + doomed_in(c, schema, p, std::move(ranges)), policy_params(p));
    if (!r.ok()) return r.error();
    return r->get_int(0, 0);
}

result<std::int64_t> prune_batch(pg::connection& c, const std::string& schema,
                                 const retention_policy& p, int limit) {
    prune_pass pass;
    for (;;) {
        auto n = next_batch(c, schema, p, limit, pass);
        if (!n.ok() || *n > 0 || pass.done) return n;
    }
}

result<std::int64_t> prune_all(pg::connection& c, const std::string& schema,
                               const retention_policy& p, int limit,
                               const std::function<bool()>& keep_going) {
    std::int64_t total = 0;
    prune_pass pass;
    // Batches that removed nothing (chunks whose events are all kept, such as failed events
    // kept longer than completed ones) only read: keep_going() (the daemon's pause between
    // batches) is asked after every 16th of them rather than each one.
    int idle = 0;
    for (;;) {
        auto n = next_batch(c, schema, p, limit, pass);
        if (!n.ok()) return n.error();
        total += *n;
        if (pass.done) return total;
        if ((*n > 0 || ++idle % 16 == 0) && keep_going && !keep_going()) return total;
    }
}

status vacuum_event_tables(pg::connection& c, const std::string& schema) {
    const std::string tables = table(c, schema, "tpubsub_events") + ", " +
                               table(c, schema, "tpubsub_deliveries") + ", " +
                               table(c, schema, "tpubsub_event_chunks");
    if (status s = c.exec("VACUUM (ANALYZE) " + tables); !s.ok()) return s;
    // Index pages that VACUUM empties and deletes can be reused only once the transaction ids
    // have moved past their deletion, which the VACUUM that deleted them cannot see; a later
    // VACUUM hands them to the free space map. Until then the inserts grow every index
    // instead (the primary key doubled over the bloat cycles, bench/RESULTS.md). So: take one
    // transaction id (a write of its own would do the same), then a second VACUUM, cheap
    // with no dead rows left, which finds the deleted pages reusable.
    if (status s = c.exec("SELECT pg_current_xact_id()"); !s.ok()) return s;
    return c.exec("VACUUM " + tables);
}

}  // namespace pubsub
