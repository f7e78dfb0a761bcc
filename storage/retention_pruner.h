// retention_pruner: the background service that applies --retention (SPEC 7.4). A thread of its
// own with a connection of its own runs a prune cycle shortly after start and then every
// `interval` (and at once after set_policy): one pass over the expired finished events, oldest
// first, deleting them and their deliveries in batches of `batch_rows` (one short statement
// each, pausing between them), then a VACUUM of the two tables when it removed enough rows for
// their space to matter.
//
// DESIGN: the hot path never waits for it. Each batch is its own transaction and locks only the
// rows it deletes, skipping any a writer holds (FOR UPDATE SKIP LOCKED); VACUUM takes no lock
// that blocks INSERT or UPDATE. With several routers on one schema, a cycle first takes a
// session advisory lock per schema (pg_try_advisory_lock): one node prunes, the others skip
// that cycle, so two VACUUMs never queue behind each other. The freed space is reused by the
// next inserts (the plain VACUUM marks it free), so the tables stay the size of what is kept.
//
// Threading: start()/stop() on the owner's thread; set_policy() and counts() from any thread.
// A database outage only logs and waits for the next cycle; stop() cancels a running statement.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "base/logger.h"
#include "base/service.h"
#include "storage/pg.h"
#include "storage/retention.h"

namespace pubsub {

struct retention_pruner_options {
    std::string dsn;
    std::string schema = "dba";
    retention_policy policy;
    std::chrono::milliseconds first_delay{1000};  // after start, before the first cycle
    std::chrono::milliseconds interval{60'000};   // between cycles
    int batch_rows = 5000;                        // events per DELETE statement
    std::chrono::milliseconds batch_pause{10};    // between batches: the writers' share of I/O
    std::int64_t vacuum_after_rows = 10'000;      // VACUUM after a cycle that removed this many
    log_sink log;
};

// What one cycle did.
struct prune_cycle_result {
    bool ran = false;  // false: another node held the schema's prune lock
    std::int64_t removed = 0;
    bool vacuumed = false;
};

// One cycle on the caller's connection: the schema's advisory lock, first(), the pass's
// batches, the unlock, then VACUUM when at least vacuum_after_rows were removed. keep_going() is
// asked between batches (a stop in progress ends the cycle early). first() runs only on the node
// that holds the lock (the pruner summarises uncovered id ranges there, so nodes do not
// summarise the same range twice).
result<prune_cycle_result> run_prune_cycle(pg::connection& c, const std::string& schema,
                                           const retention_policy& policy, int batch_rows,
                                           std::chrono::milliseconds batch_pause,
                                           std::int64_t vacuum_after_rows,
                                           const std::function<bool()>& keep_going,
                                           const std::function<void()>& first = {});

class retention_pruner final : public service {
  public:
    explicit retention_pruner(retention_pruner_options opts);
    ~retention_pruner() override;
    retention_pruner(const retention_pruner&) = delete;
    retention_pruner& operator=(const retention_pruner&) = delete;

    std::string_view name() const override { return "retention pruner"; }
    // Starts the thread; connects there (an unreachable database is retried each cycle).
    status start() override;
    void stop(clock::time_point deadline) noexcept override;

    // A new policy (SIGHUP); the next cycle runs at once. Thread-safe.
    void set_policy(const retention_policy& p);

    struct totals {
        std::uint64_t cycles = 0;   // cycles that ran (held the lock)
        std::uint64_t removed = 0;  // events removed
        std::uint64_t errors = 0;   // cycles ended by a database error
        // The end of the last cycle that ran and succeeded (wall clock, microseconds since the
        // epoch; 0: none yet), and how long it took.
        std::int64_t last_success_us = 0;
        std::int64_t last_duration_us = 0;
    };
    totals counts() const;

  private:
    void run();
    void cycle();
    bool stopping() const;
    void log(log_level lvl, const std::string& msg) const;

    retention_pruner_options opts_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    bool stopping_ = false;                // guarded by mu_
    bool wake_ = false;                    // guarded by mu_: set_policy asked for a cycle now
    retention_policy policy_;              // guarded by mu_
    std::optional<pg::connection> conn_;   // the pruner thread only
    std::int64_t summarized_through_ = 0;  // the pruner thread only: summarize_gaps' resume point
    void* cancel_ = nullptr;               // guarded by mu_: libpq's PGcancel for conn_, for stop()
    std::thread thread_;
    // Counters: each a total read alone, so relaxed (a reader may pair the last success with
    // the duration of the cycle before it; /metrics takes that).
    std::atomic<std::uint64_t> cycles_{0}, removed_{0}, errors_{0};
    std::atomic<std::int64_t> last_success_us_{0}, last_duration_us_{0};
};

}  // namespace pubsub
