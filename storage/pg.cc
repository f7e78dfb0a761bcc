#include "storage/pg.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <ctime>

namespace pubsub::pg {

void query_result::deleter::operator()(pg_result* r) const { PQclear(r); }
void connection::deleter::operator()(pg_conn* c) const { PQfinish(c); }

query_result::query_result(pg_result* r) : r_(r) {}
int query_result::rows() const { return r_ ? PQntuples(r_.get()) : 0; }
int query_result::columns() const { return r_ ? PQnfields(r_.get()) : 0; }
bool query_result::is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }

std::string_view query_result::get(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col),
            static_cast<std::size_t>(PQgetlength(r_.get(), row, col))};
}

std::optional<std::string> query_result::get_opt(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return std::string(get(row, col));
}

std::int64_t query_result::get_int(int row, int col) const {
    if (is_null(row, col)) return 0;
    return std::strtoll(PQgetvalue(r_.get(), row, col), nullptr, 10);
}

int query_result::column_index(const char* name) const { return PQfnumber(r_.get(), name); }
std::string_view query_result::name(int col) const { return PQfname(r_.get(), col); }
bool query_result::is_json(int col) const {
    Oid t = PQftype(r_.get(), col);
    return t == 114 || t == 3802;  // json, jsonb (pg_type.dat)
}

result<connection> connection::open(const std::string& dsn) {
    pg_conn* c = PQconnectdb(dsn.c_str());
    if (c == nullptr) return status::error("out of memory connecting to PostgreSQL");
    if (PQstatus(c) != CONNECTION_OK) {
        std::string why = PQerrorMessage(c);
        PQfinish(c);
        while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
        return status::error("cannot connect to PostgreSQL (" + redact_dsn(dsn) + "): " + why);
    }
    // Quiet NOTICEs such as "relation already exists, skipping" from idempotent migrations.
    PQsetNoticeProcessor(
        c, [](void*, const char*) {}, nullptr);
    return connection(c);
}

connection::~connection() = default;

bool connection::is_ok() const { return c_ && PQstatus(c_.get()) == CONNECTION_OK; }
int connection::socket() const { return PQsocket(c_.get()); }

std::string connection::last_error() const {
    std::string why = c_ ? PQerrorMessage(c_.get()) : "no connection";
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return why;
}

static std::string result_error(pg_result* r, const connection& c) {
    std::string why = r ? PQresultErrorMessage(r) : "";
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return why.empty() ? c.last_error() : why;
}

std::string connection::failure(pg_result* r) {
    const char* code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
    const char* primary = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
    const char* detail = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_DETAIL) : nullptr;
    last_sqlstate_ = code ? code : "";
    last_server_error_.clear();
    if (code && primary) {
        last_server_error_ = primary;
        if (detail) last_server_error_ += std::string(" (") + detail + ")";
        last_server_error_ += " (SQLSTATE " + last_sqlstate_ + ")";
    }
    return result_error(r, *this);
}

status connection::exec(const std::string& sql) {
    pg_result* r = PQexec(c_.get(), sql.c_str());
    auto st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        std::string why = failure(r);
        PQclear(r);
        return status::error(why);
    }
    PQclear(r);
    return status();
}

result<query_result> connection::query(const std::string& sql,
                                       const std::vector<std::optional<std::string>>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    pg_result* r = PQexecParams(c_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                                values.data(), nullptr, nullptr, 0);
    auto st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        std::string why = failure(r);
        PQclear(r);
        return status::error(why);
    }
    return query_result(r);
}

