// fault_support: what the fault-injection end-to-end tests share: a pipelined load on its own
// thread, and a private PostgreSQL cluster that a test may stop, crash and restart without
// disturbing the fixture's shared cluster (other integration tests may run beside it).
// Not thread-safe (test fixtures), except background_load's counters.
#pragma once

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "storage/embedded_pg.h"
#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {

// "i"-numbered e2e_event lines with the given ack mode.
std::string line_with_ack(std::size_t i, bool durable);

// A durable load for fault tests: `count` lines, 64 in flight, a minute of patience per reply
// (the database may be down for a while).
load_options durable_load(const std::string& socket_path, std::size_t count);

// A load running on its own thread until stopped; the test thread watches `answered` and
// `acked` (ok replies).
struct background_load {
    explicit background_load(load_options o);
    ~background_load() { finish(); }
    // Waits until at least n lines are answered (or acked); false on timeout.
    bool wait_answered(std::size_t n, std::chrono::seconds timeout);
    bool wait_acked(std::size_t n, std::chrono::seconds timeout);
    void finish();

    load_options opts;
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> answered{0}, acked{0};
    result<load_result> out = status::error("load not finished");
    std::thread thread;
};

// A cluster of its own under a temporary folder, stopped by the destructor. initdb is the
// slow part (seconds), so the fault tests share one per test binary (shared()), and each
// prepares its own schema on it.
class private_cluster {
  public:
    private_cluster();
    ~private_cluster();
    // The one cluster of this process, started on first use.
    static private_cluster& shared();

    // Starts the server if it is down, migrates `schema` and adds a noop subscriber on
    // e2e_event.
    status prepare(const std::string& schema);
    const std::string& dsn() const { return cluster_->dsn(); }

    status restart_fast(const std::filesystem::path& log);    // pg_ctl restart -m fast
    status stop_immediate(const std::filesystem::path& log);  // pg_ctl stop -m immediate
    status stop_fast(const std::filesystem::path& log);       // pg_ctl stop -m fast
    status kill_postmaster();                                 // SIGKILL, no stop at all
    status start();  // after a stop or crash (retries while the old server winds down)

  private:
    status pg_ctl(const std::vector<std::string>& args, const std::filesystem::path& log);

    temp_dir tmp_{"pubsub-e2e-pg-"};
    std::unique_ptr<embedded_cluster> cluster_;
};

}  // namespace pubsub::e2e
