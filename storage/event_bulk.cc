#include "storage/event_bulk.h"

#include <algorithm>
#include <limits>

#include "base/json_text.h"
#include "filter/glob.h"
#include "storage/audit_log.h"
#include "storage/channels.h"
#include "storage/event_actions.h"
#include "storage/event_queries.h"

namespace pubsub {

namespace {

constexpr const char* all_statuses[] = {"pending", "processing", "completed", "failed",
                                        "cancelled"};

// The statuses an action applies to (event_actions.h).
std::vector<std::string> applicable(bulk_action a) {
    if (a == bulk_action::retry) return {"failed", "cancelled"};
    return {"pending", "processing"};
}

bool known_status(const std::string& s) {
    return std::find(std::begin(all_statuses), std::end(all_statuses), s) != std::end(all_statuses);
}

// The selection's statuses that the action applies to (all of those when none is given).
std::vector<std::string> target_statuses(bulk_action a, const bulk_selection& s) {
    auto ok = applicable(a);
    if (s.statuses.empty()) return ok;
    std::vector<std::string> out;
    for (const auto& st : s.statuses) {
        if (std::find(ok.begin(), ok.end(), st) != ok.end() &&
            std::find(out.begin(), out.end(), st) == out.end()) {
            out.push_back(st);
        }
    }
    return out;
}

// Known, validated words only: no quoting needed inside the array literal.
std::string word_array(const std::vector<std::string>& words) {
    std::string out = "{";
    for (const auto& w : words) {
        if (out.size() > 1) out += ',';
        out += w;
    }
    return out + "}";
}

// Strict UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF), as
// PostgreSQL takes it.
bool valid_utf8(std::string_view s) {
    auto byte = [&s](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    for (std::size_t i = 0; i < s.size();) {
        const unsigned c = byte(i);
        std::size_t n = c < 0x80                 ? 1
                        : c >= 0xC2 && c <= 0xDF ? 2
                        : c >= 0xE0 && c <= 0xEF ? 3
                        : c >= 0xF0 && c <= 0xF4 ? 4
                                                 : 0;
        if (n == 0 || i + n > s.size()) return false;
        for (std::size_t k = 1; k < n; ++k) {
            if ((byte(i + k) & 0xC0) != 0x80) return false;
        }
        // The second byte's range where the first alone does not decide.
        const unsigned d = n > 1 ? byte(i + 1) : 0x80;
        if ((c == 0xE0 && d < 0xA0) || (c == 0xED && d > 0x9F) || (c == 0xF0 && d < 0x90) ||
            (c == 0xF4 && d > 0x8F)) {
            return false;
        }
        i += n;
    }
    return true;
}

// The WHERE clause over $1..$6 (statuses, type LIKE, source LIKE, since, until, ids).
constexpr const char* selection_where =
    " WHERE status = ANY($1::text[]) AND ($2::text IS NULL OR event_type LIKE $2) AND "
    "($3::text IS NULL OR event_source LIKE $3) AND ($4::timestamptz IS NULL OR created_at >= $4) "
    "AND ($5::timestamptz IS NULL OR created_at < $5) AND ($6::bigint[] IS NULL OR event_id = "
    "ANY($6::bigint[]))";

using params = std::vector<std::optional<std::string>>;

result<params> selection_params(bulk_action a, const bulk_selection& s) {
    params p{word_array(target_statuses(a, s))};
    for (const auto* g : {&s.type_glob, &s.source_glob}) {
        if (!*g) {
            p.emplace_back();
            continue;
        }
        auto like = glob_to_like(**g, g == &s.type_glob ? "type" : "source");
        if (!like.ok()) return like.error();
        p.emplace_back(std::move(*like));
    }
    p.push_back(s.since);
    p.push_back(s.until);
    p.push_back(s.ids.empty() ? std::nullopt : std::optional(pg::bigint_array(s.ids)));
    return p;
}

// The highest id below every event created at or after `since` that a search can find
// (event_search.h): below the first chunk that ends at or after it, or below the
// unsummarised tail when none does; 0 without chunks. Selections then walk the primary key (or
// the failed events' index) from there instead of reading the table for created_at.
result<event_id> ids_before(pg::connection& c, const std::string& schema,
                            const std::optional<std::string>& since) {
    if (!since) return event_id(0);
    auto r = c.query("SELECT coalesce((SELECT min(first_id) FROM " + schema +
                         ".tpubsub_event_chunks WHERE max_created >= $1::timestamptz), (SELECT "
                         "max(last_id) + 1 FROM " +
                         schema + ".tpubsub_event_chunks), 1) - 1",
                     {since});
    if (!r.ok()) return r.error();
    return event_id(std::max<std::int64_t>(r->get_int(0, 0), 0));
}

// The highest id a search can find among events created before `until` (event_search.h):
// the highest last id of the chunks that start before it; no bound (the largest id) when that
// is the newest chunk's, whose tail of unsummarised events may follow it, or without chunks.
result<event_id> ids_through(pg::connection& c, const std::string& schema,
                             const std::optional<std::string>& until) {
    constexpr event_id unbounded = std::numeric_limits<event_id>::max();
    if (!until) return unbounded;
    auto r = c.query("SELECT (SELECT max(last_id) FROM " + schema +
                         ".tpubsub_event_chunks WHERE min_created < $1::timestamptz), (SELECT "
                         "max(last_id) FROM " +
                         schema + ".tpubsub_event_chunks)",
                     {until});
    if (!r.ok()) return r.error();
    if (r->is_null(0, 1)) return unbounded;    // no chunk yet: every event is in the tail
    if (r->is_null(0, 0)) return event_id(0);  // every chunk starts at or after it
    const event_id through = r->get_int(0, 0);
    return through == r->get_int(0, 1) ? unbounded : through;
}

// A dry run: each target status counted on its own, so that each count reads that status's
// partial index (failed, cancelled, open: migrations 001 and 016) rather than the table, and
// (with a count limit) only up to `o.count_limit` + 1 rows in all.
result<bulk_outcome> count_selection(pg::connection& c, const std::string& schema, bulk_action a,
                                     const bulk_selection& s, const bulk_options& o,
                                     const params& p, event_id floor) {
    const std::string qs = c.quote_identifier(schema);
    auto ceiling = ids_through(c, qs, s.until);
    if (!ceiling.ok()) return ceiling.error();
    const std::int64_t want =
        o.count_limit > 0 ? o.count_limit + 1 : std::numeric_limits<std::int64_t>::max();
    std::int64_t n = 0;
    for (const auto& st : target_statuses(a, s)) {
        params q = p;
        q[0] = word_array({st});
        q.push_back(std::to_string(floor));
        q.push_back(std::to_string(*ceiling));
        q.push_back(std::to_string(want - n));
        auto r = c.query("SELECT count(*) FROM (SELECT 1 FROM " + qs + ".tpubsub_events" +
                             selection_where +
                             " AND event_id > $7::bigint AND event_id <= $8::bigint LIMIT "
                             "$9::bigint) x",
                         q);
        if (!r.ok()) return r.error();
        n += r->get_int(0, 0);
        if (n >= want) break;
    }
    bulk_outcome out;
    out.more = o.count_limit > 0 && n > o.count_limit;
    out.events = out.more ? o.count_limit : n;
    return out;
}

bool retryable(const std::string& sqlstate) {
    return sqlstate == "40P01" || sqlstate == "40001";  // deadlock, serialization failure
}

struct batch_result {
    std::int64_t events = 0, deliveries = 0;
    event_id last = 0;
};

// One transaction: lock the next matching rows after `after`, change them, audit, commit.
result<batch_result> run_batch(pg::connection& c, const std::string& schema, bulk_action a,
                               const bulk_selection& s, const bulk_options& o, params p,
                               event_id after, std::int64_t& audit_id) {
    auto tx = pg::transaction::begin(c);
    if (!tx.ok()) return tx.error();
    p.push_back(std::to_string(after));
    p.push_back(std::to_string(o.batch_size));
    auto rows = c.query("SELECT event_id FROM " + c.quote_identifier(schema) + ".tpubsub_events" +
                            selection_where +
                            " AND event_id > $7::bigint ORDER BY event_id LIMIT $8::int FOR UPDATE",
                        p);
    if (!rows.ok()) return rows.error();
    batch_result out;
    if (rows->rows() == 0) return out;  // nothing left; the transaction rolls back
    std::vector<event_id> ids;
    ids.reserve(static_cast<std::size_t>(rows->rows()));
    for (int i = 0; i < rows->rows(); ++i) ids.push_back(rows->get_int(i, 0));
    out.last = ids.back();
    out.events = static_cast<std::int64_t>(ids.size());
    auto d = apply_event_action(c, schema, a, ids);
    if (!d.ok()) return d.error();
    out.deliveries = *d;
    std::int64_t entry = audit_id;
    if (entry == 0) {
        auto id = record_audit_id(c, schema,
                                  {o.actor, std::string("events.") + bulk_action_name(a),
                                   selection_json(s), out.events, ""});
        if (!id.ok()) return id.error();
        entry = *id;
    } else if (status st = add_audit_rows(c, schema, entry, out.events); !st.ok()) {
        return st;
    }
    if (status st = tx->commit(); !st.ok()) return st;
    audit_id = entry;  // only once committed: a batch rolled back and run again records anew
    return out;
}

}  // namespace

const char* bulk_action_name(bulk_action a) { return a == bulk_action::retry ? "retry" : "cancel"; }

result<std::string> glob_to_like(std::string_view glob, std::string_view field) {
    const std::string f(field);
    if (glob.empty()) return status::error(f + ": empty glob (omit it to match everything)");
    if (glob.size() > 1000) return status::error(f + ": glob longer than 1000 bytes");
    for (char ch : glob) {
        auto u = static_cast<unsigned char>(ch);
        if (u < 0x20 || u == 0x7f) {
            return status::error(f + ": control character in glob \"" + std::string(glob) + "\"");
        }
    }
    if (!valid_utf8(glob)) return status::error(f + ": glob is not valid UTF-8");
    std::string out;
    for (std::int16_t tok : filter_detail::compile_glob(glob)) {
        if (tok == filter_detail::glob_star) {
            out += '%';
        } else if (tok == filter_detail::glob_any) {
            out += '_';  // one character, as `?` is one UTF-8 character in the filter language
        } else {
            char ch = static_cast<char>(tok);
            if (ch == '%' || ch == '_' || ch == '\\') out += '\\';
            out += ch;
        }
    }
    return out;
}

status check_selection(bulk_action a, const bulk_selection& s) {
    if (s.empty()) {
        return status::error(
            "give event ids or a filter (--status, --type, --source, --since, --until); "
            "an empty filter would match every event");
    }
    for (const auto& st : s.statuses) {
        if (!known_status(st)) {
            return status::error("status: unknown status \"" + st +
                                 "\" (pending, processing, completed, failed, cancelled)");
        }
    }
    if (target_statuses(a, s).empty()) {
        return status::error(std::string("status: ") + bulk_action_name(a) +
                             (a == bulk_action::retry
                                  ? " applies only to failed or cancelled events"
                                  : " applies only to pending or processing events"));
    }
    for (auto id : s.ids) {
        if (id <= 0) return status::error("ids: event ids are positive integers");
    }
    auto p = selection_params(a, s);
    return p.ok() ? status() : p.error();
}

result<bulk_outcome> run_bulk(pg::connection& c, const std::string& schema, bulk_action a,
                              const bulk_selection& s, const bulk_options& o) {
    if (status st = check_selection(a, s); !st.ok()) return st;
    if (o.batch_size < 1 || o.batch_size > 10'000) {
        return status::error("batch size must be 1 to 10000");
    }
    if (o.count_limit < 0) return status::error("count limit must not be negative");
    for (const auto* t : {&s.since, &s.until}) {
        if (*t && !check_timestamp(c, **t).ok()) {
            return status::error(std::string(t == &s.since ? "since" : "until") +
                                 ": not a timestamp: \"" + **t +
                                 "\" (use ISO 8601, e.g. 2026-01-31T12:00:00Z)");
        }
    }
    auto p = selection_params(a, s);
    if (!p.ok()) return p.error();
    auto floor = ids_before(c, c.quote_identifier(schema), s.since);
    if (!floor.ok()) return floor.error();
    if (o.dry_run) return count_selection(c, schema, a, s, o, *p, *floor);
    bulk_outcome out;
    if (o.actor.empty()) return status::error("bulk action without an actor for the audit");
    std::int64_t audit_id = 0;
    event_id last = *floor;
    for (;;) {
        result<batch_result> b = status::error("not run");
        for (int attempt = 0; attempt < 5; ++attempt) {
            b = run_batch(c, schema, a, s, o, *p, last, audit_id);
            if (b.ok() || !retryable(c.last_sqlstate())) break;
        }
        if (!b.ok()) {
            return status::error(b.message() + " (after " + std::to_string(out.events) +
                                 " events in " + std::to_string(out.batches) +
                                 " committed batches)");
        }
        if (b->events == 0) break;
        out.events += b->events;
        out.deliveries += b->deliveries;
        ++out.batches;
        last = b->last;
    }
    return out;
}

result<std::int64_t> apply_event_action(pg::connection& c, const std::string& schema, bulk_action a,
                                        const std::vector<event_id>& ids) {
    const std::string s = c.quote_identifier(schema);
    const std::string array = pg::bigint_array(ids);
    const std::string actions = schema_channel(event_actions_channel, schema);
    if (a == bulk_action::retry) {
        // A fresh budget: a delivery is dead again after max_retries more failed attempts.
        auto d = c.query("UPDATE " + s +
                             ".tpubsub_deliveries SET status = 'pending', retry_base = attempts, "
                             "next_attempt_at = NULL WHERE event_id = ANY($1::bigint[]) "
                             "AND status <> 'completed' RETURNING 1",
                         {array});
        if (!d.ok()) return d.error();
        auto e = c.query("UPDATE " + s +
                             ".tpubsub_events SET status = 'pending', claimed_by = NULL, "
                             "completed_at = NULL WHERE event_id = ANY($1::bigint[])",
                         {array});
        if (!e.ok()) return e.error();
        // Actions first: the owning router forgets the cancel before any sweep claims the event.
        auto n = c.query("SELECT pg_notify($2, 'retry ' || id) FROM unnest($1::bigint[]) AS id",
                         {array, actions});
        if (!n.ok()) return n.error();
        auto w = c.query("SELECT pg_notify($1, $2)",
                         {schema_channel("tpubsub_events", schema), std::to_string(ids.back())});
        if (!w.ok()) return w.error();
        return static_cast<std::int64_t>(d->rows());
    }
    auto d = c.query("UPDATE " + s +
                         ".tpubsub_deliveries SET status = 'cancelled', "
                         "next_attempt_at = NULL, finished_at = coalesce(finished_at, now()) "
                         "WHERE event_id = ANY($1::bigint[]) AND status NOT IN ('completed', "
                         "'dead') RETURNING 1",
                     {array});
    if (!d.ok()) return d.error();
    auto e = c.query("UPDATE " + s +
                         ".tpubsub_events SET status = 'cancelled', completed_at = now(), "
                         "error_message = coalesce(error_message, 'cancelled by an operator') "
                         "WHERE event_id = ANY($1::bigint[])",
                     {array});
    if (!e.ok()) return e.error();
    auto n = c.query("SELECT pg_notify($2, 'cancel ' || id) FROM unnest($1::bigint[]) AS id",
                     {array, actions});
    if (!n.ok()) return n.error();
    return static_cast<std::int64_t>(d->rows());
}

std::string selection_json(const bulk_selection& s) {
    std::string j = "{";
    auto key = [&j](const char* k) {
        if (j.size() > 1) j += ",";
        j += "\"";
        j += k;
        j += "\":";
    };
    if (!s.ids.empty()) {
        key("ids");
        j += "[";
        for (std::size_t i = 0; i < s.ids.size(); ++i) {
            if (i) j += ",";
            j += std::to_string(s.ids[i]);
        }
        j += "]";
    }
    if (!s.statuses.empty()) {
        key("status");
        j += "[";
        for (std::size_t i = 0; i < s.statuses.size(); ++i) {
            if (i) j += ",";
            append_json_string(j, s.statuses[i]);
        }
        j += "]";
    }
    const std::pair<const char*, const std::optional<std::string>*> texts[] = {
        {"type", &s.type_glob},
        {"source", &s.source_glob},
        {"since", &s.since},
        {"until", &s.until}};
    for (const auto& [k, v] : texts) {
        if (!*v) continue;
        key(k);
        append_json_string(j, **v);
    }
    return j + "}";
}

}  // namespace pubsub
