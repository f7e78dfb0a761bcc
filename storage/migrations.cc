// apply_migrations: see migrations.h. One transaction per file, serialised by an advisory lock.
#include "storage/migrations.h"

#include <cctype>

#include "storage/database_encoding.h"

namespace pubsub {

namespace {

// pg_advisory_xact_lock key shared by every pubsub migration, whatever the schema ("pubsubmg").
constexpr const char* k_lock_key = "8103520566001298279";

bool valid_schema_name(const std::string& s) {
    if (s.empty() || s.size() > 63) return false;
    if (!(std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (!(std::islower(u) || std::isdigit(u) || c == '_')) return false;
    }
    return true;
}

// The leading number of "001_events.sql", or -1.
int version_of(const char* name) {
    int v = 0;
    const char* p = name;
    for (; std::isdigit(static_cast<unsigned char>(*p)); ++p) v = v * 10 + (*p - '0');
    return p == name ? -1 : v;
}

std::string with_schema(std::string sql, const std::string& quoted) {
    const std::string placeholder = "{{schema}}";
    for (auto pos = sql.find(placeholder); pos != std::string::npos;
         pos = sql.find(placeholder, pos + quoted.size())) {
        sql.replace(pos, placeholder.size(), quoted);
    }
    return sql;
}

// Inside an open transaction: applies one file unless recorded; returns whether it applied.
result<bool> apply_in_transaction(pg::connection& conn, const std::string& q,
                                  const migration_file& f, int version) {
    if (auto st = conn.exec("SELECT pg_advisory_xact_lock(" + std::string(k_lock_key) + ")");
        !st.ok()) {
        return st;
    }
    auto st = conn.exec("CREATE SCHEMA IF NOT EXISTS " + q + "; CREATE TABLE IF NOT EXISTS " + q +
                        ".tpubsub_migrations (version int PRIMARY KEY, name text NOT NULL, "
                        "applied_at timestamptz NOT NULL DEFAULT now())");
    if (!st.ok()) return st;
    auto seen = conn.query("SELECT 1 FROM " + q + ".tpubsub_migrations WHERE version = $1",
                           {std::to_string(version)});
    if (!seen) return seen.error();
    if (seen->rows() > 0) return false;
    if (st = conn.exec(with_schema(f.sql, q)); !st.ok()) return st;
    auto rec =
        conn.query("INSERT INTO " + q + ".tpubsub_migrations (version, name) VALUES ($1, $2)",
                   {std::to_string(version), std::string(f.name)});
    if (!rec) return rec.error();
    return true;
}

result<bool> apply_one(pg::connection& conn, const std::string& schema, const std::string& q,
                       const migration_file& f) {
    const int version = version_of(f.name);
    if (version < 0) {
        return status::error(std::string("migration file ") + f.name +
                             " does not start with a version number");
    }
    if (auto st = conn.exec("BEGIN"); !st.ok()) return st;
    auto r = apply_in_transaction(conn, q, f, version);
    if (r) {
        if (auto st = conn.exec("COMMIT"); !st.ok()) r = st;
    }
    if (!r) {
        (void)conn.exec("ROLLBACK");
        return status::error("migration " + std::string(f.name) + " in schema " + schema +
                             " failed: " + r.message());
    }
    return r;
}

}  // namespace

result<int> apply_migrations(pg::connection& conn, const std::string& schema) {
    if (!valid_schema_name(schema)) {
        return status::error("invalid schema name '" + schema +
                             "': use lower-case letters, digits and _, not starting with a digit "
                             "(^[a-z_][a-z0-9_]*$, at most 63 characters)");
    }
    if (!conn.is_ok()) return status::error("cannot migrate: " + conn.last_error());
    if (conn.in_transaction()) {
        return status::error("cannot migrate schema " + schema +
                             ": the connection is inside a transaction");
    }
    // SPEC 7.1: the doors accept UTF-8 and refuse only what a UTF8 database cannot store.
    if (status s = check_database_encoding(conn); !s.ok()) return s;
    const std::string q = conn.quote_identifier(schema);
    int applied = 0;
    for (const auto& f : embedded_migrations()) {
        auto r = apply_one(conn, schema, q, f);
        if (!r) return r.error();
        if (*r) ++applied;
    }
    return applied;
}

}  // namespace pubsub
