// pubsubctl subscribers add|list|update|enable|disable|pause|resume|remove.
#include <simdjson.h>

#include <iostream>

#include "commands.h"
#include "ingest/json_scan.h"
#include "router/matcher.h"
#include "router/subscriber.h"
#include "storage/audit_log.h"
#include "storage/pause_store.h"
#include "storage/subscriber_store.h"

namespace pubsub::ctl {
namespace {

// A filter the router can use and PostgreSQL can store: a \u0000 is refused here, naming the
// field as the doors do, rather than by the database.
pubsub::status check_filter(const std::string& f) {
    if (pubsub::status v = validate_subscriber_filter(f); !v.ok()) return v;
    return json_storable(f);
}

// Command-line text is any bytes; PostgreSQL's text holds only UTF-8. Names the flag at fault
// rather than leaving it to the database's "invalid byte sequence".
pubsub::status check_text(const char* flag, const std::optional<std::string>& v) {
    if (!v || simdjson::validate_utf8(v->data(), v->size())) return {};
    return pubsub::status::error(std::string(flag) +
                                 " is not valid UTF-8 (PostgreSQL cannot store it)");
}

// The --mode value, or a message naming the choices.
std::optional<run_mode> mode_of(const std::string& text, std::string& why) {
    auto m = parse_run_mode(text);
    if (!m) why = "unknown --mode \"" + text + "\" (process, persistent)";
    return m;
}

// check_run_mode's message in the flags' words ("workers: ..." -> "--workers: ...").
std::string as_flags(const std::string& why) {
    if (why.rfind("run_mode:", 0) == 0) return "--mode" + why.substr(8);
    return "--" + why;
}

// The audit entry of one subscriber change by this OS user.
audit_entry audit_of(const char* action, const std::string& target) {
    return {os_user_actor(), action, target, 1, ""};
}

}  // namespace

int subscribers_add(const context& ctx, const subscriber_args& a) {
    subscriber s;
    s.name = a.name;
    s.event_type = a.event_type;
    s.filter_json = a.filter;
    auto job = parse_job_type(a.job_type);
    if (!job) {
        return fail("unknown --job-type \"" + a.job_type +
                    "\" (import, inbox_processor, report, custom, noop)");
    }
    s.job = *job;
    if (s.job == job_type::custom && a.script.empty()) {
        return fail("--job-type custom needs --script PATH");
    }
    s.config_id = a.config_id;
    s.script_path = a.script;
    s.max_retries = a.max_retries;
    s.timeout_s = a.timeout_s;
    s.is_active = !a.inactive;
    std::string why;
    auto mode = mode_of(a.mode, why);
    if (!mode) return fail(why);
    s.mode = *mode;
    s.workers = a.workers;
    if (why = check_run_mode(s.job, s.mode, s.workers); !why.empty()) return fail(as_flags(why));
    if (pubsub::status v = check_filter(s.filter_json); !v.ok()) {
        return fail("invalid --filter: " + v.message());
    }
    for (auto [flag, text] :
         {std::pair{"--name", &a.name}, {"--event-type", &a.event_type}, {"--script", &a.script}}) {
        if (pubsub::status v = check_text(flag, *text); !v.ok()) return fail(v.message());
    }
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    auto id = audited_change(*c, ctx.schema, audit_of("subscribers.add", s.name),
                             [&] { return insert_subscriber(*c, ctx.schema, s); });
    if (!id.ok()) return fail(id.message());
    std::cout << "subscriber " << s.name << " added with id " << *id << "\n";
    return 0;
}

int subscribers_list(const context& ctx) {
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    auto r = list_subscribers_rows(*c, ctx.schema);
    if (!r.ok()) return fail(r.message());
    print_rows(*r, ctx.json);
    return 0;
}

int subscribers_update(const context& ctx, const subscriber_update_args& a) {
    subscriber_patch p;
    p.event_type = a.event_type;
    p.filter_json = a.filter;
    if (a.job_type) {
        p.job = parse_job_type(*a.job_type);
        if (!p.job) {
            return fail("unknown --job-type \"" + *a.job_type +
                        "\" (import, inbox_processor, report, custom, noop)");
        }
    }
    p.config_id = a.config_id;
    p.script_path = a.script;
    p.max_retries = a.max_retries;
    p.timeout_s = a.timeout_s;
    p.workers = a.workers;
    if (a.mode) {
        std::string why;
        p.mode = mode_of(*a.mode, why);
        if (!p.mode) return fail(why);
    }
    if (a.workers && (*a.workers < min_workers || *a.workers > max_workers)) {
        return fail(as_flags(check_run_mode(job_type::custom, run_mode::process, *a.workers)));
    }
    if (a.filter) {
        if (pubsub::status v = check_filter(*a.filter); !v.ok()) {
            return fail("invalid --filter: " + v.message());
        }
    }
    for (auto [flag, text] : {std::pair{"the subscriber name or id", std::optional(a.target)},
                              {"--event-type", a.event_type},
                              {"--script", a.script}}) {
        if (pubsub::status v = check_text(flag, text); !v.ok()) return fail(v.message());
    }
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    auto updated = audited_change(*c, ctx.schema, audit_of("subscribers.update", a.target),
                                  [&] { return update_subscriber(*c, ctx.schema, a.target, p); });
    if (!updated.ok()) return fail(updated.message());
    if (!*updated) return fail("no subscriber named or numbered " + a.target);
    std::cout << "subscriber " << a.target << " updated\n";
    return 0;
}

int subscribers_set_active(const context& ctx, const std::string& name_or_id, bool active) {
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    auto updated = audited_change(
        *c, ctx.schema, audit_of(active ? "subscribers.enable" : "subscribers.disable", name_or_id),
        [&] { return set_subscriber_active(*c, ctx.schema, name_or_id, active); });
    if (!updated.ok()) return fail(updated.message());
    if (!*updated) return fail("no subscriber named or numbered " + name_or_id);
    std::cout << "subscriber " << name_or_id << (active ? " enabled\n" : " disabled\n");
    return 0;
}

int subscribers_set_paused(const context& ctx, const std::string& name_or_id, bool paused) {
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    auto r = set_subscriber_paused(*c, ctx.schema, name_or_id, paused, os_user_actor());
    if (!r.ok()) return fail(r.message());
    if (!r->found) return fail("no subscriber named or numbered " + name_or_id);
    print_pause_change("subscriber " + r->name, r->changed, paused);
    return 0;
}

int subscribers_remove(const context& ctx, const std::string& name_or_id) {
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    auto removed = audited_change(*c, ctx.schema, audit_of("subscribers.remove", name_or_id),
                                  [&] { return remove_subscriber(*c, ctx.schema, name_or_id); });
    if (!removed.ok()) return fail(removed.message());
    if (!*removed) return fail("no subscriber named or numbered " + name_or_id);
    std::cout << "subscriber " << name_or_id << " removed\n";
    return 0;
}

}  // namespace pubsub::ctl
