// pubsubctl events retry|cancel with several ids or a filter (storage/event_bulk.h); one id and
// no filter keeps the single action's messages (events.cc).
#include <charconv>
#include <iostream>

#include "commands.h"
#include "storage/audit_log.h"
#include "storage/event_bulk.h"

namespace pubsub::ctl {

namespace {

// "a,b" -> {"a", "b"}.
std::vector<std::string> split_commas(const std::string& list) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        auto comma = list.find(',', start);
        out.push_back(list.substr(start, comma - start));
        if (comma == std::string::npos) return out;
        start = comma + 1;
    }
}

bool has_filter(const bulk_args& a) { return a.status || a.type || a.source || a.since || a.until; }

}  // namespace

int events_bulk(const context& ctx, const bulk_args& a, bool retry) {
    if (a.ids.size() == 1 && !has_filter(a) && !a.dry_run) {
        return retry ? events_retry(ctx, a.ids[0]) : events_cancel(ctx, a.ids[0]);
    }
    bulk_selection s;
    for (const auto& text : a.ids) {
        event_id id = 0;
        auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
        if (ec != std::errc() || p != text.data() + text.size() || id <= 0) {
            return fail("event id must be a positive integer, got \"" + text + "\"");
        }
        s.ids.push_back(id);
    }
    if (a.status) s.statuses = split_commas(*a.status);
    s.type_glob = a.type;
    s.source_glob = a.source;
    s.since = a.since;
    s.until = a.until;
    const bulk_action action = retry ? bulk_action::retry : bulk_action::cancel;
    if (status st = check_selection(action, s); !st.ok()) return fail(st.message());
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    bulk_options o;
    o.dry_run = a.dry_run;
    o.count_limit = 0;  // the exact count (SPEC 7.4); the page's automatic counts stop at 10,000
    o.batch_size = a.batch_size;
    o.actor = os_user_actor();
    auto out = run_bulk(*c, ctx.schema, action, s, o);
    if (!out.ok()) return fail(out.message());
    if (ctx.json) {
        std::cout << "{\"action\":\"" << bulk_action_name(action)
                  << "\",\"dry_run\":" << (a.dry_run ? "true" : "false")
                  << ",\"events\":" << out->events << ",\"deliveries\":" << out->deliveries
                  << ",\"batches\":" << out->batches << "}\n";
        return 0;
    }
    const char* verb = retry ? "retried" : "cancelled";
    if (a.dry_run) {
        std::cout << out->events << " events would be " << verb << " (dry run: nothing changed)\n";
    } else {
        // Retry: events without delivery rows run every matching subscriber (event_actions.h).
        std::cout << out->events << " events " << verb << " (" << out->deliveries
                  << (retry ? " recorded deliveries re-queued, " : " deliveries cancelled, ")
                  << out->batches << " batches)\n";
    }
    return 0;
}

}  // namespace pubsub::ctl
