// e2e_env: the GoogleTest fixture of the end-to-end tests. Each test gets a fresh migrated
// schema on the test database (pg_schema_test), a scratch folder, and helpers to start the real
// pubsubd on them (--dsn, --schema, --socket <tmp>/s.sock) and to read the events table.
//
// The daemon's output goes to <tmp>/pubsubd.log; when a test fails, its tail is printed.
// Not thread-safe (a fixture); the table helpers open their own connection per call, so they
// may run while the daemon writes.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/e2e/ndjson_client.h"
#include "tests/e2e/process.h"
#include "tests/support/pg_test_env.h"

namespace pubsub::e2e {

// Where pubsubd and pubsub-pg are (PUBSUB_BIN_DIR, set by ctest).
std::string bin_dir();

// Status and timestamps of one event row. Timestamps are microseconds since the epoch, 0 when
// NULL.
struct event_row {
    std::string status;
    std::int64_t created_us = 0, processed_us = 0, completed_us = 0;
    bool has_error = false;
};

// Reads the rows of `ids` from schema.tpubsub_events (absent ids are absent from the map).
result<std::map<std::int64_t, event_row>> read_events(const std::string& dsn,
                                                      const std::string& schema,
                                                      const std::vector<std::int64_t>& ids);

// Status -> count over the whole events table.
result<std::map<std::string, std::int64_t>> status_counts(const std::string& dsn,
                                                          const std::string& schema);

// Waits until every id is `completed`; the error lists how many are missing or in which status.
status wait_completed(const std::string& dsn, const std::string& schema,
                      const std::vector<std::int64_t>& ids, std::chrono::seconds timeout);

// The event ids of the ok replies, optionally only of lines whose index passes `keep`.
std::vector<std::int64_t> acked_ids(const load_result& r,
                                    const std::function<bool(std::size_t)>& keep = {});

// Embedded-mode tests: unsets the PUBSUB_* variables (DSN, schema, socket, data dir, config)
// that would point pubsubd elsewhere.
void unset_pubsub_env();
// Stops the embedded cluster of `dir` when it goes out of scope, so that whatever happens in a
// test no server is left running.
struct embedded_stopper {
    std::filesystem::path dir;
    ~embedded_stopper();
};

class e2e_test : public test::pg_schema_test {
  protected:
    void SetUp() override;
    void TearDown() override;

    // Inserts an active noop subscriber for event_type (call before start_daemon()).
    void add_noop_subscriber(const std::string& name, const std::string& event_type);
    // Starts pubsubd against this test's database and schema and waits for its socket.
    // Fails the test (ASSERT) when it does not come up.
    void start_daemon(const std::vector<std::string>& extra_args = {});
    // SIGTERM, then waits for the exit code (nullopt: still running after timeout).
    std::optional<int> stop_daemon(std::chrono::seconds timeout = std::chrono::seconds(30));

    const std::string& socket_path() const { return socket_; }
    const temp_dir& tmp() const { return tmp_; }
    child_process& daemon() { return *daemon_; }
    bool daemon_running() { return daemon_ && daemon_->running(); }
    // Starts a daemon with the given dsn (for a private cluster); same flags otherwise.
    void start_daemon_on(const std::string& dsn, const std::vector<std::string>& extra_args);

  private:
    temp_dir tmp_;
    std::string socket_;
    std::optional<child_process> daemon_;
};

}  // namespace pubsub::e2e
