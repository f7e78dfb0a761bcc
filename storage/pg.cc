#include "storage/pg.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <pqxx/connection_base>
#include <pqxx/connectionpolicy>
#include <pqxx/errorhandler>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/notification>
#include <pqxx/result>
#include <pqxx/strconv>
#include <pqxx/transaction>
#include <utility>

// A bound parameter that may be NULL: libpqxx 6.4 has no string_traits for std::optional.
namespace pqxx {
template <>
struct string_traits<std::optional<std::string>> {
    static constexpr const char* name() noexcept { return "std::optional<std::string>"; }
    static constexpr bool has_null() noexcept { return true; }
    static bool is_null(const std::optional<std::string>& v) { return !v; }
    static std::optional<std::string> null() { return std::nullopt; }
    static void from_string(const char s[], std::optional<std::string>& v) { v = s; }
    static std::string to_string(const std::optional<std::string>& v) { return v.value_or(""); }
};
}  // namespace pqxx

namespace pubsub::pg {

namespace {

// connect_direct, remembering libpq's handle for the few raw calls (see pg.h).
class handle_policy final : public pqxx::connectionpolicy {
  public:
    explicit handle_policy(const std::string& opts) : connectionpolicy(opts) {}
    handle do_startconnect(handle orig) override {
        handle_ = normalconnect(orig ? orig : PQconnectdb(options().c_str()));
        return handle_;
    }
    handle do_dropconnect(handle orig) noexcept override {
        handle_ = nullptr;
        return connectionpolicy::do_dropconnect(orig);
    }
    handle do_disconnect(handle orig) noexcept override {
        handle_ = nullptr;
        return connectionpolicy::do_disconnect(orig);
    }
    handle get() const { return handle_; }

  private:
    handle handle_ = nullptr;
};

// pqxx::connection with its policy in reach (basic_connection_base keeps it private).
class pqxx_connection final : public pqxx::connection_base {
  public:
    explicit pqxx_connection(const std::string& opts) : connection_base(policy_), policy_(opts) {
        init();
    }
    ~pqxx_connection() noexcept { close(); }
    PGconn* handle() const { return policy_.get(); }

  private:
    handle_policy policy_;
};

std::string trimmed(std::string why) {
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    return why;
}

// The text after "<LABEL>:  " on the line that starts with it ("" when absent); libpq's error
// text is "ERROR:  primary\nDETAIL:  detail\n...".
std::string field_line(const std::string& text, std::string_view label) {
    for (std::size_t start = 0; start < text.size();) {
        std::size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string_view line(text.data() + start, end - start);
        if (label.empty()) {
            auto colon = line.find(":  ");
            return colon == std::string_view::npos ? std::string(line)
                                                   : std::string(line.substr(colon + 3));
        }
        if (line.substr(0, label.size()) == label && line.substr(label.size(), 3) == ":  ") {
            return std::string(line.substr(label.size() + 3));
        }
        start = end + 1;
    }
    return {};
}

// The SQLSTATE of a libpqxx exception. libpqxx 6.4 raises class 40 and 53300 as exceptions
// that are not sql_error and carry no code: their type names it.
std::string sqlstate_of(const std::exception& e) {
    if (auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) return sql->sqlstate();
    if (dynamic_cast<const pqxx::serialization_failure*>(&e)) return "40001";
    if (dynamic_cast<const pqxx::statement_completion_unknown*>(&e)) return "40003";
    if (dynamic_cast<const pqxx::deadlock_detected*>(&e)) return "40P01";
    if (dynamic_cast<const pqxx::transaction_rollback*>(&e)) return "40000";
    if (dynamic_cast<const pqxx::too_many_connections*>(&e)) return "53300";
    return {};
}

}  // namespace

struct connection::impl {
    explicit impl(const std::string& dsn) : conn(dsn) {}
    pqxx_connection conn;
    // Quiet NOTICEs such as "relation already exists, skipping" from idempotent migrations.
    pqxx::quiet_errorhandler quiet{conn};
    std::unique_ptr<pqxx::work> work;  // the open pg::transaction, if any

    // Hands what libpqxx gives it to take_notifications()'s caller.
    class receiver final : public pqxx::notification_receiver {
      public:
        receiver(impl& home, const std::string& channel)
            : notification_receiver(home.conn, channel), home_(home) {}
        void operator()(const std::string& payload, int) override {
            if (home_.sink) (*home_.sink)(notification{channel(), payload});
        }

      private:
        impl& home_;
    };
    const std::function<void(const notification&)>* sink = nullptr;  // during take_notifications
    std::vector<std::unique_ptr<receiver>> receivers;  // destroyed first: they UNLISTEN

