// pg_errors: what a failed write-behind batch means, judged by PostgreSQL's SQLSTATE.
//
// - data: the rows themselves are wrong and will fail again whatever we do (class 22 data
//   exception, 23 integrity constraint violation, 54 program limit exceeded). The batch is
//   split until the bad rows are isolated; they fail alone, every other row commits.
// - transient: the database or the connection is the problem, not the rows (connection lost,
//   serialization failure, admin shutdown, read-only after a failover, missing schema or
//   privilege, out of resources). Nothing is failed: the batch is retried after a reconnect.
// - suspect: anything else (say a trigger's RAISE). Retried once on a fresh connection; if the
//   same rows fail again it is treated as data.
// Pure functions, thread-safe.
#pragma once

#include <string_view>

namespace pubsub {

enum class pg_error_kind { transient, data, suspect };

// sqlstate: the five-character code ("" when the server sent none); connection_ok: whether the
// connection still stands after the error.
pg_error_kind classify_pg_error(std::string_view sqlstate, bool connection_ok);

}  // namespace pubsub
