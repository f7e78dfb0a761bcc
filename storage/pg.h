// Thin RAII over libpq: a connection, a result, parameterised statements, COPY.
//
// Why libpq and not libpqxx: the write-behind needs COPY, pipelining and direct control of the
// socket for Asio, and libpqxx 6 hides those; everything here is a few lines over libpq.
// Not thread-safe: one pg_connection belongs to one thread at a time (libpq's rule).
// Errors are values (status / result), never exceptions.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

struct pg_conn;
struct pg_result;

namespace pubsub::pg {

// One query result. Values are text; null is reported by is_null().
class query_result {
  public:
    query_result() = default;
    explicit query_result(pg_result* r);
    int rows() const;
    int columns() const;
    bool is_null(int row, int col) const;
    std::string_view get(int row, int col) const;  // "" for null
    std::optional<std::string> get_opt(int row, int col) const;
    std::int64_t get_int(int row, int col) const;  // 0 for null
    int column_index(const char* name) const;      // -1 when absent
    std::string_view name(int col) const;
    bool is_json(int col) const;  // json or jsonb column (for JSON output)

  private:
    struct deleter {
        void operator()(pg_result* r) const;
    };
    std::unique_ptr<pg_result, deleter> r_;
};

class connection {
  public:
    // Connects synchronously; the error names the DSN (without password) and libpq's reason.
    static result<connection> open(const std::string& dsn);

    connection(connection&&) noexcept = default;
    connection& operator=(connection&&) noexcept = default;
    ~connection();

    bool is_ok() const;  // false after the server went away
    pg_conn* raw() { return c_.get(); }
    int socket() const;

    // A statement without parameters (may hold several statements).
    status exec(const std::string& sql);
    // One statement with text parameters ($1, $2, ...); nullopt binds NULL.
    result<query_result> query(const std::string& sql,
                               const std::vector<std::optional<std::string>>& params = {});

    // COPY ... FROM STDIN: sends the whole text-format payload, then ends the copy.
    status copy_in(const std::string& copy_sql, std::string_view data);

    std::string quote_identifier(std::string_view id) const;
    std::string quote_literal(std::string_view value) const;
    std::string last_error() const;
    // SQLSTATE of the last failed exec/query/copy_in ("" when the server sent none, e.g. the
    // connection was lost or libpq itself failed); what storage/pg_errors.h classifies.
    const std::string& last_sqlstate() const { return last_sqlstate_; }
    // The same failure as one line: the server's primary message, its detail if any, and the
    // SQLSTATE ("value too long for type ... (SQLSTATE 22001)"); "" when the server sent none.
    const std::string& last_server_error() const { return last_server_error_; }

  private:
    struct deleter {
        void operator()(pg_conn* c) const;
    };
    explicit connection(pg_conn* c) : c_(c) {}
    // The message of a failed result r (or the connection's), remembering its SQLSTATE.
    std::string failure(pg_result* r);
    std::unique_ptr<pg_conn, deleter> c_;
    std::string last_sqlstate_;
    std::string last_server_error_;
};

// Appends s to out escaped for COPY text format (backslash, tab, newline, carriage return).
void append_copy_text(std::string& out, std::string_view s);

// Formats microseconds since the Unix epoch as a UTC timestamptz literal.
void append_timestamp(std::string& out, std::int64_t us);

// Strips password=... from a DSN for logs and error messages.
std::string redact_dsn(std::string_view dsn);

// A bigint[] literal for a $n::bigint[] parameter: "{1,2,3}".
std::string bigint_array(const std::vector<std::int64_t>& ids);

}  // namespace pubsub::pg
