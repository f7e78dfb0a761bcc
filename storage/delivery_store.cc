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

namespace {

struct platform_table {
    const char* table;
    const char* column;
};

std::optional<std::pair<int, platform_table>> table_of(job_type t) {
    switch (t) {
        case job_type::import:
            return std::pair{0, platform_table{"timportconfig", "config_id"}};
        case job_type::inbox_processor:
            return std::pair{1, platform_table{"tinboxconfig", "inbox_config_id"}};
        case job_type::report:
            return std::pair{2, platform_table{"treportmanager", "report_id"}};
        default:
            return std::nullopt;
    }
}

}  // namespace

std::string config_check::check(job_type type, std::optional<std::int32_t> config_id) {
    auto which = table_of(type);
    if (!which) return {};
    auto [index, t] = *which;
    std::lock_guard lock(mu_);
    if (!conn_ || !conn_->is_ok()) {
        conn_.reset();
        auto c = pg::connection::open(dsn_);
        if (!c.ok()) return "cannot check config_id: " + c.message();
        conn_.emplace(std::move(*c));
    }
    const std::string name = conn_->quote_identifier(schema_) + "." + t.table;
    auto now = std::chrono::steady_clock::now();
    auto& state = tables_[index];
    if (now - state.checked > std::chrono::seconds(30)) {
        auto r = conn_->query("SELECT to_regclass($1) IS NOT NULL", {name});
        if (!r.ok()) return "cannot check config_id: " + r.message();
        state.exists = r->get(0, 0) == "t";
        state.checked = now;
    }
    if (!state.exists) return {};
    const std::string where = name + "." + t.column;
    if (!config_id)
        return "no config_id, and " + std::string(to_string(type)) + " needs a " + where;
    auto r = conn_->query("SELECT 1 FROM " + name + " WHERE " + t.column + " = $1 LIMIT 1",
                          {std::to_string(*config_id)});
    if (!r.ok()) return "cannot check config_id: " + r.message();
    if (r->rows() == 0) return "config_id " + std::to_string(*config_id) + " not found in " + where;
    return {};
}

}  // namespace pubsub
