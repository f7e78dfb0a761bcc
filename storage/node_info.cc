#include "storage/node_info.h"

#include <unistd.h>

#include <climits>
#include <filesystem>

#include "base/build_info/build_info.h"

namespace pubsub {

node_identity make_node_identity(const std::string& node_name, const std::string& socket_path) {
    node_identity id;
    char host[HOST_NAME_MAX + 1] = {};
    ::gethostname(host, sizeof host - 1);
    id.host = host;
    id.pid = static_cast<int>(::getpid());
    id.version = build_version();
    std::error_code ec;
    auto abs = std::filesystem::absolute(socket_path, ec);
    id.node_id = node_name.empty() ? id.host + ":" + (ec ? socket_path : abs.string()) : node_name;
    return id;
}

status heartbeat(pg::connection& conn, const std::string& schema, const node_identity& id,
                 int dead_after_s, const std::string& info_json, bool first) {
    std::string table = conn.quote_identifier(schema) + ".tpubsub_nodes";
    std::string started = first ? ", started_at = now()" : "";
    // clock_timestamp(), not now(): inside a long transaction now() would lag the real time.
    auto r =
        conn.query("INSERT INTO " + table +
                       " (node_id, host, pid, version, info, dead_after_s, idempotency_window_s) "
                       "VALUES ($1, $2, $3::int, $4, $5::jsonb, $6::int, "
                       "nullif($7::bigint, 0)) ON CONFLICT (node_id) DO UPDATE SET "
                       "host = EXCLUDED.host, pid = EXCLUDED.pid, version = EXCLUDED.version, "
                       "info = EXCLUDED.info, dead_after_s = EXCLUDED.dead_after_s, "
                       "idempotency_window_s = EXCLUDED.idempotency_window_s, "
                       "last_heartbeat = clock_timestamp()" +
                       started,
                   {id.node_id, id.host, std::to_string(id.pid), id.version, info_json,
                    std::to_string(dead_after_s), std::to_string(id.idempotency_window_s)});
    if (!r.ok()) return status::error("heartbeat failed: " + r.message());
    return status();
}

void remove_node(pg::connection& conn, const std::string& schema, const node_identity& id) {
    (void)conn.query(
        "DELETE FROM " + conn.quote_identifier(schema) + ".tpubsub_nodes WHERE node_id = $1",
        {id.node_id});
}

}  // namespace pubsub
