#include "storage/audit_log.h"

#include <pwd.h>
#include <unistd.h>

#include <algorithm>

namespace pubsub {

status record_audit(pg::connection& c, const std::string& schema, const audit_entry& e) {
    auto r = record_audit_id(c, schema, e);
    return r.ok() ? status() : r.error();
}

result<std::int64_t> record_audit_id(pg::connection& c, const std::string& schema,
                                     const audit_entry& e) {
    auto r =
        c.query("INSERT INTO " + c.quote_identifier(schema) +
                    ".tpubsub_audit (actor, action, target, rows, detail) "
                    "VALUES ($1, $2, $3, $4::bigint, $5::jsonb) RETURNING audit_id",
                {e.actor, e.action, e.target, std::to_string(e.rows),
                 e.detail_json.empty() ? std::nullopt : std::optional<std::string>(e.detail_json)});
    if (!r.ok()) return r.error();
    return r->get_int(0, 0);
}

status add_audit_rows(pg::connection& c, const std::string& schema, std::int64_t audit_id,
                      std::int64_t rows) {
    auto r = c.query("UPDATE " + c.quote_identifier(schema) +
                         ".tpubsub_audit SET rows = rows + $2::bigint WHERE audit_id = $1::bigint",
                     {std::to_string(audit_id), std::to_string(rows)});
    return r.ok() ? status() : r.error();
}

result<std::vector<audit_record>> recent_audit(pg::connection& c, const std::string& schema,
                                               int limit) {
    limit = std::clamp(limit, 1, 1000);
    auto r = c.query("SELECT audit_id, to_char(at AT TIME ZONE 'UTC', "
                     "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), actor, action, target, rows, "
                     "coalesce(detail::text, '') FROM " +
                         c.quote_identifier(schema) +
                         ".tpubsub_audit ORDER BY audit_id DESC LIMIT $1::int",
                     {std::to_string(limit)});
    if (!r.ok()) return r.error();
    std::vector<audit_record> out;
    out.reserve(static_cast<std::size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) {
        audit_record a;
        a.audit_id = r->get_int(i, 0);
        a.at = std::string(r->get(i, 1));
        a.entry.actor = std::string(r->get(i, 2));
        a.entry.action = std::string(r->get(i, 3));
        a.entry.target = std::string(r->get(i, 4));
        a.entry.rows = r->get_int(i, 5);
        a.entry.detail_json = std::string(r->get(i, 6));
        out.push_back(std::move(a));
    }
    return out;
}

std::string os_user_actor() {
    const uid_t uid = geteuid();
    passwd pw{};
    passwd* found = nullptr;
    char buf[1024];
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found != nullptr) {
        return found->pw_name;
    }
    return "uid " + std::to_string(uid);
}

}  // namespace pubsub
