// pubsub-pg: start|stop|dsn the embedded PostgreSQL cluster of a data dir (storage/embedded_pg.h).
// `start` prints the DSN on stdout; logs go to stderr. Used by the test fixture and scripts.
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "base/build_info/build_info.h"
#include "storage/embedded_pg.h"

namespace {

int fail(const std::string& message) {
    std::cerr << "pubsub-pg: " << message << "\n";
    return 1;
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"Start, stop or locate the embedded PostgreSQL cluster of a pubsub data dir"};
    app.require_subcommand(1);
    app.set_version_flag("--version", pubsub::version_line("pubsub-pg"),
                         "Print the version and git revision");
    pubsub::embedded_options opt;
    bool quiet = false;
    opt.log = [&quiet](pubsub::log_level level, const std::string& line) {
        if (quiet && level < pubsub::log_level::warn) return;
        std::cerr << "pubsub-pg: " << (level >= pubsub::log_level::warn ? "warning: " : "") << line
                  << "\n";
    };
    auto add_common = [&](CLI::App* sub) {
        sub->add_option("--data-dir", opt.data_dir, "Data directory (the cluster is in <dir>/pg)")
            ->required();
        sub->add_flag("-q,--quiet", quiet, "Only warnings and errors on stderr");
    };
    auto* start = app.add_subcommand("start", "Create (first time) and start; print the DSN");
    add_common(start);
    start->add_option("--db", opt.database, "Database to create if missing")->capture_default_str();
    bool throwaway = false;
    start->add_flag("--throwaway", throwaway,
                    "Test clusters only: initdb --no-sync and fsync=off (a crash may corrupt it)");
    start->add_option("--run-as", opt.run_as, "OS user running the server when we are root")
        ->capture_default_str();
    start->add_option("--set", opt.settings, "Extra server setting name=value (repeatable)");
    auto* stop = app.add_subcommand("stop", "Stop the cluster (fast shutdown); ok if not running");
    add_common(stop);
    stop->add_option("--db", opt.database, "Accepted for symmetry; stop ignores it");
    stop->add_option("--run-as", opt.run_as, "OS user running the server when we are root");
    auto* dsn = app.add_subcommand("dsn", "Print the DSN of the running cluster; exit 1 if none");
    add_common(dsn);
    dsn->add_option("--db", opt.database, "Accepted for symmetry; the recorded DSN is printed");
    CLI11_PARSE(app, argc, argv);

    if (dsn->parsed()) {
        auto found = pubsub::embedded_cluster::find_running(opt.data_dir);
        if (!found) return fail("no running cluster for " + opt.data_dir.string());
        std::cout << *found << "\n";
        return 0;
    }
    opt.durable = !throwaway;
    pubsub::embedded_cluster cluster(opt);
    if (stop->parsed()) {
        auto st = cluster.stop();
        return st.ok() ? 0 : fail(st.message());
    }
    auto st = cluster.start();
    if (!st.ok()) return fail(st.message());
    std::cout << cluster.dsn() << "\n";
    return 0;
}
