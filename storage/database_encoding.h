// database_encoding: the start-up check that the database stores text as UTF8 (SPEC 7.1).
// Events are JSON, whose strings are Unicode; in SQL_ASCII any byte sequence would be stored
// unchecked, and in LATIN1 and the like most characters cannot be stored at all, so a batch
// would fail on the first such event. Plain function over a caller-owned connection.
#pragma once

#include "base/result.h"
#include "storage/pg.h"

namespace pubsub {

// Ok when the connection's database is UTF8; else an error naming its encoding and the fix.
[[nodiscard]] status check_database_encoding(pg::connection& c);

}  // namespace pubsub
