// pubsubctl: the operator's command line (SPEC 6). Thin: parses arguments with CLI11 and calls
// one function per command (commands.h).
#include <CLI/CLI.hpp>

#include "base/build_info/build_info.h"
#include "commands.h"
#include "prune.h"

using namespace pubsub::ctl;

namespace {

void add_bulk_options(CLI::App* cmd, bulk_args& a, bool& json) {
    cmd->add_option("ID", a.ids, "event ids (with a filter: only those that match it too)");
    cmd->add_option("--status", a.status, "status, or several: failed,cancelled");
    cmd->add_option("--type", a.type, "event_type glob (* ? and \\ escapes), e.g. sales_*");
    cmd->add_option("--source", a.source, "event_source glob");
    cmd->add_option("--since", a.since, "created at or after (ISO 8601)");
    cmd->add_option("--until", a.until, "created before (ISO 8601)");
    cmd->add_flag("--dry-run", a.dry_run, "count the matching events, change nothing");
    cmd->add_option("--batch-size", a.batch_size, "events per transaction (default 1000)");
    cmd->add_flag("--json", json, "JSON output");
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app{"pubsubctl: operate the pubsub event router", "pubsubctl"};
    app.require_subcommand(1);
    app.set_version_flag("--version", pubsub::version_line("pubsubctl"),
                         "Print the version and git revision");
    context ctx;
    app.add_option("--dsn", ctx.dsn, "PostgreSQL connection string")->envname("PUBSUB_DSN");
    app.add_option("--schema", ctx.schema, "Schema of the pubsub tables")->envname("PUBSUB_SCHEMA");
    app.add_option("--data-dir", ctx.data_dir, "pubsubd's embedded-mode folder")
        ->envname("PUBSUB_DATA_DIR");
    app.add_option("--socket", ctx.socket, "pubsubd's socket")->envname("PUBSUB_SOCKET");
    app.add_flag("--json", ctx.json, "JSON output for listings");
    int rc = 0;

    emit_args ea;
    auto* emit_cmd = app.add_subcommand("emit", "Emit one event (flags) or NDJSON lines (stdin)");
    emit_cmd->add_option("--type,-t", ea.type, "event_type (omit to read NDJSON from stdin)");
    emit_cmd->add_option("--source,-s", ea.source, "event_source");
    emit_cmd->add_option("--data,-d", ea.data, "event_data as a JSON object");
    emit_cmd->add_option("--priority,-p", ea.priority, "1..10, 10 most urgent");
    emit_cmd->add_option("--ack", ea.ack, "durable or queued");
    emit_cmd->add_option("--idempotency-key", ea.idempotency_key,
                         "a retry with the same key creates nothing and prints the first id");
    emit_cmd->add_option("--run-at", ea.run_at,
                         "dispatch at this RFC 3339 time (e.g. 2026-12-05T06:00:00Z)");
    emit_cmd->add_option("--delay-ms", ea.delay_ms, "dispatch this many milliseconds from now");
    emit_cmd->callback([&] { rc = emit(ctx, ea); });

    auto* events = app.add_subcommand("events", "List and inspect events");
    events->require_subcommand(1);
    list_args la;
    auto* list = events->add_subcommand("list", "Newest first");
    list->add_option("--status", la.status, "pending, processing, completed, failed, cancelled");
    list->add_option("--type", la.type, "event_type");
    list->add_option("--limit", la.limit, "rows");
    list->add_flag("--scheduled", la.scheduled,
                   "only events waiting for their run_at, soonest first");
    list->callback([&] { rc = events_list(ctx, la); });
    std::string event_id;
    auto* show = events->add_subcommand("show", "One event in full");
    show->add_option("ID", event_id)->required();
    show->callback([&] { rc = events_show(ctx, event_id); });
    bulk_args ba;
    for (bool is_retry : {true, false}) {
        auto* cmd = events->add_subcommand(
            is_retry ? "retry" : "cancel",
            is_retry ? "Run the failed deliveries of failed or cancelled events again (by id or "
                       "by filter)"
                     : "Cancel pending or processing events, by id or by filter (a running "
                       "handler is left to finish)");
        add_bulk_options(cmd, ba, ctx.json);
        cmd->callback([&, is_retry] { rc = events_bulk(ctx, ba, is_retry); });
    }
    add_prune_command(*events, ctx, rc);

    auto* subs = app.add_subcommand("subscribers", "Manage subscribers");
    subs->require_subcommand(1);
    subscriber_args sa;
    auto* add = subs->add_subcommand("add", "Add a subscriber");
    add->add_option("--name", sa.name)->required();
    add->add_option("--event-type", sa.event_type, "event_type, or * for every type")->required();
    add->add_option("--job-type", sa.job_type, "import, inbox_processor, report, custom, noop")
        ->required();
    add->add_option("--filter", sa.filter, "event_filter, a JSON object (SPEC 5)");
    add->add_option("--config-id", sa.config_id);
    add->add_option("--script", sa.script, "script_path for custom");
    add->add_option("--max-retries", sa.max_retries);
    add->add_option("--timeout", sa.timeout_s, "seconds");
    add->add_flag("--inactive", sa.inactive, "add disabled");
    add->add_option("--mode", sa.mode, "run_mode: process (default) or persistent");
    add->add_option("--workers", sa.workers, "persistent worker processes per node (1 to 64)");
    add->callback([&] { rc = subscribers_add(ctx, sa); });
    auto* subs_list = subs->add_subcommand("list", "All subscribers");
    subs_list->add_flag("--json", ctx.json, "JSON rows");
    subs_list->callback([&] { rc = subscribers_list(ctx); });
    subscriber_update_args ua;
    auto* update = subs->add_subcommand("update", "Change the given fields of a subscriber");
    update->add_option("NAME_OR_ID", ua.target)->required();
    update->add_option("--event-type", ua.event_type, "event_type, or * for every type");
    update->add_option("--filter", ua.filter, "event_filter, a JSON object (SPEC 5)");
    update->add_option("--job-type", ua.job_type, "import, inbox_processor, report, custom, noop");
    update->add_option("--config-id", ua.config_id);
    update->add_option("--script", ua.script, "script_path for custom (\"\" clears it)");
    update->add_option("--max-retries", ua.max_retries);
    update->add_option("--timeout,--timeout-s", ua.timeout_s, "seconds");
    update->add_option("--mode", ua.mode, "run_mode: process or persistent");
    update->add_option("--workers", ua.workers, "persistent worker processes per node (1 to 64)");
    update->callback([&] { rc = subscribers_update(ctx, ua); });
    std::string target;
    for (bool active : {true, false}) {
        auto* cmd = subs->add_subcommand(active ? "enable" : "disable",
                                         active ? "Activate by name or id" : "Deactivate");
        cmd->add_option("NAME_OR_ID", target)->required();
        cmd->callback([&, active] { rc = subscribers_set_active(ctx, target, active); });
    }
    for (bool paused : {true, false}) {
        auto* cmd = subs->add_subcommand(paused ? "pause" : "resume",
                                         paused ? "Hold new deliveries (by name or id)"
                                                : "Run the held deliveries and new ones again");
        cmd->add_option("NAME_OR_ID", target)->required();
        cmd->callback([&, paused] { rc = subscribers_set_paused(ctx, target, paused); });
    }
    auto* remove = subs->add_subcommand("remove", "Remove by name or id");
    remove->add_option("NAME_OR_ID", target)->required();
    remove->callback([&] { rc = subscribers_remove(ctx, target); });

    auto* pools = app.add_subcommand("pools", "Pause or resume a job type's handler pool");
    pools->require_subcommand(1);
    for (bool paused : {true, false}) {
        auto* cmd =
            pools->add_subcommand(paused ? "pause" : "resume",
                                  paused ? "Hold new deliveries of every subscriber of the job type"
                                         : "Run the job type's held deliveries and new ones again");
        cmd->add_option("JOB_TYPE", target, "import, inbox_processor, report, custom, noop")
            ->required();
        cmd->callback([&, paused] { rc = pools_set_paused(ctx, target, paused); });
    }

    std::string match_event;
    auto* match_cmd =
        app.add_subcommand("match", "Which active subscribers an event would reach, and why not");
    match_cmd->add_option("--event,-e", match_event, "the event as JSON (default: stdin)");
    match_cmd->add_flag("--json", ctx.json, "JSON output");
    match_cmd->callback([&] { rc = match(ctx, match_event); });

    tail_args ta;
    auto* tail_cmd = app.add_subcommand("tail", "Stream new events and transitions (Ctrl-C stops)");
    tail_cmd->add_option("--type", ta.type, "event_type glob, e.g. import_*");
    tail_cmd->add_option("--from-id", ta.from_id, "start after this event id (default: now)");
    tail_cmd->add_option("--interval-ms", ta.interval_ms, "poll interval (default 250)");
    tail_cmd->add_flag("--json", ctx.json, "one JSON object per line");
    tail_cmd->callback([&] { rc = tail(ctx, ta); });

    app.add_subcommand("status", "Nodes and event counts")->callback([&] {
        rc = show_status(ctx);
    });
    app.add_subcommand("migrate", "Apply the schema migrations")->callback([&] {
        rc = migrate(ctx);
    });

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    return rc;
}