    // f(tx) in the open transaction, or else in a nontransaction of its own.
    template <class F>
    auto run(F&& f) {
        if (work) return f(static_cast<pqxx::transaction_base&>(*work));
        pqxx::nontransaction tx(conn);
        return f(static_cast<pqxx::transaction_base&>(tx));
    }
};

query_result::query_result() = default;
query_result::query_result(pqxx::result r) : r_(std::make_unique<pqxx::result>(std::move(r))) {}
query_result::query_result(query_result&&) noexcept = default;
query_result& query_result::operator=(query_result&&) noexcept = default;
query_result::~query_result() = default;

int query_result::rows() const { return r_ ? static_cast<int>(r_->size()) : 0; }
int query_result::columns() const { return r_ ? static_cast<int>(r_->columns()) : 0; }
bool query_result::is_null(int row, int col) const { return (*r_)[row][col].is_null(); }

std::string_view query_result::get(int row, int col) const {
    const pqxx::field f = (*r_)[row][col];
    return {f.c_str(), f.size()};
}

std::optional<std::string> query_result::get_opt(int row, int col) const {
    if (is_null(row, col)) return std::nullopt;
    return std::string(get(row, col));
}

std::int64_t query_result::get_int(int row, int col) const {
    if (is_null(row, col)) return 0;
    return std::strtoll((*r_)[row][col].c_str(), nullptr, 10);
}

int query_result::column_index(const char* name) const {
    if (!r_) return -1;
    try {
        return static_cast<int>(r_->column_number(name));
    } catch (const pqxx::argument_error&) {
        return -1;
    }
}

std::string_view query_result::name(int col) const { return r_->column_name(col); }

bool query_result::is_json(int col) const {
    const pqxx::oid t = r_->column_type(col);
    return t == 114 || t == 3802;  // json, jsonb (pg_type.dat)
}

connection::connection(std::unique_ptr<impl> c) : c_(std::move(c)) {}
connection::connection(connection&&) noexcept = default;
connection& connection::operator=(connection&&) noexcept = default;
connection::~connection() = default;

result<connection> connection::open(const std::string& dsn) {
    try {
        auto c = std::make_unique<impl>(dsn);
        // A lost connection stays lost (is_ok() false) until its owner opens a new one, as
        // with libpq; libpqxx would otherwise reconnect behind the caller's back.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
        c->conn.inhibit_reactivation(true);
#pragma GCC diagnostic pop
        // No JIT: our statements are short, and the planner overestimates some of them by
        // orders of magnitude (a search's id ranges are parameters it cannot see), so past
        // jit_above_cost it spent 30 to 60 ms compiling a plan that runs in 5
        // (bench/RESULTS.md, the read side at 10,000,000 events). A server without the
        // setting just refuses it.
        PQclear(PQexec(c->conn.handle(), "SET jit = off"));
        return connection(std::move(c));
    } catch (const std::bad_alloc&) {
        return status::error("out of memory connecting to PostgreSQL");
    } catch (const std::exception& e) {
        return status::error("cannot connect to PostgreSQL (" + redact_dsn(dsn) +
                             "): " + trimmed(e.what()));
    }
}

bool connection::is_ok() const {
    return c_ && c_->conn.handle() && PQstatus(c_->conn.handle()) == CONNECTION_OK;
}
pg_conn* connection::raw() { return c_ ? c_->conn.handle() : nullptr; }
int connection::socket() const { return c_ ? c_->conn.sock() : -1; }

bool connection::in_transaction() const {
    return is_ok() && PQtransactionStatus(c_->conn.handle()) != PQTRANS_IDLE;
}

void connection::read_idle_input() {
    if (!c_) return;
    // Twice: the first read takes the server's farewell message, the second its EOF.
    for (int i = 0; i < 2; ++i) {
        try {
            c_->conn.get_notifs();
        } catch (const std::exception&) {
            return;
        }
    }
}

std::string connection::last_error() const {
    PGconn* h = c_ ? c_->conn.handle() : nullptr;
    return h ? trimmed(PQerrorMessage(h)) : "no connection";
}

std::string connection::failure(const std::string& message, const std::string& sqlstate) {
    last_sqlstate_ = sqlstate;
    last_server_error_.clear();
    std::string why = trimmed(message);
    if (!sqlstate.empty()) {
        if (std::string primary = field_line(why, ""); !primary.empty()) {
            last_server_error_ = primary;
            if (std::string detail = field_line(why, "DETAIL"); !detail.empty()) {
                last_server_error_ += " (" + detail + ")";
            }
            last_server_error_ += " (SQLSTATE " + sqlstate + ")";
        }
    }
    return why.empty() ? last_error() : why;
}

// libpqxx 6.4 leaks the PGresult of a statement run on a connection that is already broken
// (make_result asks the dead connection for its encoding and throws before it owns the result),
// so a connection known to be lost is reported here without running anything.
status connection::lost() { return status::error(failure("connection lost: " + last_error(), "")); }

status connection::exec(const std::string& sql) {
    if (!is_ok()) return lost();
    try {
        c_->run([&](pqxx::transaction_base& tx) { tx.exec(sql); });
        return status();
    } catch (const std::exception& e) {
        return status::error(failure(e.what(), sqlstate_of(e)));
    }
}

result<query_result> connection::query(const std::string& sql,
                                       const std::vector<std::optional<std::string>>& params) {
    if (!is_ok()) return lost();
    try {
        return c_->run([&](pqxx::transaction_base& tx) {
            return query_result(tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params)));
        });
    } catch (const std::exception& e) {
        return status::error(failure(e.what(), sqlstate_of(e)));
    }
}

