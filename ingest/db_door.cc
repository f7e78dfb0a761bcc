#include "ingest/db_door.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <string_view>
#include <utility>

#include "base/logger.h"
#include "storage/channels.h"
#include "storage/event_actions.h"
#include "storage/event_store.h"
#include "storage/subscriber_store.h"

namespace pubsub {

using steady = std::chrono::steady_clock;

db_door::db_door(db_door_options cfg, router& r, notify_door& notify, const node_identity& node)
    : cfg_(cfg),
      router_(r),
      notify_(notify),
      node_(node),
      events_channel_(schema_channel("tpubsub_events", cfg_.schema)),
      ingest_channel_(schema_channel("tpubsub_ingest", cfg_.schema)),
      subscribers_channel_(schema_channel("tpubsub_subscribers", cfg_.schema)),
      actions_channel_(schema_channel(event_actions_channel, cfg_.schema)) {
#ifdef PUBSUB_FAULT_HOOKS  // test builds only (CMake PUBSUB_FAULT_HOOKS)
    if (const char* n = std::getenv("PUBSUB_TEST_LOSE_CLAIM_REPLIES"))
        lose_claim_replies_ = std::atoi(n);
#endif
}

listener_options db_door::listener(const std::string& dsn) {
    listener_options lo;
    lo.dsn = dsn;
    lo.channels = {subscribers_channel_, events_channel_, actions_channel_};
    if (cfg_.notify_ingest) lo.channels.push_back(ingest_channel_);
    lo.tick_interval = std::chrono::milliseconds(100);
    lo.on_connect = [this](pg::connection& c) {
        // A claim lost in a crash before its WAL flush is claimed again (at-least-once), so
        // this session need not wait for the flush: it is on the path to every SQL event.
        (void)c.exec("SET synchronous_commit = off");
        // Operators (and tests) tell the listener apart in pg_stat_activity by this suffix.
        (void)c.exec(
            "SELECT set_config('application_name', left(concat_ws(' ', "
            "nullif(current_setting('application_name'), ''), 'pubsubd-listener'), 63), false)");
        ingest_leader_ = false;
        claims_prepared_ = false;  // prepared statements die with the session
        try_lead_ingest(c);
        reload_subscribers(c);
        sweep(c);  // anything created while we were not listening
    };
    lo.on_notify = [this](pg::connection& c, const std::string& channel,
                          const std::string& payload) { handle_notify(c, channel, payload); };
    lo.after_notifies = [this](pg::connection& c) { after_notifies(c); };
    lo.on_tick = [this](pg::connection& c) { on_tick(c); };
    lo.log = log_hook("listener");
    return lo;
}

void db_door::handle_notify(pg::connection& c, const std::string& channel,
                            const std::string& payload) {
    if (channel == events_channel_) {
        if (!sweep_wanted_) woke_us_ = now_us();
        sweep_wanted_ = true;
    } else if (channel == ingest_channel_) {
        if (ingest_leader_) notify_.handle(payload);
    } else if (channel == actions_channel_) {
        note_event_action(payload);
        if (action_hints_.size() >= max_action_hints) apply_event_actions(c);
    } else {
        reload_wanted_ = true;
    }
}

void db_door::after_notifies(pg::connection& c) {
    if (reload_wanted_) {
        reload_wanted_ = false;
        reload_subscribers(c);
    }
    if (sweep_wanted_) {
        sweep_wanted_ = false;
        // Not the orphan claim: it stays on its timer (on_tick), off the path of the next
        // create_event wake-up, which would otherwise wait for its query.
        claim_unclaimed(c);  // applies the action hints first
    } else {
        apply_event_actions(c);
    }
}

void db_door::note_event_action(const std::string& payload) {
    // "cancel <id>" or "retry <id>"; the verb does not matter, the row decides.
    auto space = payload.find(' ');
    if (space == std::string::npos) return;
    std::string_view verb(payload.data(), space);
    if (verb != "cancel" && verb != "retry") return;
    const char* digits = payload.c_str() + space + 1;
    char* end = nullptr;
    errno = 0;
    long long id = std::strtoll(digits, &end, 10);
    if (errno != 0 || end == digits || *end != '\0' || id <= 0) return;
    action_hints_.push_back(id);
}

void db_door::apply_event_actions(pg::connection& c) {
    if (action_hints_.empty()) return;
    std::sort(action_hints_.begin(), action_hints_.end());
    action_hints_.erase(std::unique(action_hints_.begin(), action_hints_.end()),
                        action_hints_.end());
    auto rows = load_event_states(c, cfg_.schema, action_hints_);
    action_hints_.clear();
    if (!rows.ok()) {
        // The hints are dropped: a real cancel is in the row, and the write-behind never writes
        // over a cancelled row; at worst a queued delivery of that event still runs.
        log_line(log_level::error, rows.message());
        return;
    }
    for (const auto& r : *rows) {
        bool cancelled = r.status == "cancelled";
        if (cancelled && r.claimed_by != node_.node_id) continue;  // another node's event
        if (hooks_.on_event_state) hooks_.on_event_state(r.id, cancelled);
    }
}

void db_door::reload_subscribers(pg::connection& conn) {
    std::vector<std::string> skipped;
    auto subs = load_subscribers(conn, cfg_.schema, &skipped);
    if (!subs.ok()) {
        log_line(log_level::error, subs.message());
        return;
    }
    auto snap = build_snapshot(std::move(*subs));
    for (const auto& s : skipped) log_line(log_level::error, "subscriber skipped: " + s);
    for (const auto& [name, why] : snap->skipped) {
        log_line(log_level::error, "subscriber skipped: " + why, log_field("subscriber", name));
    }
    auto count = snap->subscribers.size();
    if (hooks_.on_subscribers) hooks_.on_subscribers(snap);
    router_.set_subscribers(std::move(snap));
    log_line(log_level::debug, "subscribers loaded", "active=" + std::to_string(count));
    if (hooks_.after_reload) hooks_.after_reload(conn);
}

void db_door::sweep(pg::connection& conn) {
    if (claim_unclaimed(conn)) claim_orphans(conn);
}

bool db_door::claim_unclaimed(pg::connection& conn) {
    // Hints first: an operator's retry must lift the cancel before its event is claimed again.
    apply_event_actions(conn);
    if (!recover_lost_claims(conn)) return false;
    for (;;) {
        auto n = claim(conn, claim_kind::unclaimed, unclaimed_batch);
        if (n < 0) return false;
        if (n < static_cast<long>(unclaimed_batch)) return true;
    }
}

void db_door::claim_orphans(pg::connection& conn) {
    auto now = steady::now();
    auto n = claim(conn, claim_kind::orphaned, orphan_batch);
    // Some taken: more may wait. Come back soon, but not at once, so that the other survivors'
    // rounds take their share.
    next_orphans_ = now + (n > 0 ? std::chrono::milliseconds(20) : orphan_interval());
}

std::chrono::milliseconds db_door::orphan_interval() const {
    // Often enough that a dead node's events move within its deadline + 2 s.
    return std::chrono::milliseconds(std::min(cfg_.sweep_interval_ms, 500));
}

long db_door::claim(pg::connection& conn, claim_kind kind, std::size_t limit) {
    if (hooks_.may_claim && !hooks_.may_claim()) return 0;  // a pool is full: events wait here
    if (!claims_prepared_) {
        if (status s = prepare_claims(conn, cfg_.schema); !s.ok()) {
            log_line(log_level::error, s.message());
            return -1;
        }
        claims_prepared_ = true;
    }
    const std::int64_t woke_us = std::exchange(woke_us_, 0);
    // The sign bit is cleared so that the token prints as a plain positive bigint.
    auto token = static_cast<std::int64_t>(token_rng_() >> 1);
    unanswered_claims_.push_back(token);
    auto got = claim_open_events(conn, node_.node_id, limit, token, kind);
    const std::int64_t claimed_us = now_us();
    if (!got.ok()) {
        log_line(log_level::error, got.message());
        claims_prepared_ = false;  // prepared anew next time, in case the statement went stale
        return -1;  // the token stays: the UPDATE may have committed before the error
    }
#ifdef PUBSUB_FAULT_HOOKS
    if (lose_claim_replies_ > 0 && !got->events.empty()) {
        --lose_claim_replies_;
        log_line(log_level::warn, "fault injection: claim reply dropped",
                 "rows=" + std::to_string(got->events.size()));
        (void)conn.exec("SELECT pg_terminate_backend(pg_backend_pid())");
        return -1;
    }
#endif
    unanswered_claims_.pop_back();
    auto n = static_cast<long>(got->events.size());
    if (kind == claim_kind::orphaned && n > 0) {
        log_line(log_level::info, "claimed events of nodes that are not live",
                 "rows=" + std::to_string(n));
    }
    enqueue_claimed(*got);
    if (n > 0) log_claim_times(got->events, woke_us, claimed_us);
    return n;
}

void db_door::log_claim_times(const std::vector<event_ptr>& events, std::int64_t woke_us,
                              std::int64_t claimed_us) {
    std::string ids;
    for (std::size_t i = 0; i < events.size() && i < 32; ++i) {
        if (i > 0) ids += ',';
        ids += std::to_string(events[i]->id);
    }
    // woke_us: the NOTIFY that asked for this claim (0: a timed sweep). Wall clock, in µs.
    log_line(log_level::debug, "sql door claim",
             "rows=" + std::to_string(events.size()) + " woke_us=" + std::to_string(woke_us) +
                 " claimed_us=" + std::to_string(claimed_us) +
                 " loaded_us=" + std::to_string(loaded_us_) +
                 " routed_us=" + std::to_string(routed_us_) + " ids=" + ids);
}

bool db_door::recover_lost_claims(pg::connection& conn) {
    while (!unanswered_claims_.empty()) {
        auto token = unanswered_claims_.back();
        auto got = load_lost_claim(conn, cfg_.schema, node_.node_id, token);
        if (!got.ok()) {
            log_line(log_level::error, got.message());
            return false;
        }
        if (!got->events.empty()) {
            log_line(log_level::warn, "claimed events whose claim reply was lost are routed now",
                     "rows=" + std::to_string(got->events.size()));
        }
        unanswered_claims_.pop_back();
        enqueue_claimed(*got);
    }
    return true;
}

void db_door::enqueue_claimed(claimed_events& got) {
    if (hooks_.resume_rows && !got.deliveries.empty()) {
        hooks_.resume_rows(std::move(got.deliveries));
    }
    loaded_us_ = now_us();
    claimed_.fetch_add(got.events.size(), std::memory_order_relaxed);
    for (auto& ev : got.events) router_.enqueue(ev);  // kept for the debug log of their ids
    routed_us_ = now_us();
}

void db_door::try_lead_ingest(pg::connection& conn) {
    if (!cfg_.notify_ingest) return;
    auto r = conn.query("SELECT pg_try_advisory_lock(hashtext($1))",
                        {"pubsub tpubsub_ingest " + cfg_.schema});
    if (r.ok() && r->rows() == 1 && r->get(0, 0) == "t") {
        ingest_leader_ = true;
        log_line(log_level::info, "this node persists pg_notify tpubsub_ingest payloads");
    }
}

void db_door::on_tick(pg::connection& conn) {
    auto now = steady::now();
    if (!ingest_leader_ && now >= next_lead_) {
        next_lead_ = now + std::chrono::seconds(5);
        try_lead_ingest(conn);
    }
    if (now >= next_sweep_) {
        next_sweep_ = now + std::chrono::milliseconds(cfg_.sweep_interval_ms);
        sweep(conn);
    } else if (now >= next_orphans_ && recover_lost_claims(conn)) {
        claim_orphans(conn);
    }
}

}  // namespace pubsub
