// pg_pool: a few pg::connection for the HTTP threads (never the router's or the write-behind's).
//
// acquire() hands out a connection (opening it lazily, or again after the server dropped it),
// blocking while all `size` are lent; the lease gives it back when destroyed. A connection
// that reports !is_ok() is discarded on return. Connections open with connect_timeout=3 (unless
// the DSN sets one) and statement_timeout=15s. Thread-safe (a mutex and a condition variable;
// the pool is on the operator path, not the event path). Errors are values.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "storage/pg.h"

namespace pubsub::admin {

class pg_pool {
  public:
    class lease {
      public:
        lease(pg_pool& p, pg::connection c) : pool_(&p), conn_(std::move(c)) {}
        lease(lease&& o) noexcept : pool_(o.pool_), conn_(std::move(o.conn_)) { o.pool_ = nullptr; }
        lease& operator=(lease&&) = delete;
        ~lease();
        pg::connection& operator*() { return *conn_; }
        pg::connection* operator->() { return &*conn_; }

      private:
        pg_pool* pool_;
        std::optional<pg::connection> conn_;
    };

    pg_pool(std::string dsn, int size);

    // A connection, or why none could be opened.
    result<lease> acquire();
    std::uint64_t errors() const;  // connection failures so far

  private:
    void give_back(std::optional<pg::connection>& c);

    std::string dsn_;
    int size_;
    mutable std::mutex mu_;
    std::condition_variable free_cv_;
    std::vector<pg::connection> idle_;  // guarded by mu_
    int lent_ = 0;                      // guarded by mu_
    std::uint64_t errors_ = 0;          // guarded by mu_
};

}  // namespace pubsub::admin
