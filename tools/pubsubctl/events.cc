// pubsubctl events list|show|retry|cancel.
#include <charconv>
#include <iostream>

#include "commands.h"
#include "storage/audit_log.h"
#include "storage/event_actions.h"
#include "storage/event_queries.h"

namespace pubsub::ctl {

namespace {

std::optional<event_id> parse_id(const std::string& text) {
    event_id id = 0;
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
    if (ec != std::errc() || p != text.data() + text.size() || id <= 0) return std::nullopt;
    return id;
}

std::string time_text(std::int64_t us) {
    if (us == 0) return "-";
    std::string out;
    pg::append_timestamp(out, us);
    return out;
}

void print_deliveries(const std::vector<delivery_row>& rows) {
    std::cout << "deliveries:";
    if (rows.empty()) {
        std::cout << " (none recorded: deliveries that succeed on their first attempt leave no "
                     "row)\n";
        return;
    }
    std::cout << "\n";
    for (const auto& d : rows) {
        std::cout << "  " << d.subscriber_name << " (id " << d.subscriber_id << "): " << d.status
                  << ", attempts " << d.attempts;
        if (d.next_attempt_us != 0) std::cout << ", next attempt " << time_text(d.next_attempt_us);
        if (d.finished_us != 0) std::cout << ", finished " << time_text(d.finished_us);
        if (!d.last_error.empty()) std::cout << "\n    last error: " << d.last_error;
        std::cout << "\n";
    }
}

using action_fn = result<event_action_outcome> (*)(pg::connection&, const std::string&, event_id,
                                                   const std::string&);

int run_action(const context& ctx, const std::string& text, action_fn action) {
    auto id = parse_id(text);
    if (!id) return fail("event id must be a positive integer, got \"" + text + "\"");
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    auto out = action(*c, ctx.schema, *id, os_user_actor());
    if (!out.ok()) return fail(out.message());
    if (out->what != event_action_outcome::kind::done) return fail(out->message);
    std::cout << out->message << "\n";
    return 0;
}

}  // namespace

int events_list(const context& ctx, const list_args& a) {
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    event_filter f;
    if (!a.status.empty()) f.statuses = {a.status};
    if (!a.type.empty()) f.type_like = like_exact(a.type);
    f.limit = a.limit;
    if (a.scheduled) f.scheduled = true;
    auto r = list_events_rows(*c, ctx.schema, f);
    if (!r.ok()) return fail(r.message());
    print_rows(*r, ctx.json);
    return 0;
}

int events_show(const context& ctx, const std::string& id) {
    auto parsed = parse_id(id);
    if (!parsed) return fail("event id must be a positive integer, got \"" + id + "\"");
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    // --json: one document, the delivery rows as a JSON array column.
    auto r = show_event_row(*c, ctx.schema, *parsed, ctx.json);
    if (!r.ok()) return fail(r.message());
    if (r->rows() == 0) return fail("no event with id " + id);
    if (ctx.json) {
        print_rows(*r, true);
        return 0;
    }
    auto deliveries = load_deliveries(*c, ctx.schema, *parsed);
    if (!deliveries.ok()) return fail(deliveries.message());
    for (int col = 0; col < r->columns(); ++col) {
        std::cout << r->name(col) << ": " << (r->is_null(0, col) ? "(null)" : r->get(0, col))
                  << "\n";
    }
    print_deliveries(*deliveries);
    return 0;
}

int events_retry(const context& ctx, const std::string& id) {
    return run_action(ctx, id, &retry_event);
}

int events_cancel(const context& ctx, const std::string& id) {
    return run_action(ctx, id, &cancel_event);
}

}  // namespace pubsub::ctl
