#include "storage/delivery_store.h"

namespace pubsub {

result<std::vector<delivery_record>> load_delivery_records(pg::connection& conn,
                                                           const std::string& schema,
                                                           const std::vector<event_id>& ids) {
    std::vector<delivery_record> out;
    if (ids.empty()) return out;
    const std::string array = pg::bigint_array(ids);
    auto us = [](const char* col) {
        return std::string("coalesce((extract(epoch FROM ") + col + ") * 1000000)::bigint, 0)";
    };
    auto r = conn.query(
        "SELECT event_id, subscriber_id, subscriber_name, status, attempts, "
        "retry_base, coalesce(last_error, ''), " +
            us("next_attempt_at") + ", " + us("started_at") + ", " + us("finished_at") +
            ", version FROM " + conn.quote_identifier(schema) +
            ".tpubsub_deliveries WHERE event_id = ANY($1::bigint[])",
        {array});
    if (!r.ok()) return status::error("cannot load delivery rows: " + r.message());
    out.reserve(static_cast<std::size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) {
        delivery_record d;
        d.event = r->get_int(i, 0);
        d.subscriber_id = r->get_int(i, 1);
        d.subscriber_name = r->get(i, 2);
        d.status = parse_delivery_status(r->get(i, 3)).value_or(delivery_status::pending);
        d.attempts = static_cast<int>(r->get_int(i, 4));
        d.retry_base = static_cast<int>(r->get_int(i, 5));
        d.last_error = r->get(i, 6);
        d.next_attempt_us = r->get_int(i, 7);
        d.started_us = r->get_int(i, 8);
        d.finished_us = r->get_int(i, 9);
        d.version = static_cast<std::uint32_t>(r->get_int(i, 10));
        out.push_back(std::move(d));
    }
    return out;
}

}  // namespace pubsub
