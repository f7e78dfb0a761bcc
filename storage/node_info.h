// node_info: this process's row in <schema>.tpubsub_nodes (heartbeat and status snapshot).
// Plain functions over a caller-owned connection (not thread-safe, like the connection); the
// periodic heartbeat runs on its own thread (storage/node_heartbeat.h).
#pragma once

#include <string>

#include "base/result.h"
#include "storage/pg.h"

namespace pubsub {

struct node_identity {
    std::string node_id;
    std::string host;
    int pid = 0;
    std::string version;
    // --idempotency-window, written with the heartbeat: create_event reads it (sql/017).
    std::int64_t idempotency_window_s = 0;
};

node_identity make_node_identity(const std::string& node_name, const std::string& socket_path);
// Inserts or refreshes the row with the node's deadline (--node-dead-after: the node is live
// while its heartbeat is younger than that); info_json is a JSON object with queue depths and
// counters.
status heartbeat(pg::connection& conn, const std::string& schema, const node_identity& id,
                 int dead_after_s, const std::string& info_json, bool first);
void remove_node(pg::connection& conn, const std::string& schema, const node_identity& id);

}  // namespace pubsub
