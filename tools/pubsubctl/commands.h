// The pubsubctl commands; each returns the process exit code.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "ctl_context.h"

namespace pubsub::ctl {

struct emit_args {
    std::string type, source, data = "{}", ack = "durable";
    int priority = 5;
    std::string idempotency_key;  // SPEC 7.2; empty: none
    std::string run_at;           // RFC 3339 with an offset; empty: none
    long long delay_ms = -1;      // -1: none
};
int emit(const context& ctx, const emit_args& a);  // a.type empty: NDJSON from stdin

struct list_args {
    std::string status, type;
    int limit = 50;
    bool scheduled = false;  // only events waiting for their run_at, soonest first
};
int events_list(const context& ctx, const list_args& a);
int events_show(const context& ctx, const std::string& id);  // with its delivery rows
// Operator actions (storage/event_actions.h): exit 0 when done, 1 otherwise.
int events_retry(const context& ctx, const std::string& id);
int events_cancel(const context& ctx, const std::string& id);
// retry|cancel with ids and/or a filter (events_bulk.cc); prints how many events changed.
struct bulk_args {
    std::vector<std::string> ids;
    std::optional<std::string> status, type, source, since, until;  // status: "a,b" allowed
    bool dry_run = false;
    int batch_size = 1000;
};
int events_bulk(const context& ctx, const bulk_args& a, bool retry);

struct subscriber_args {
    std::string name, event_type, filter = "{}", job_type, script;
    std::optional<int> config_id;
    int max_retries = 3, timeout_s = 300;
    bool inactive = false;
    std::string mode = "process";  // run_mode
    int workers = 1;
};
int subscribers_add(const context& ctx, const subscriber_args& a);
int subscribers_list(const context& ctx);
int subscribers_remove(const context& ctx, const std::string& name_or_id);

// Only the options given change (absent: kept as stored).
struct subscriber_update_args {
    std::string target;  // name or id
    std::optional<std::string> event_type, filter, job_type, script, mode;
    std::optional<int> config_id, max_retries, timeout_s, workers;
};
int subscribers_update(const context& ctx, const subscriber_update_args& a);
int subscribers_set_active(const context& ctx, const std::string& name_or_id, bool active);
// Pause and resume (SPEC 7.4): deliveries are held, not dropped (pools.cc for job types).
int subscribers_set_paused(const context& ctx, const std::string& name_or_id, bool paused);
int pools_set_paused(const context& ctx, const std::string& job_type, bool paused);
// "<what> paused: ..." / "<what> was already paused" (pools.cc).
void print_pause_change(const std::string& what, bool changed, bool paused);
// For `status`: the paused subscribers and pools and the held deliveries, one line each.
void print_pauses(pg::connection& c, const context& ctx);

// Which active subscribers an event (JSON as the socket door takes it) would reach, and for
// the others the first condition that failed. event_json empty: read from stdin.
int match(const context& ctx, const std::string& event_json);

// Streams new events and their transitions until interrupted (tail.cc).
struct tail_args {
    std::string type;                     // event_type glob (* and ?); empty: every type
    std::optional<std::int64_t> from_id;  // start after this id; default: after the newest
    int interval_ms = 250;
};
int tail(const context& ctx, const tail_args& a);

int show_status(const context& ctx);
int migrate(const context& ctx);

}  // namespace pubsub::ctl
