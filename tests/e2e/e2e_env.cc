#include "tests/e2e/e2e_env.h"

#include "storage/embedded_pg.h"

#include <signal.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

namespace pubsub::e2e {

using namespace std::chrono_literals;

std::string bin_dir() {
    const char* d = std::getenv("PUBSUB_BIN_DIR");
    return d && *d ? d : "bin";
}

namespace {

std::string id_array(const std::vector<std::int64_t>& ids) {
    std::string a = "{";
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i) a += ',';
        a += std::to_string(ids[i]);
    }
    return a + "}";
}

std::string micros(const char* column) {
    return std::string("coalesce((extract(epoch FROM ") + column + ") * 1000000)::bigint, 0)";
}

}  // namespace

result<std::map<std::int64_t, event_row>> read_events(const std::string& dsn,
                                                      const std::string& schema,
                                                      const std::vector<std::int64_t>& ids) {
    auto conn = pg::connection::open(dsn);
    if (!conn.ok()) return conn.error();
    auto r = conn->query("SELECT event_id, status, " + micros("created_at") + ", " +
                             micros("processed_at") + ", " + micros("completed_at") +
                             ", error_message IS NOT NULL FROM " + conn->quote_identifier(schema) +
                             ".tpubsub_events WHERE event_id = ANY($1::bigint[])",
                         {id_array(ids)});
    if (!r.ok()) return r.error();
    std::map<std::int64_t, event_row> out;
    for (int i = 0; i < r->rows(); ++i) {
        event_row row;
        row.status = r->get(i, 1);
        row.created_us = r->get_int(i, 2);
        row.processed_us = r->get_int(i, 3);
        row.completed_us = r->get_int(i, 4);
        row.has_error = r->get(i, 5) == "t";
        out.emplace(r->get_int(i, 0), row);
    }
    return out;
}

result<std::map<std::string, std::int64_t>> status_counts(const std::string& dsn,
                                                          const std::string& schema) {
    auto conn = pg::connection::open(dsn);
    if (!conn.ok()) return conn.error();
    auto r = conn->query("SELECT status, count(*) FROM " + conn->quote_identifier(schema) +
                         ".tpubsub_events GROUP BY status");
    if (!r.ok()) return r.error();
    std::map<std::string, std::int64_t> out;
    for (int i = 0; i < r->rows(); ++i) out[std::string(r->get(i, 0))] = r->get_int(i, 1);
    return out;
}

status wait_completed(const std::string& dsn, const std::string& schema,
                      const std::vector<std::int64_t>& ids, std::chrono::seconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    std::string last;
    for (;;) {
        auto rows = read_events(dsn, schema, ids);
        if (rows.ok()) {
            std::map<std::string, std::size_t> by_status;
            by_status["(missing)"] = ids.size() - rows->size();
            for (const auto& [id, row] : *rows) ++by_status[row.status];
            if (by_status["completed"] == ids.size()) return status();
            last.clear();
            for (const auto& [s, n] : by_status) {
                if (n) last += " " + s + "=" + std::to_string(n);
            }
        } else {
            last = rows.message();
        }
        if (std::chrono::steady_clock::now() >= until) {
            return status::error("not all " + std::to_string(ids.size()) +
                                 " events completed in time:" + last);
        }
        std::this_thread::sleep_for(100ms);
    }
}

std::vector<std::int64_t> acked_ids(const load_result& r,
                                    const std::function<bool(std::size_t)>& keep) {
    std::vector<std::int64_t> ids;
    for (std::size_t i = 0; i < r.replies.size(); ++i) {
        if (r.replies[i].ok && (!keep || keep(i))) ids.push_back(r.replies[i].event_id);
    }
    return ids;
}

void unset_pubsub_env() {
    for (const char* v :
         {"PUBSUB_DSN", "PUBSUB_SCHEMA", "PUBSUB_SOCKET", "PUBSUB_DATA_DIR", "PUBSUB_CONFIG"}) {
        unsetenv(v);
    }
}

embedded_stopper::~embedded_stopper() {
    embedded_options eo;
    eo.data_dir = dir;
    (void)embedded_cluster(eo).stop();
}

void e2e_test::SetUp() {
    pg_schema_test::SetUp();
    if (HasFatalFailure()) return;
    ASSERT_FALSE(tmp_.path().empty()) << "mkdtemp failed";
    socket_ = (tmp_.path() / "s.sock").string();
}

void e2e_test::TearDown() {
    if (daemon_ && daemon_->running()) {
        (void)daemon_->signal(SIGKILL);
        (void)daemon_->wait(10s);
    }
    if (HasFailure() && daemon_) {
        std::fprintf(stderr, "---- pubsubd log tail (%s) ----\n%s\n----\n",
                     daemon_->log_file().c_str(), daemon_->log_tail().c_str());
    }
    daemon_.reset();
    pg_schema_test::TearDown();
}

void e2e_test::add_noop_subscriber(const std::string& name, const std::string& event_type) {
    auto r = conn().query("INSERT INTO " + conn().quote_identifier(schema()) +
                              ".tpubsub_subscribers (subscriber_name, event_type, job_type) "
                              "VALUES ($1, $2, 'noop')",
                          {name, event_type});
    ASSERT_TRUE(r.ok()) << r.message();
}

void e2e_test::start_daemon(const std::vector<std::string>& extra_args) {
    start_daemon_on(dsn(), extra_args);
}

void e2e_test::start_daemon_on(const std::string& dsn_text,
                               const std::vector<std::string>& extra_args) {
    std::vector<std::string> argv = {
        bin_dir() + "/pubsubd", "--dsn", dsn_text, "--schema", schema(), "--socket", socket_};
    // A data dir per test: what pubsubd keeps there (running handlers) is per instance.
    if (std::find(extra_args.begin(), extra_args.end(), "--data-dir") == extra_args.end()) {
        argv.insert(argv.end(), {"--data-dir", (tmp_.path() / "data").string()});
    }
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    auto child = child_process::spawn(argv, tmp_.path() / "pubsubd.log");
    ASSERT_TRUE(child.ok()) << child.message();
    daemon_.emplace(std::move(*child));
    status up = wait_for_socket(socket_, 60s, [this] { return daemon_->running(); });
    ASSERT_TRUE(up.ok()) << up.message() << "\n" << daemon_->log_tail();
}

std::optional<int> e2e_test::stop_daemon(std::chrono::seconds timeout) {
    if (!daemon_) return std::nullopt;
    (void)daemon_->signal(SIGTERM);
    return daemon_->wait(timeout);
}

}  // namespace pubsub::e2e
