// database: pubsubd's PostgreSQL as three services, in start order:
//   server      the embedded cluster (or, with --dsn, only the socket's folder); a server this
//               process did not start (adopted, left by a pubsubd killed with -9 or started by
//               `pubsub-pg start`) is left running at stop
//   connection  opened (waiting up to --db-wait) and migrated; kept for the start-up queries,
//               closed at stop, before the server stops
//   node row    this node's row in tpubsub_nodes, written before anything is claimed (so no
//               other node takes our events for a dead node's while we start), deleted at stop
// Main thread only; dsn(), conn() and node() are valid once services() started.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "base/service.h"
#include "daemon/config.h"
#include "storage/embedded_pg.h"
#include "storage/node_info.h"
#include "storage/pg.h"

namespace pubsub {

class database {
  public:
    explicit database(const daemon_config& cfg);
    database(const database&) = delete;
    database& operator=(const database&) = delete;

    std::vector<service*> services() { return {&server_, &connection_, &node_row_}; }

    const std::string& dsn() const { return dsn_; }
    pg::connection& conn() { return *conn_; }
    const node_identity& node() const { return node_; }
    bool embedded() const { return cluster_.has_value(); }

  private:
    status start_server();
    void stop_server() noexcept;
    status connect();

    const daemon_config& cfg_;
    std::optional<embedded_cluster> cluster_;
    std::string dsn_;
    std::optional<pg::connection> conn_;
    node_identity node_;
    service_fn server_, connection_, node_row_;
};

}  // namespace pubsub
