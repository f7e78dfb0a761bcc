// pubsubctl status and migrate.
#include <iostream>

#include "commands.h"
#include "storage/migrations.h"

namespace pubsub::ctl {

int show_status(const context& ctx) {
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    auto nodes = c->query(
        "SELECT node_id, host, pid, version, started_at, last_heartbeat, "
        "now() - last_heartbeat < interval '30 seconds' AS alive, info FROM " +
        ctx.table(*c, "tpubsub_nodes") + " ORDER BY node_id");
    if (!nodes.ok()) return fail(nodes.message());
    auto counts = c->query("SELECT status, count(*) AS events FROM " +
                           ctx.table(*c, "tpubsub_events") + " GROUP BY status ORDER BY status");
    if (!counts.ok()) return fail(counts.message());
    if (ctx.json) {
        std::cout << "{\"nodes\":";
        print_rows(*nodes, true);
        std::cout << ",\"events\":";
        print_rows(*counts, true);
        std::cout << "}\n";
        return 0;
    }
    std::cout << "nodes:\n";
    print_rows(*nodes, false);
    std::cout << "\nevents by status:\n";
    print_rows(*counts, false);
    return 0;
}

int migrate(const context& ctx) {
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    auto n = apply_migrations(*c, ctx.schema);
    if (!n.ok()) return fail(n.message());
    std::cout << "applied " << *n << " migration(s) to schema " << ctx.schema << "\n";
    return 0;
}

}  // namespace pubsub::ctl
