// pubsubctl events list|show.
#include <iostream>

#include "commands.h"

namespace pubsub::ctl {

int events_list(const context& ctx, const list_args& a) {
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    auto r = c->query(
        "SELECT event_id, event_type, event_source, status, priority, created_at, "
        "completed_at, retry_count, error_message FROM " +
            ctx.table(*c, "tpubsub_events") +
            " WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR "
            "event_type = $2) ORDER BY event_id DESC LIMIT $3::int",
        {a.status.empty() ? std::nullopt : std::optional(a.status),
         a.type.empty() ? std::nullopt : std::optional(a.type), std::to_string(a.limit)});
    if (!r.ok()) return fail(r.message());
    print_rows(*r, ctx.json);
    return 0;
}

int events_show(const context& ctx, const std::string& id) {
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    auto r = c->query(
        "SELECT event_id, event_type, event_source, event_data, status, priority, "
        "created_at, processed_at, completed_at, error_message, retry_count FROM " +
            ctx.table(*c, "tpubsub_events") + " WHERE event_id = $1::bigint",
        {id});
    if (!r.ok()) return fail(r.message());
    if (r->rows() == 0) return fail("no event with id " + id);
    if (ctx.json) {
        print_rows(*r, true);
        return 0;
    }
    for (int col = 0; col < r->columns(); ++col) {
        std::cout << r->name(col) << ": " << (r->is_null(0, col) ? "(null)" : r->get(0, col))
                  << "\n";
    }
    return 0;
}

}  // namespace pubsub::ctl
