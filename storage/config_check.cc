#include "storage/config_check.h"

namespace pubsub {

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

status cannot_check(const std::string& why) {
    return status::error("cannot check config_id: " + why);
}

}  // namespace

result<pg::connection> config_check::take() {
    {
        std::lock_guard lock(mu_);
        if (!idle_.empty()) {
            pg::connection c = std::move(idle_.back());
            idle_.pop_back();
            return c;
        }
    }
    return pg::connection::open(dsn_);
}

void config_check::give_back(pg::connection c) {
    if (!c.is_ok()) return;
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(c));
}

result<bool> config_check::table_exists(pg::connection& c, int index, const std::string& name) {
    const auto now = std::chrono::steady_clock::now();
    {
        std::lock_guard lock(mu_);
        const table_state& state = tables_[index];
        if (now - state.checked <= std::chrono::seconds(30)) return state.exists;
    }
    auto r = c.query("SELECT to_regclass($1) IS NOT NULL", {name});
    if (!r.ok()) return r.error();
    const bool exists = r->get(0, 0) == "t";
    std::lock_guard lock(mu_);
    tables_[index] = {exists, now};
    return exists;
}

status config_check::check(job_type type, std::optional<std::int32_t> config_id) {
    auto which = table_of(type);
    if (!which) return {};
    auto [index, t] = *which;
    auto c = take();
    if (!c.ok()) return cannot_check(c.message());
    const std::string name = c->quote_identifier(schema_) + "." + t.table;
    status out;
    if (auto exists = table_exists(*c, index, name); !exists.ok()) {
        out = cannot_check(exists.message());
    } else if (*exists) {
        const std::string where = name + "." + t.column;
        if (!config_id) {
            out = status::error("no config_id, and " + std::string(to_string(type)) + " needs a " +
                                where);
        } else if (auto r =
                       c->query("SELECT 1 FROM " + name + " WHERE " + t.column + " = $1 LIMIT 1",
                                {std::to_string(*config_id)});
                   !r.ok()) {
            out = cannot_check(r.message());
        } else if (r->rows() == 0) {
            out =
                status::error("config_id " + std::to_string(*config_id) + " not found in " + where);
        }
    }
    give_back(std::move(*c));
    return out;
}

}  // namespace pubsub
