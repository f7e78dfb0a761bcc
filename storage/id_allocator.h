// id_allocator: hands out event ids reserved in blocks from <schema>.tpubsub_events_event_id_seq.
//
// DESIGN: ids come from the same sequence that dba.create_event() and the column default use,
// so they are unique across every pubsubd on the database and the SQL door. A background
// thread with its own connection keeps one spare block ready (nextval() over a
// generate_series: one round trip per block), so next_id() only takes a mutex and never waits
// for the network unless both blocks ran dry; then it waits up to `wait_for` and fails with
// the database error. The server folds a block into runs of consecutive ids (usually one:
// other sessions rarely interleave), so a block costs a few result rows, not one per id.
// Thread-safe.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/logger.h"
#include "base/service.h"
#include "router/intake.h"
#include "storage/pg.h"

namespace pubsub {

struct id_allocator_options {
    std::string dsn;
    std::string schema = "dba";
    int block_size = 16384;
    std::chrono::milliseconds wait_for{2000};
    log_sink log;
};

class id_allocator final : public id_source, public service {
  public:
    explicit id_allocator(id_allocator_options opts);
    ~id_allocator() override;

    std::string_view name() const override { return "id allocator"; }
    // Fetches the first block; fails if the database cannot be reached.
    status start() override;
    // Wakes and joins the refill thread (a fetch in progress finishes); no deadline.
    void stop(clock::time_point deadline) noexcept override;

    result<event_id> next_id() override;

  private:
    struct id_run {
        event_id next, last;  // next..last, inclusive
    };

    void run();
    result<std::vector<id_run>> fetch_block();
    void add_runs(const std::vector<id_run>& runs);  // with mu_ held

    id_allocator_options opts_;
    std::mutex mu_;
    std::condition_variable need_block_;  // wakes the refill thread
    std::condition_variable have_block_;  // wakes callers waiting for ids
    std::deque<id_run> runs_;             // guarded by mu_; front is in use
    std::int64_t available_ = 0;          // ids in runs_; guarded by mu_
    std::string last_error_;              // guarded by mu_
    bool stopping_ = false;               // guarded by mu_
    std::optional<pg::connection> conn_;  // start() first, then the refill thread only
    std::thread thread_;
};

}  // namespace pubsub
