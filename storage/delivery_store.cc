#include "storage/delivery_store.h"

namespace pubsub {

std::string delivery_columns(std::string_view alias) {
    const std::string a(alias);
    auto us = [&](const char* col) {
        return "coalesce((extract(epoch FROM " + a + "." + col + ") * 1000000)::bigint, 0)";
    };
    return a + ".event_id, " + a + ".subscriber_id, " + a + ".subscriber_name, " + a + ".status, " +
           a + ".attempts, " + a + ".retry_base, coalesce(" + a + ".last_error, ''), " +
           us("next_attempt_at") + ", " + us("started_at") + ", " + us("finished_at") + ", " + a +
           ".version";
}

delivery_record read_delivery_record(const pg::query_result& r, int row, int first) {
    delivery_record d;
    d.event = r.get_int(row, first);
    d.subscriber_id = r.get_int(row, first + 1);
    d.subscriber_name = r.get(row, first + 2);
    d.status = parse_delivery_status(r.get(row, first + 3)).value_or(delivery_status::pending);
    d.attempts = static_cast<int>(r.get_int(row, first + 4));
    d.retry_base = static_cast<int>(r.get_int(row, first + 5));
    d.last_error = r.get(row, first + 6);
    d.next_attempt_us = r.get_int(row, first + 7);
    d.started_us = r.get_int(row, first + 8);
    d.finished_us = r.get_int(row, first + 9);
    d.version = static_cast<std::uint32_t>(r.get_int(row, first + 10));
    return d;
}

result<std::vector<delivery_record>> load_delivery_records(pg::connection& conn,
                                                           const std::string& schema,
                                                           const std::vector<event_id>& ids) {
    std::vector<delivery_record> out;
    if (ids.empty()) return out;
    auto r =
        conn.query("SELECT " + delivery_columns("d") + " FROM " + conn.quote_identifier(schema) +
                       ".tpubsub_deliveries d WHERE d.event_id = ANY($1::bigint[])",
                   {pg::bigint_array(ids)});
    if (!r.ok()) return status::error("cannot load delivery rows: " + r.message());
    out.reserve(static_cast<std::size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) out.push_back(read_delivery_record(*r, i, 0));
    return out;
}

}  // namespace pubsub