status connection::copy_in(const std::string& copy_sql, std::string_view data) {
    pg_result* r = PQexec(c_.get(), copy_sql.c_str());
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
        std::string why = failure(r);
        PQclear(r);
        return status::error(why);
    }
    PQclear(r);
    // Send in chunks: libpq buffers, and very large single calls only add a copy.
    constexpr std::size_t chunk = 1 << 20;
    for (std::size_t off = 0; off < data.size(); off += chunk) {
        auto n = std::min(chunk, data.size() - off);
        if (PQputCopyData(c_.get(), data.data() + off, static_cast<int>(n)) != 1) {
            last_sqlstate_.clear();
            last_server_error_.clear();
            return status::error("COPY send failed: " + last_error());
        }
    }
    if (PQputCopyEnd(c_.get(), nullptr) != 1) {
        last_sqlstate_.clear();
        last_server_error_.clear();
        return status::error("COPY end failed: " + last_error());
    }
    status out;
    while (pg_result* end = PQgetResult(c_.get())) {
        if (PQresultStatus(end) != PGRES_COMMAND_OK && out.ok()) {
            out = status::error(failure(end));
        }
        PQclear(end);
    }
    return out;
}

std::string connection::quote_identifier(std::string_view id) const {
    char* q = PQescapeIdentifier(c_.get(), id.data(), id.size());
    if (!q) return "\"\"";
    std::string out(q);
    PQfreemem(q);
    return out;
}

std::string connection::quote_literal(std::string_view value) const {
    char* q = PQescapeLiteral(c_.get(), value.data(), value.size());
    if (!q) return "''";
    std::string out(q);
    PQfreemem(q);
    return out;
}

void append_copy_text(std::string& out, std::string_view s) {
    // Copy whole runs between the (rare) characters COPY needs escaped, skipping 8 clean bytes
    // at a time: a word is looked at byte by byte only if it may hold a backslash or a byte
    // below 0x0e (tab, newline, carriage return and a few harmless others).
    constexpr std::uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size();) {
        if (i + 8 <= s.size()) {
            std::uint64_t w;
            std::memcpy(&w, s.data() + i, 8);
            const std::uint64_t bs = w ^ (ones * '\\');
            if (((((bs - ones) & ~bs) | ((w - ones * 0x0e) & ~w)) & highs) == 0) {
                i += 8;
                continue;
            }
        }
        for (const std::size_t end = std::min(i + 8, s.size()); i < end; ++i) {
            char esc;
            switch (s[i]) {
                case '\\': esc = '\\'; break;
                case '\t': esc = 't'; break;
                case '\n': esc = 'n'; break;
                case '\r': esc = 'r'; break;
                default: continue;
            }
            out.append(s.data() + start, i - start);
            out += '\\';
            out += esc;
            start = i + 1;
        }
    }
    out.append(s.data() + start, s.size() - start);
}

void append_timestamp(std::string& out, std::int64_t us) {
    std::int64_t secs = us / 1000000;
    std::int64_t frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        --secs;
    }
    // Rows of one batch share their second: format "YYYY-MM-DD HH:MM:SS" once per second
    // per thread, then append the microseconds by hand (snprintf per value was a third of
    // the daemon's CPU per event).
    thread_local std::int64_t cached_secs = -1;
    thread_local char cached[24];
    if (secs != cached_secs) {
        std::time_t t = static_cast<std::time_t>(secs);
        std::tm tm{};
        gmtime_r(&t, &tm);
        std::snprintf(cached, sizeof cached, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        cached_secs = secs;
    }
    out.append(cached, 19);
    char buf[11] = {'.', '0', '0', '0', '0', '0', '0', '+', '0', '0'};
    for (int i = 6; i >= 1; --i) {
        buf[i] = static_cast<char>('0' + frac % 10);
        frac /= 10;
    }
    out.append(buf, 10);
}

std::string redact_dsn(std::string_view dsn) {
    std::string out(dsn);
    auto pos = out.find("password=");
    if (pos != std::string::npos) {
        auto end = out.find(' ', pos);
        out.replace(pos, (end == std::string::npos ? out.size() : end) - pos, "password=***");
    }
    return out;
}

std::string bigint_array(const std::vector<std::int64_t>& ids) {
    std::string out = "{";
    for (std::size_t i = 0; i < ids.size(); ++i) {
        if (i > 0) out += ',';
        out += std::to_string(ids[i]);
    }
    return out + '}';
}

}  // namespace pubsub::pg
