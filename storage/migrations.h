// Schema migrations: the numbered files of sql/, compiled in, applied in order, idempotently.
//
// apply_migrations() takes a transaction-scoped advisory lock so that several pubsubd processes
// (or pubsubctl migrate) starting at once apply each file exactly once; the applied versions
// are recorded in <schema>.tpubsub_migrations. Every file is also idempotent on its own.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "storage/pg.h"

namespace pubsub {

struct migration_file {
    const char* name;  // "001_events.sql"
    const char* sql;   // with {{schema}} placeholders
};

const std::vector<migration_file>& embedded_migrations();

// Applies every migration not yet recorded in schema; returns how many were applied. Refuses a
// database whose encoding is not UTF8 (SPEC 7.1), before touching it.
result<int> apply_migrations(pg::connection& conn, const std::string& schema);

}  // namespace pubsub
