// pubsubctl status and migrate.
#include <simdjson.h>

#include <iostream>
#include <map>
#include <string>

#include "commands.h"
#include "storage/migrations.h"
#include "storage/pause_store.h"
#include "storage/status_queries.h"

namespace pubsub::ctl {

namespace {

// node_id -> one line per persistent worker, from the nodes' heartbeat info ("workers").
std::map<std::string, std::vector<std::string>> worker_lines(const pg::query_result& nodes) {
    std::map<std::string, std::vector<std::string>> out;
    const int info = nodes.columns() - 1;
    simdjson::dom::parser parser;
    for (int i = 0; i < nodes.rows(); ++i) {
        simdjson::dom::array workers;
        std::string text(nodes.get(i, info));
        if (parser.parse(text).at_key("workers").get(workers)) continue;
        for (auto w : workers) {
            auto str = [&](const char* k) {
                std::string_view v;
                return w[k].get(v) ? std::string() : std::string(v);
            };
            auto num = [&](const char* k) {
                std::int64_t v = 0;
                return w[k].get(v) ? std::string("?") : std::to_string(v);
            };
            bool running = false;
            if (w["running"].get(running)) running = false;
            std::string line = str("subscriber") + " #" + num("slot") + ": " +
                               (running ? "running, pid " + num("pid") : std::string("DOWN")) +
                               ", " + num("in_flight") + " in flight, " + num("restarts") +
                               " restarts, " + num("completed") + " ok, " + num("failed") +
                               " failed";
            if (std::string e = str("last_error"); !e.empty()) line += "; last error: " + e;
            out[std::string(nodes.get(i, 0))].push_back(std::move(line));
        }
    }
    return out;
}

}  // namespace

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
        auto pauses = load_pause_summary(*c, ctx.schema);
        if (!pauses.ok()) return fail(pauses.message());
        std::cout << ",\"pauses\":" << pause_summary_json(*pauses) << "}\n";
        return 0;
    }
    auto nodes = node_lines(*c, ctx.schema);
    if (!nodes.ok()) return fail(nodes.message());
    auto rows = node_rows(*c, ctx.schema);
    if (!rows.ok()) return fail(rows.message());
    auto workers = worker_lines(*rows);
    static constexpr const char* labels[] = {
        "", "doors", "queue depth", "events", "write-behind", "pools", "watcher"};
    if (nodes->rows() == 0) std::cout << "no pubsubd has attached to this schema\n";
    for (int i = 0; i < nodes->rows(); ++i) {
        std::cout << "node " << nodes->get(i, 0) << "\n  " << nodes->get(i, 1) << "\n";
        for (int col = 2; col < nodes->columns(); ++col) {
            std::cout << "  " << labels[col - 1] << ": " << nodes->get(i, col) << "\n";
        }
        for (const auto& w : workers[std::string(nodes->get(i, 0))]) {
            std::cout << "  worker " << w << "\n";
        }
        std::cout << "\n";
    }
    print_pauses(*c, ctx);
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
