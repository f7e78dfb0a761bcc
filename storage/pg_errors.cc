#include "storage/pg_errors.h"

#include <array>

namespace pubsub {

pg_error_kind classify_pg_error(std::string_view sqlstate, bool connection_ok) {
    if (!connection_ok || sqlstate.size() != 5) return pg_error_kind::transient;
    const std::string_view cls = sqlstate.substr(0, 2);
    if (cls == "22" || cls == "23" || cls == "54") return pg_error_kind::data;
    // Classes about the server, the session or the schema, never about the rows: 08 connection,
    // 25 transaction state (25006 read-only after a failover), 28 authorization, 3D/3F missing
    // database/schema, 40 rollback (40001 serialization, 40P01 deadlock), 42 syntax or access
    // (a missing table, a revoked privilege), 53 resources, 55 object state (a lock not
    // available), 57 operator intervention (57P01 admin shutdown), 58 system, XX internal.
    constexpr std::array<std::string_view, 12> transient = {"08", "25", "28", "3D", "3F", "40",
                                                            "42", "53", "55", "57", "58", "XX"};
    for (auto c : transient) {
        if (cls == c) return pg_error_kind::transient;
    }
    return pg_error_kind::suspect;
}

}  // namespace pubsub
