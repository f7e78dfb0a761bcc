// node_info: this process's row in <schema>.tpubsub_nodes (heartbeat and status snapshot).
// Called from the listener thread only.
#pragma once

#include <string>

#include "storage/pg.h"

namespace pubsub {

struct node_identity {
    std::string node_id;
    std::string host;
    int pid = 0;
    std::string version;
};

node_identity make_node_identity(const std::string& node_name, const std::string& socket_path);
// Inserts or refreshes the row; info_json is a JSON object with queue depths and counters.
void heartbeat(pg::connection& conn, const std::string& schema, const node_identity& id,
               const std::string& info_json, bool first);
void remove_node(pg::connection& conn, const std::string& schema, const node_identity& id);

}  // namespace pubsub
