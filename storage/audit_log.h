// audit_log: the operator audit table (<schema>.tpubsub_audit, SPEC 7.4): who changed what, when,
// and how many rows. Every operator change (event retry/cancel, bulk or single; subscriber edits;
// pauses; prunes by hand) records one entry, in the same transaction as the change where the
// caller has one, so an entry exists exactly when the change committed.
// Plain functions over a caller-owned connection (not thread-safe, like the connection).
// The subscriber store's changes join a transaction the caller has open (audited_change).
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "base/result.h"
#include "storage/pg.h"

namespace pubsub {

struct audit_entry {
    std::string actor;        // OS user (pubsubctl) or "http <peer>" (the API)
    std::string action;       // dotted verb: "events.retry", "subscribers.pause", ...
    std::string target;       // ids, a subscriber or job type, or a filter as JSON
    std::int64_t rows = 0;    // rows changed (dry runs are not recorded, except prune's)
    std::string detail_json;  // a JSON object, or "" for none
};

struct audit_record {
    std::int64_t audit_id = 0;
    std::string at;  // timestamptz as text (ISO 8601)
    audit_entry entry;
};

// Appends one entry. Runs inside the caller's open transaction when there is one.
status record_audit(pg::connection& c, const std::string& schema, const audit_entry& e);
// The same, returning the entry's audit_id (for add_audit_rows).
result<std::int64_t> record_audit_id(pg::connection& c, const std::string& schema,
                                     const audit_entry& e);
// Adds to an entry's row count: one change committed in several transactions keeps one entry
// that, after each commit, counts exactly what committed.
status add_audit_rows(pg::connection& c, const std::string& schema, std::int64_t audit_id,
                      std::int64_t rows);

// Runs `change` (returning result<bool>: whether it changed anything, or result<T> with a
// value meaning it did) and, when it did, records `e` in the same transaction.
template <class Change>
auto audited_change(pg::connection& c, const std::string& schema, const audit_entry& e,
                    Change&& change) -> decltype(change()) {
    auto tx = pg::transaction::begin(c);
    if (!tx.ok()) return tx.error();
    auto done = change();
    if (!done.ok()) return done;  // rolls back
    if constexpr (std::is_same_v<decltype(change()), result<bool>>) {
        if (!*done) return done;
    }
    if (status s = record_audit(c, schema, e); !s.ok()) return s;
    if (status s = tx->commit(); !s.ok()) return s;
    return done;
}

// The newest entries first, at most `limit` (1 to 1000).
result<std::vector<audit_record>> recent_audit(pg::connection& c, const std::string& schema,
                                               int limit);

// The actor for a change made by this process's OS user (pubsubctl): the login name, or
// "uid <n>" when the uid has no name.
std::string os_user_actor();

}  // namespace pubsub
