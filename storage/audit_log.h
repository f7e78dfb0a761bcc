// audit_log: the operator audit table (<schema>.tpubsub_audit, SPEC 7.4): who changed what, when,
// and how many rows. Every operator change (event retry/cancel, bulk or single; subscriber edits;
// pauses; prunes by hand) records one entry, in the same transaction as the change where the
// caller has one, so an entry exists exactly when the change committed.
// Plain functions over a caller-owned connection (not thread-safe, like the connection).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/pg.h"

namespace pubsub {

struct audit_entry {
    std::string actor;        // OS user (pubsubctl) or "http <peer>" (the API)
    std::string action;       // dotted verb: "events.retry", "subscribers.pause", ...
    std::string target;       // ids, a subscriber or job type, or a filter as JSON
    std::int64_t rows = 0;    // rows changed (0 for a dry run)
    std::string detail_json;  // a JSON object, or "" for none
};

struct audit_record {
    std::int64_t audit_id = 0;
    std::string at;  // timestamptz as text (ISO 8601)
    audit_entry entry;
};

// Appends one entry. Runs inside the caller's open transaction when there is one.
status record_audit(pg::connection& c, const std::string& schema, const audit_entry& e);

// The newest entries first, at most `limit` (1 to 1000).
result<std::vector<audit_record>> recent_audit(pg::connection& c, const std::string& schema,
                                               int limit);

// The actor for a change made by this process's OS user (pubsubctl): the login name, or
// "uid <n>" when the uid has no name.
std::string os_user_actor();

}  // namespace pubsub
