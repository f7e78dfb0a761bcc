// event_bulk: the operator's retry and cancel of many events at once (SPEC 7.4): every event
// that matches a filter (status, type and source globs, a creation-time range) or a list of ids,
// with a dry run that only counts.
//
// The change runs in bounded transactions: each batch locks at most `batch_size` matching rows
// (in id order, after the previous batch's last id), changes them with the per-event semantics of
// event_actions.h (retry: failed or cancelled events only; cancel: pending or processing only),
// notifies the routers as a single action does, and commits, so no transaction ever holds
// locks over more than one batch and concurrent ingest and routers only wait for one batch.
// The audit entry is written in the first batch's transaction and its row count raised in each
// later one, so at any commit it says exactly how many events changed.
// Plain functions over a caller-owned connection (not thread-safe, like the connection).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "router/event.h"
#include "storage/pg.h"

namespace pubsub {

// Which events: all the given criteria hold (ids, when given, further restrict the filter).
struct bulk_selection {
    std::vector<event_id> ids;
    std::vector<std::string> statuses;       // any of these; empty: every status the action takes
    std::optional<std::string> type_glob;    // event_type glob (filter syntax: * ? and \ escapes)
    std::optional<std::string> source_glob;  // event_source glob
    std::optional<std::string> since;        // timestamptz text: created_at >= since
    std::optional<std::string> until;        // timestamptz text: created_at < until

    bool empty() const {
        return ids.empty() && statuses.empty() && !type_glob && !source_glob && !since && !until;
    }
};

enum class bulk_action { retry, cancel };
const char* bulk_action_name(bulk_action a);  // "retry", "cancel"

struct bulk_options {
    bool dry_run = false;   // count what would change; change nothing, record nothing
    int batch_size = 1000;  // events per transaction (1 to 10,000)
    // A dry run stops counting past this many events (and says so: bulk_outcome::more), so
    // that the page's "retry all matching (N)", counted at every refresh, reads at most that
    // many index entries per status however large the selection; 0 counts them all.
    std::int64_t count_limit = 10'000;
    std::string actor;  // the audit's who (audit_log.h); required unless dry_run
};

struct bulk_outcome {
    std::int64_t events = 0;      // events changed (dry run: that would change)
    std::int64_t deliveries = 0;  // delivery rows re-queued or cancelled (0 for a dry run)
    int batches = 0;              // transactions committed
    bool more = false;            // dry run: more than `events` (= count_limit) match
};

// A filter glob as a LIKE pattern: `*` -> %, `?` -> _, `\*` `\?` `\\` literal, and LIKE's own
// % _ \ escaped. Errors (naming `field`) for an empty glob, control characters or bad UTF-8.
result<std::string> glob_to_like(std::string_view glob, std::string_view field);

// Checks the selection without the database: known statuses that the action applies to, valid
// globs, at least one criterion. The message names the field.
status check_selection(bulk_action a, const bulk_selection& s);

// Runs (or, with dry_run, counts) the action over the selection. Errors: a bad selection
// (check_selection), a time PostgreSQL cannot read, database errors. A database error after
// some batches committed leaves those committed (and audited); the error says how many.
result<bulk_outcome> run_bulk(pg::connection& c, const std::string& schema, bulk_action a,
                              const bulk_selection& s, const bulk_options& o);

// The per-event changes shared with event_actions.cc, on rows the caller's transaction has
// locked: the delivery rows changed, then the event rows, then the routers' notifications.
// `ids` must be events in a state the action applies to. Returns the delivery rows changed.
result<std::int64_t> apply_event_action(pg::connection& c, const std::string& schema, bulk_action a,
                                        const std::vector<event_id>& ids);

// The selection as a JSON object (the audit's target).
std::string selection_json(const bulk_selection& s);

}  // namespace pubsub
