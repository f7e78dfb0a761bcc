#include "prune.h"

#include <iostream>
#include <memory>

#include "storage/audit_log.h"
#include "storage/retention.h"

namespace pubsub::ctl {

namespace {

struct prune_args {
    std::string older_than;
    std::string status;  // empty: every finished status
    bool dry_run = false;
};

// The filter as the audit entry's target: {"older_than":"7d","status":"failed"}.
std::string target_json(const prune_args& a) {
    std::string out = "{\"older_than\":\"" + a.older_than + "\"";
    if (!a.status.empty()) out += ",\"status\":\"" + a.status + "\"";
    return out + "}";
}

int prune(const context& ctx, const prune_args& a) {
    auto older = parse_duration(a.older_than);
    if (!older.ok()) return fail("--older-than: " + older.message());
    if (older->count() == 0) return fail("--older-than: give a duration, such as 1s or 7d");
    // The statuses asked for, with this duration; the others kept (0).
    retention_policy p{std::chrono::seconds(0), std::chrono::seconds(0), std::chrono::seconds(0)};
    if (a.status.empty() || a.status == "completed") p.completed = *older;
    if (a.status.empty() || a.status == "cancelled") p.cancelled = *older;
    if (a.status.empty() || a.status == "failed") p.failed = *older;
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    // Batches of 5000, each its own short transaction, as the daemon's pruner does.
    auto n = a.dry_run ? count_prunable(*c, ctx.schema, p) : prune_all(*c, ctx.schema, p, 5000, {});
    if (!n.ok()) return fail(n.message());
    const std::int64_t total = *n;
    audit_entry e{
        os_user_actor(), "events.prune", target_json(a), a.dry_run ? 0 : total,
        a.dry_run ? "{\"dry_run\":true,\"would_remove\":" + std::to_string(total) + "}" : ""};
    if (auto s = record_audit(*c, ctx.schema, e); !s.ok()) return fail(s.message());
    std::cout << (a.dry_run ? "would remove " : "removed ") << total << " events\n";
    return 0;
}

}  // namespace

void add_prune_command(CLI::App& events, const context& ctx, int& rc) {
    auto args = std::make_shared<prune_args>();
    auto* cmd = events.add_subcommand(
        "prune", "Remove finished events (and their deliveries) whose completed_at is older");
    cmd->add_option("--older-than", args->older_than, "30s, 15m, 12h, 7d")->required();
    cmd->add_option("--status", args->status, "completed, cancelled or failed (default: all three)")
        ->check(CLI::IsMember({"completed", "cancelled", "failed"}));
    cmd->add_flag("--dry-run", args->dry_run, "count them, remove nothing");
    cmd->callback([&ctx, &rc, args] { rc = prune(ctx, *args); });
}

}  // namespace pubsub::ctl
