// The pg layer: a connection, a result, parameterised statements, COPY; on libpqxx.
//
// Connections, transactions, statements and parameterised queries go through libpqxx (its
// exceptions become status values here). Raw libpq remains where libpqxx 6.4 cannot do what is
// needed:
// - copy_in: libpqxx 6.4 COPYs a row per call (tablewriter, deprecated; stream_to escapes each
//   field itself); 200,000 pre-escaped rows (24 MB) cost the writer 24 ms of CPU so, 5-9 ms as
//   one buffer in 1 MiB PQputCopyData calls (wall time alike, the server's).
// - is_ok(), last_error() and in_transaction() read PQstatus, PQerrorMessage and
//   PQtransactionStatus: libpqxx 6.4 keeps the last two private.
// - raw() hands libpq's handle to tests and to the benchmark's plain-libpq baseline.
// Notifications go through libpqxx (listen(), take_notifications(); socket() for a poll()).
// Not thread-safe: one connection belongs to one thread at a time (libpq's rule).
// Errors are values (status / result), never exceptions.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

struct pg_conn;

namespace pqxx {
class result;
}

namespace pubsub::pg {

// One query result. Values are text; null is reported by is_null().
class query_result {
  public:
    query_result();
    explicit query_result(pqxx::result r);
    query_result(query_result&&) noexcept;
    query_result& operator=(query_result&&) noexcept;
    ~query_result();
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
    std::unique_ptr<pqxx::result> r_;
};

struct notification {
    std::string channel, payload;
};

class connection {
  public:
    // Connects synchronously; the error names the DSN (without password) and libpq's reason.
    static result<connection> open(const std::string& dsn);

    connection(connection&&) noexcept;
    connection& operator=(connection&&) noexcept;
    ~connection();

    bool is_ok() const;  // false after the server went away
    pg_conn* raw();      // libpq's handle (see above)
    int socket() const;
    bool in_transaction() const;  // inside BEGIN ... COMMIT (or a failed one)
    // Reads what the server sent while the connection sat idle, so that a backend terminated
    // meanwhile shows as !is_ok() before the next query, not as its failure.
    void read_idle_input();

    // A statement without parameters (may hold several statements).
    status exec(const std::string& sql);
    // One statement with text parameters ($1, $2, ...); nullopt binds NULL.
    result<query_result> query(const std::string& sql,
                               const std::vector<std::optional<std::string>>& params = {});

    // LISTEN on channel (a libpqxx notification_receiver; once per channel).
    status listen(const std::string& channel);
    // Never blocks: reads what the socket holds, then calls f for every notification received on
    // a listened channel, one at a time (none is buffered here), those that came in while
    // queries ran included (poll() on socket() does not see those: they are read already).
    // f may query on this connection. An error when the connection is lost.
    status take_notifications(const std::function<void(const notification&)>& f);

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
    friend class transaction;
    struct impl;
    explicit connection(std::unique_ptr<impl> c);
    // The message of a failed statement, remembering its SQLSTATE and server error.
    std::string failure(const std::string& message, const std::string& sqlstate);
    status lost();  // the error for a statement on a connection known to be broken
    std::unique_ptr<impl> c_;
    std::string last_sqlstate_;
    std::string last_server_error_;
};

// One transaction on a connection (libpqxx's pqxx::work): from begin() until commit() or the
// destructor, every exec and query of the connection runs inside it. Destroyed uncommitted, it
// rolls back. At most one at a time per connection; same thread as the connection.
class transaction {
  public:
    [[nodiscard]] static result<transaction> begin(connection& c);
    transaction(transaction&& o) noexcept : c_(o.c_) { o.c_ = nullptr; }
    transaction& operator=(transaction&&) = delete;
    ~transaction();
    // COMMIT. A transaction a failed statement aborted is rolled back by the server (as with a
    // plain COMMIT): the caller returns on that statement's error instead of committing.
    [[nodiscard]] status commit();

  private:
    explicit transaction(connection& c) : c_(&c) {}
    connection* c_;  // null once committed, rolled back or moved from
};

// Appends s to out escaped for COPY text format (backslash, tab, newline, carriage return).
void append_copy_text(std::string& out, std::string_view s);

// Formats microseconds since the Unix epoch as a UTC timestamptz literal.
void append_timestamp(std::string& out, std::int64_t us);

// Strips password=... from a DSN for logs and error messages.
std::string redact_dsn(std::string_view dsn);

// A bigint[] literal for a $n::bigint[] parameter: "{1,2,3}".
std::string bigint_array(const std::vector<std::int64_t>& ids);

// Appends s as one element of an array literal in PostgreSQL's text form ('{"a","b"}'): quoted,
// with `"` and `\` escaped, so commas and braces in s stay inside the element. For arrays sent
// as one text parameter ($1::text[]).
void append_array_element(std::string& out, std::string_view s);

}  // namespace pubsub::pg
