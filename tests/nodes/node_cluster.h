// node_cluster: the fixture of the several-routers tests. Each test gets a fresh schema (the
// e2e fixture), a `custom` subscriber whose script appends "event_id attempt" to a witness file
// and sleeps a little, and starts any number of pubsubd on that schema, each with its own
// socket, data dir, node name and log. Not thread-safe (a fixture).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {

struct node_proc {
    std::string name, socket;
    std::optional<child_process> proc;
};

class node_cluster : public e2e_test {
  protected:
    void SetUp() override;
    void TearDown() override;

    // The witness script for event_type (sleeps `sleep_s` after writing its line), as a
    // subscriber of `on_schema` (default: the test's schema).
    void add_witness_subscriber(const std::string& event_type, const std::string& sleep_s,
                                const std::string& on_schema = "");
    // Starts node i (n<i>) with the common flags plus `extra` on `on_schema` (default: the
    // test's), and waits for its socket.
    void start_node(std::size_t i, const std::vector<std::string>& extra = {},
                    const std::string& on_schema = "");
    node_proc& node(std::size_t i) { return nodes_.at(i); }

    // Sends `count` durable events of `type` through node i's socket; their ids.
    std::vector<std::int64_t> send_events(std::size_t i, const std::string& type,
                                          std::size_t count);
    // create_event() `count` times in one statement; their ids.
    std::vector<std::int64_t> create_events(const std::string& type, std::size_t count);

    // event id -> attempts seen by the witness (one entry per run).
    std::map<std::int64_t, std::vector<int>> witness() const;
    // Waits until every id is completed in the table and run at least once by the witness.
    status wait_done(const std::vector<std::int64_t>& ids, std::chrono::seconds timeout);
    std::string logs() const;  // the tails of every node's log

    std::string witness_file_, scripts_;

  private:
    std::map<std::size_t, node_proc> nodes_;
};

}  // namespace pubsub::e2e
