// pubsubctl status and migrate.
#include <iostream>
#include <string>

#include "commands.h"
#include "storage/migrations.h"
#include "storage/status_queries.h"

namespace pubsub::ctl {

int show_status(const context& ctx) {
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    auto counts = events_by_status(*c, ctx.schema);
    if (!counts.ok()) return fail(counts.message());
    if (ctx.json) {
        auto nodes = node_rows(*c, ctx.schema);
        if (!nodes.ok()) return fail(nodes.message());
        std::cout << "{\"nodes\":";
        print_rows(*nodes, true);
        std::cout << ",\"events\":";
        print_rows(*counts, true);
        std::cout << "}\n";
        return 0;
    }
    auto nodes = node_lines(*c, ctx.schema);
    if (!nodes.ok()) return fail(nodes.message());
    static constexpr const char* labels[] = {
        "", "doors", "queue depth", "events", "write-behind", "pools", "watcher"};
    if (nodes->rows() == 0) std::cout << "no pubsubd has attached to this schema\n";
    for (int i = 0; i < nodes->rows(); ++i) {
        std::cout << "node " << nodes->get(i, 0) << "\n  " << nodes->get(i, 1) << "\n";
        for (int col = 2; col < nodes->columns(); ++col) {
            std::cout << "  " << labels[col - 1] << ": " << nodes->get(i, col) << "\n";
        }
        std::cout << "\n";
    }
    std::cout << "events by status:\n";
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