status connection::listen(const std::string& channel) {
    for (const auto& r : c_->receivers) {
        if (r->channel() == channel) return status();
    }
    try {
        c_->receivers.push_back(std::make_unique<impl::receiver>(*c_, channel));
        return status();
    } catch (const std::exception& e) {
        return status::error(failure(e.what(), sqlstate_of(e)));
    }
}

status connection::take_notifications(const std::function<void(const notification&)>& f) {
    c_->sink = &f;
    try {
        c_->conn.get_notifs();
    } catch (const std::exception& e) {
        c_->sink = nullptr;
        return status::error(failure(e.what(), sqlstate_of(e)));
    }
    c_->sink = nullptr;
    return is_ok() ? status() : status::error(last_error());
}

status connection::copy_in(const std::string& copy_sql, std::string_view data) {
    PGconn* h = raw();
    auto fail = [&](PGresult* r) {
        const char* code = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
        std::string why = r ? PQresultErrorMessage(r) : "";
        return failure(why.empty() ? last_error() : why, code ? code : "");
    };
    PGresult* r = PQexec(h, copy_sql.c_str());
    if (!r || PQresultStatus(r) != PGRES_COPY_IN) {
        std::string why = fail(r);
        PQclear(r);
        return status::error(why);
    }
    PQclear(r);
    // Send in chunks: libpq buffers, and very large single calls only add a copy.
    constexpr std::size_t chunk = 1 << 20;
    for (std::size_t off = 0; off < data.size(); off += chunk) {
        auto n = std::min(chunk, data.size() - off);
        if (PQputCopyData(h, data.data() + off, static_cast<int>(n)) != 1) {
            last_sqlstate_.clear();
            last_server_error_.clear();
            return status::error("COPY send failed: " + last_error());
        }
    }
    if (PQputCopyEnd(h, nullptr) != 1) {
        last_sqlstate_.clear();
        last_server_error_.clear();
        return status::error("COPY end failed: " + last_error());
    }
    status out;
    while (PGresult* end = PQgetResult(h)) {
        if (PQresultStatus(end) != PGRES_COMMAND_OK && out.ok()) out = status::error(fail(end));
        PQclear(end);
    }
    return out;
}

result<transaction> transaction::begin(connection& c) {
    if (!c.c_ || c.c_->work) return status::error("a transaction is already open");
    if (!c.is_ok()) return c.lost();
    try {
        c.c_->work = std::make_unique<pqxx::work>(c.c_->conn);
        return transaction(c);
    } catch (const std::exception& e) {
        return status::error(c.failure(e.what(), sqlstate_of(e)));
    }
}

transaction::~transaction() {
    // pqxx::work's destructor rolls back, and keeps any error of that to itself.
    if (c_) c_->c_->work.reset();
}

status transaction::commit() {
    if (!c_) return status::error("the transaction is over");
    connection& c = *std::exchange(c_, nullptr);
    std::unique_ptr<pqxx::work> work = std::move(c.c_->work);
    try {
        work->commit();
        return status();
    } catch (const std::exception& e) {
        return status::error(c.failure(e.what(), sqlstate_of(e)));
    }
}

std::string connection::quote_identifier(std::string_view id) const {
    try {
        return c_->conn.quote_name(std::string(id));
    } catch (const std::exception&) {
        return "\"\"";
    }
}

std::string connection::quote_literal(std::string_view value) const {
    try {
        return c_->conn.quote(std::string(value));
    } catch (const std::exception&) {
        return "''";
    }
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
                case '\\':
                    esc = '\\';
                    break;
                case '\t':
                    esc = 't';
                    break;
                case '\n':
                    esc = 'n';
                    break;
                case '\r':
                    esc = 'r';
                    break;
                default:
                    continue;
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

void append_array_element(std::string& out, std::string_view s) {
    out += '"';
    for (char ch : s) {
        if (ch == '"' || ch == '\\') out += '\\';
        out += ch;
    }
    out += '"';
}

}  // namespace pubsub::pg
