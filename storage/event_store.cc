#include "storage/event_store.h"

namespace pubsub {

result<std::vector<event_ptr>> load_open_events(pg::connection& conn, const std::string& schema,
                                                std::size_t limit) {
    auto r = conn.query(
        "SELECT event_id, event_type, event_source, event_data::text, priority, "
        "(extract(epoch FROM created_at) * 1000000)::bigint, retry_count FROM " +
            conn.quote_identifier(schema) +
            ".tpubsub_events WHERE status IN ('pending', 'processing') "
            "ORDER BY event_id LIMIT $1::bigint",
        {std::to_string(limit)});
    if (!r.ok()) return status::error("cannot load open events: " + r.message());
    std::vector<event_ptr> out;
    out.reserve(static_cast<std::size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) {
        auto ev = std::make_shared<event>();
        ev->id = r->get_int(i, 0);
        ev->type = r->get(i, 1);
        ev->source = r->get(i, 2);
        auto data = r->get(i, 3);
        ev->data_json.reserve(data.size() + 64);  // simdjson padding for the matcher
        ev->data_json = data;
        ev->priority = static_cast<int>(r->get_int(i, 4));
        ev->created_us = r->get_int(i, 5);
        ev->attempt = static_cast<int>(r->get_int(i, 6)) + 1;
        ev->from_table = true;
        out.push_back(std::move(ev));
    }
    return out;
}

}  // namespace pubsub
