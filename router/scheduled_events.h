// scheduled_events: events held until their run_at (SPEC 7.2), then handed back to the router.
//
// DESIGN: every held event has an entry in an index (id -> due time) and in one of two binary
// min-heaps of (due time, id) under one mutex; one timer thread sleeps on a condition variable
// until the next due time (at most 1 s, so a change of the wall clock is noticed). So a million
// scheduled events cost no thread and no database poll each.
// Bodies: an event whose row is committed (persisted(), or routed from the table) and whose
// due time is more than `horizon` ahead is kept as its index entry and heap entry only (about
// 70 bytes); its body is dropped. Every other held event keeps its body, charged to the memory
// budget. The `near` heap holds events due within the horizon when added (released at their
// due time); the `far` heap the others: `lead` before its due time a far entry either moves to
// the near heap (body still held) or goes to the loader thread, which reads the rows of many
// ids with one query (scheduled_rows) and puts the bodies back in the near heap. A row that is
// no longer this node's pending event (cancelled, taken over, removed) drops its entry. When
// the load fails (the database is down) its ids are kept and retried with a growing pause: the
// events are late, never lost, and the loader does not spin.
// Without a scheduled_rows every body is kept (tests, a router without a database).
// Stale heap entries (cancelled, or added twice) are skipped where the index disagrees; the
// heaps are rebuilt when they outnumber the live entries.
// Thread-safety: add(), persisted(), cancel(), size(), admit() from any thread;
// start()/stop() from one owner. `release` runs on the timer thread without the lock held.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/logger.h"
#include "base/result.h"
#include "router/event.h"
#include "router/memory_budget.h"
#include "router/scheduled_rows.h"

namespace pubsub {

struct scheduled_options {
    memory_budget* budget = nullptr;  // charged for the bodies held; optional
    scheduled_rows* rows = nullptr;   // without it every body is kept
    // Bodies of committed events due later than this are dropped (see DESIGN).
    std::int64_t horizon_us = 3'000'000;
    // How long before its due time a dropped body is read back: room for a slow query.
    std::int64_t lead_us = 1'000'000;
    std::size_t load_batch = 2000;  // ids per query
    // New scheduled events (admit()) are refused while this many are held; events already in
    // the table (resumed, claimed) are held whatever the count.
    std::size_t max_events = 2'500'000;
    std::int64_t retry_min_us = 100'000, retry_max_us = 5'000'000;  // failed loads
    log_sink log;
};

class scheduled_events {
  public:
    using release_fn = std::function<void(event_ptr)>;
    scheduled_events(release_fn release, scheduled_options opts);
    ~scheduled_events();
    scheduled_events(const scheduled_events&) = delete;
    scheduled_events& operator=(const scheduled_events&) = delete;

    void start();
    // Idempotent; events still held stay held (their rows stay `pending` for the next start).
    void stop() noexcept;

    // Holds ev until ev->run_at_us; `persisted`: its row is committed. Adding an event already
    // held changes nothing (except keeping a body due soon). Never blocks on I/O; allocates.
    void add(event_ptr ev, bool persisted);
    // The row of a held event (due at due_us) is committed: its body may go (see DESIGN).
    void persisted(event_id id, std::int64_t due_us);
    // Drops a held event; false if it is not held (already released, or never scheduled).
    bool cancel(event_id id);
    std::size_t size() const;  // held events
    // Whether a new scheduled event may be taken: refused at max_events, naming the setting.
    status admit() const;

    struct counters {
        std::size_t held = 0, bodies = 0;
        std::uint64_t loads = 0, load_failures = 0, gone = 0;
    };
    counters stats() const;

  private:
    struct entry {
        std::int64_t due_us;
        event_id id;
    };
    using heap = std::vector<entry>;
    static bool later(const entry& a, const entry& b) { return a.due_us > b.due_us; }
    bool live(const entry& e) const;                                       // mu_ held
    void push(heap& h, entry e);                                           // mu_ held
    void keep_body(event_ptr ev);                                          // mu_ held
    void drop_body(event_id id);                                           // mu_ held
    void prune_heaps();                                                    // mu_ held
    std::int64_t take_due(std::int64_t now, std::vector<event_ptr>& due);  // mu_ held
    void run_timer();
    void run_loader();
    void took_rows(const std::vector<event_id>& ids, std::vector<event_ptr>& rows);  // mu_ held

    release_fn release_;
    scheduled_options opts_;
    mutable std::mutex mu_;
    std::condition_variable timer_cv_, loader_cv_;
    std::unordered_map<event_id, std::int64_t> due_;  // guarded by mu_: every held event
    std::unordered_map<event_id, event_ptr> bodies_;  // guarded by mu_
    std::size_t body_bytes_ = 0;                      // guarded by mu_
    heap near_, far_;                                 // guarded by mu_
    std::deque<event_id> to_load_;                    // guarded by mu_
    std::unordered_set<event_id> loading_;            // guarded by mu_: queued or loading
    counters counts_;                                 // guarded by mu_ (held/bodies unused)
    bool stopping_ = false;                           // guarded by mu_
    std::thread timer_, loader_;
};

}  // namespace pubsub
