// retention_bench: retention and read-side benchmarks against a PostgreSQL given by --dsn.
//
//   retention_bench cycles  --dsn DSN [--cycles 5] [--events 1000000] [--no-vacuum]
//                           [--keep-failed]
//   retention_bench queries --dsn DSN [--rows 10000000] [--runs 200] [--reuse [--summarize]]
//   retention_bench partitions --dsn DSN [--cycles 5] [--events 1000000] [--keep-failed]
//                           [--nodes 2 [--node-b-permille 10]]
//
// cycles: the bloat cycles (cycles.h). queries: fills tpubsub_events with --rows events and
// times every read-side query behind the page, /api/* and pubsubctl (queries.h).
// Each run works in its own schema (--schema, default bench_retention), dropped and migrated
// afresh at the start (kept at the end, so its sizes can be looked at; --reuse keeps a filled
// one for queries).
#include <CLI/CLI.hpp>
#include <cstdio>

#include "bench/retention/cycles.h"
#include "bench/retention/partitions.h"
#include "bench/retention/queries.h"
#include "storage/migrations.h"
#include "storage/pg.h"

using namespace pubsub;

namespace {

int fresh_schema(pg::connection& c, const std::string& schema) {
    if (auto s = c.exec("DROP SCHEMA IF EXISTS " + c.quote_identifier(schema) + " CASCADE");
        !s.ok()) {
        std::fprintf(stderr, "%s\n", s.message().c_str());
        return 1;
    }
    if (auto m = apply_migrations(c, schema); !m.ok()) {
        std::fprintf(stderr, "%s\n", m.message().c_str());
        return 1;
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"retention_bench: retention bloat cycles and read-side query timings"};
    app.require_subcommand(1);
    std::string dsn, schema = "bench_retention";
    app.add_option("--dsn", dsn, "PostgreSQL connection string")->required();
    app.add_option("--schema", schema, "schema to (re)create and use");
    bench::cycles_options co;
    bool no_vacuum = false;
    auto* cycles = app.add_subcommand("cycles", "add N expired events, prune, print sizes");
    cycles->add_option("--cycles", co.cycles);
    cycles->add_option("--events", co.events, "events per cycle");
    cycles->add_option("--batch-rows", co.batch_rows, "events per DELETE");
    cycles->add_flag("--no-vacuum", no_vacuum, "leave the freed space to autovacuum");
    cycles->add_flag("--keep-failed", co.keep_failed, "failed=30d: the 1% failed events stay");
    bench::queries_options qo;
    auto* queries = app.add_subcommand("queries", "fill, then time the read-side queries");
    queries->add_option("--rows", qo.rows, "events in the table");
    queries->add_option("--runs", qo.runs, "runs of each query (0: fill only)");
    queries->add_flag("--reuse", qo.reuse, "use the schema as it is (filled by an earlier run)");
    queries->add_flag("--summarize", qo.summarize,
                      "with --reuse: rebuild the event chunks from the events (a schema filled "
                      "by a build without them)");
    bench::partitions_options po;
    auto* parts = app.add_subcommand("partitions", "the cycles on partitions dropped whole");
    parts->add_option("--cycles", po.cycles);
    parts->add_option("--events", po.events, "events per cycle");
    parts->add_option("--partition-ids", po.partition_ids, "ids per partition");
    parts->add_flag("--keep-failed", po.keep_failed, "failed=30d: the 1% failed events stay");
    parts->add_option("--nodes", po.nodes, "nodes taking blocks of ids (1 or 2)")
        ->check(CLI::Range(1, 2));
    parts->add_option("--node-b-permille", po.node_b_permille, "the second node's share");
    CLI11_PARSE(app, argc, argv);

    auto c = pg::connection::open(dsn);
    if (!c.ok()) {
        std::fprintf(stderr, "%s\n", c.message().c_str());
        return 1;
    }
    if (cycles->parsed()) {
        co.vacuum = !no_vacuum;
        if (fresh_schema(*c, schema) != 0) return 1;
        return bench::run_cycles(*c, schema, co);
    }
    if (parts->parsed())
        return fresh_schema(*c, schema) != 0 ? 1 : bench::run_partitions(*c, schema, po);
    if (!qo.reuse && fresh_schema(*c, schema) != 0) return 1;
    return bench::run_queries(*c, schema, qo);
}
