#include "storage/idempotency_keys.h"

#include <unordered_map>

namespace pubsub {

key_claim_statements key_claim_sql(const std::string& s) {
    // $1: text[] of keys, $2: bigint[] of their events' ids, $3: the window in seconds.
    key_claim_statements out;
    out.insert = "INSERT INTO " + s +
                 ".tpubsub_idempotency_keys (idempotency_key, event_id) "
                 "SELECT key, id FROM unnest($1::text[], $2::bigint[]) AS u(key, id) ORDER BY key";
    out.upsert = "INSERT INTO " + s +
                 ".tpubsub_idempotency_keys AS k (idempotency_key, event_id) "
                 "SELECT DISTINCT ON (key) key, id FROM unnest($1::text[], $2::bigint[]) AS "
                 "u(key, id) ORDER BY key, id "
                 "ON CONFLICT (idempotency_key) DO UPDATE SET "
                 "event_id = CASE WHEN k.created_at < now() - make_interval(secs => $3::bigint) "
                 "THEN EXCLUDED.event_id ELSE k.event_id END, "
                 "created_at = CASE WHEN k.created_at < now() - make_interval(secs => $3::bigint) "
                 "THEN now() ELSE k.created_at END "
                 "RETURNING k.idempotency_key, k.event_id";
    return out;
}

namespace {

constexpr const char* unique_violation = "23505";

bool wants_key(const pending_row& row) {
    return row.has_pending && row.is_new() && !row.ev->idempotency_key.empty();
}

}  // namespace

status claim_keys(pg::connection& conn, const key_claim_statements& sql,
                  std::span<pending_row> rows, std::chrono::seconds window) {
    std::string keys = "{", ids = "{";
    std::size_t n = 0;
    for (auto& row : rows) {
        row.duplicate_of = 0;
        if (!wants_key(row)) continue;
        if (n++ > 0) {
            keys += ',';
            ids += ',';
        }
        pg::append_array_element(keys, row.ev->idempotency_key);
        ids += std::to_string(row.ev->id);
    }
    if (n == 0) return status();
    keys += '}';
    ids += '}';
    if (status s = conn.exec("SAVEPOINT pubsub_key_claim"); !s.ok()) return s;
    auto inserted = conn.query(sql.insert, {keys, ids});
    if (inserted.ok()) return status();  // every key is this batch's
    if (conn.last_sqlstate() != unique_violation) return inserted.error();
    if (status s = conn.exec("ROLLBACK TO SAVEPOINT pubsub_key_claim"); !s.ok()) return s;
    auto r = conn.query(sql.upsert, {keys, ids, std::to_string(window.count())});
    if (!r.ok()) return r.error();
    std::unordered_map<std::string_view, event_id> holder;
    holder.reserve(static_cast<std::size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) holder.emplace(r->get(i, 0), r->get_int(i, 1));
    for (auto& row : rows) {
        if (!wants_key(row)) continue;
        auto it = holder.find(row.ev->idempotency_key);
        if (it != holder.end() && it->second != row.ev->id) row.duplicate_of = it->second;
    }
    return status();
}

result<std::size_t> delete_expired_keys(pg::connection& conn, const std::string& s,
                                        std::chrono::seconds window, std::size_t limit) {
    auto r =
        conn.query("WITH gone AS (DELETE FROM " + s +
                       ".tpubsub_idempotency_keys WHERE ctid = ANY (ARRAY(SELECT ctid FROM " + s +
                       ".tpubsub_idempotency_keys WHERE created_at < now() - "
                       "make_interval(secs => $1::bigint) LIMIT $2::bigint)) RETURNING 1) "
                       "SELECT count(*) FROM gone",
                   {std::to_string(window.count()), std::to_string(limit)});
    if (!r.ok()) return r.error();
    return static_cast<std::size_t>(r->get_int(0, 0));
}

}  // namespace pubsub
