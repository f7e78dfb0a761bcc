// db_door: everything pubsubd does on its LISTEN connection (SPEC 3.3): reloads subscribers on
// NOTIFY, claims events created by SQL (create_event NOTIFY, a periodic sweep, and a sweep after
// every (re)connect) and takes pg_notify('tpubsub_ingest') payloads. The heartbeat is not here:
// it has its own thread and connection (storage/node_heartbeat.h), so no claim delays it.
// All methods run on the listener thread (storage/listener.h); claimed() is readable anywhere.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "ingest/notify_door.h"
#include "router/router.h"
#include "storage/event_store.h"
#include "storage/listener.h"
#include "storage/node_info.h"

namespace pubsub {

// The settings of the daemon's configuration that the SQL door reads.
struct db_door_options {
    std::string schema = "dba";
    int sweep_interval_ms = 1000;
    int node_dead_after_s = 30;
    bool notify_ingest = true;  // take pg_notify('tpubsub_ingest') payloads
};

class db_door {
  public:
    db_door(db_door_options opts, router& r, notify_door& notify, const node_identity& node);

    // Options for a pg_listener bound to this object (which must outlive the listener).
    listener_options listener(const std::string& dsn);
    std::uint64_t claimed() const { return claimed_.load(std::memory_order_relaxed); }

    void reload_subscribers(pg::connection& conn);
    void sweep(pg::connection& conn);

    // Deliveries; set before the listener starts, all called on the listener thread.
    struct delivery_hooks {
        // False while any handler pool is full: the sweep claims nothing, and those events wait
        // in the table, whatever their type. The socket refuses per event_type
        // (router::admit); the SQL door cannot: a claimed event is never handed back, and a
        // claim restricted to the types that reach no full pool would need the router's map in
        // the claim's SQL. So a stuck job type delays events created by SQL (not their
        // handlers) until its pool drains below the limit.
        std::function<bool()> may_claim;
        // The delivery rows of claimed events (they come back with the claim), before the
        // events are routed: completed deliveries are skipped, attempts and retries kept.
        std::function<void(std::vector<delivery_record>)> resume_rows;
        // An event this node owns whose row says `cancelled` (cancelled true), or an event whose
        // row says anything else (false: an operator's retry, or a forged cancel). Called only
        // for rows that exist, after re-reading them (see Event actions).
        std::function<void(event_id, bool cancelled)> on_event_state;
        // After each subscriber reload (a pause or resume wakes one too: SPEC 7.4).
        std::function<void(pg::connection&)> after_reload;
        // Each subscriber snapshot, just before the router gets it (persistent workers start
        // before the first event reaches their subscriber).
        std::function<void(const subscriber_snapshot&)> on_subscribers;
    };
    void set_delivery_hooks(delivery_hooks h) { hooks_ = std::move(h); }

  private:
    void handle_notify(pg::connection& c, const std::string& channel, const std::string& payload);
    // Event actions: a `cancel <id>` / `retry <id>` notification is only a hint (any role that
    // can connect may NOTIFY): the id is queued, and the rows are re-read in one query once the
    // notifications at hand are delivered (or the queue holds max_action_hints ids); only what
    // a row says is acted on. Ids without a row (not yet allocated, or forged) cost nothing.
    void note_event_action(const std::string& payload);
    // Once per run of notifications: a subscriber reload and a claim of unclaimed events
    // however many asked for them (any role may NOTIFY, so a flood costs one of each), then the
    // action hints.
    void after_notifies(pg::connection& c);
    void apply_event_actions(pg::connection& c);
    // A sweep without the orphan claim; false on a database error.
    bool claim_unclaimed(pg::connection& conn);
    void on_tick(pg::connection& conn);
    void try_lead_ingest(pg::connection& conn);
    // Re-enqueues the rows of claims whose reply never arrived; false on a database error.
    bool recover_lost_claims(pg::connection& conn);
    void enqueue_claimed(claimed_events& got);
    // Debug log of one claim's stages (NOTIFY read, claim reply, delivery rows handed over,
    // routed), so a benchmark can split the SQL door's latency.
    void log_claim_times(const std::vector<event_ptr>& events, std::int64_t woke_us,
                         std::int64_t claimed_us);
    // One claim with a fresh token: the rows taken, or -1 on an error (the token is kept).
    long claim(pg::connection& conn, claim_kind kind, std::size_t limit);
    // Failover: one bounded claim of the open events of nodes that are not live. Every
    // survivor takes at most orphan_batch and at most its even share per round, most urgent
    // first, and comes back after 20 ms while it found some, so a dead node's events spread
    // over the survivors.
    void claim_orphans(pg::connection& conn);
    std::chrono::milliseconds orphan_interval() const;

    const db_door_options cfg_;
    router& router_;
    notify_door& notify_;
    const node_identity& node_;
    delivery_hooks hooks_;
    // This schema's NOTIFY channels (storage/channels.h).
    const std::string events_channel_, ingest_channel_, subscribers_channel_, actions_channel_;
    std::chrono::steady_clock::time_point next_sweep_{}, next_lead_{}, next_orphans_{};
    std::atomic<std::uint64_t> claimed_{0};
    // Every listening router receives each pg_notify('tpubsub_ingest') payload; only the one
    // holding the schema's session advisory lock persists it, so it is stored once. Listener
    // thread only; reset on reconnect (the lock dies with the session).
    bool ingest_leader_ = false;
    // The claims are prepared on the current session (storage/event_store.h); listener thread
    // only, reset on reconnect and after a failed claim.
    bool claims_prepared_ = false;
    static constexpr std::size_t unclaimed_batch = 5000, orphan_batch = 200;
    static constexpr std::size_t max_action_hints = 1000;
    std::vector<event_id> action_hints_;  // listener thread only; at most max_action_hints
    bool reload_wanted_ = false, sweep_wanted_ = false;  // listener thread only
    // Wall-clock µs of the stages of the latest claim, for log_claim_times; listener thread only.
    std::int64_t woke_us_ = 0, loaded_us_ = 0, routed_us_ = 0;
    // Tokens of claims sent but not answered (listener thread only). A claim's UPDATE may commit
    // and its reply be lost with the connection; the rows are then claimed by this live node and
    // no sweep would take them again, so the next sweep reloads them by token.
    std::vector<std::int64_t> unanswered_claims_;
    std::mt19937_64 token_rng_{std::random_device{}()};
    // Fault injection for tests (PUBSUB_TEST_LOSE_CLAIM_REPLIES=N): the next N non-empty claim
    // replies are thrown away and the session killed, as if the connection died after COMMIT.
    // Compiled in test builds only (PUBSUB_FAULT_HOOKS).
    int lose_claim_replies_ = 0;
};

}  // namespace pubsub
