#include "admin/pg_pool.h"

namespace pubsub::admin {

pg_pool::lease::~lease() {
    if (pool_) pool_->give_back(conn_);
}

namespace {

// The DSN with connect_timeout=3 unless it sets one: a /healthz against an unreachable server
// must answer, not hang on TCP's timeout.
std::string with_connect_timeout(const std::string& dsn) {
    if (dsn.find("connect_timeout") != std::string::npos) return dsn;
    bool uri = dsn.rfind("postgres://", 0) == 0 || dsn.rfind("postgresql://", 0) == 0;
    if (!uri) return dsn + (dsn.empty() ? "" : " ") + "connect_timeout=3";
    return dsn + (dsn.find('?') == std::string::npos ? "?" : "&") + "connect_timeout=3";
}

}  // namespace

pg_pool::pg_pool(std::string dsn, int size)
    : dsn_(with_connect_timeout(dsn)), size_(size < 1 ? 1 : size) {}

result<pg_pool::lease> pg_pool::acquire() {
    std::unique_lock lk(mu_);
    free_cv_.wait(lk, [&] { return lent_ < size_; });
    ++lent_;
    if (!idle_.empty()) {
        pg::connection c = std::move(idle_.back());
        idle_.pop_back();
        // A backend terminated while the connection sat idle (restart, pg_terminate_backend)
        // then shows as a bad connection here, and a fresh one is opened, instead of the
        // request failing on it.
        c.read_idle_input();
        if (c.is_ok()) return lease(*this, std::move(c));
    }
    lk.unlock();
    auto c = pg::connection::open(dsn_);
    // An operator's query never holds an HTTP thread (and its row locks) for long.
    if (c.ok() && c->exec("SET statement_timeout = '15s'").ok()) return lease(*this, std::move(*c));
    if (c.ok()) c = status::error("cannot set statement_timeout: " + c->last_error());
    lk.lock();
    --lent_;
    ++errors_;
    free_cv_.notify_one();
    return c.error();
}

void pg_pool::give_back(std::optional<pg::connection>& c) {
    std::lock_guard lk(mu_);
    --lent_;
    if (c && c->is_ok()) idle_.push_back(std::move(*c));
    free_cv_.notify_one();
}

std::uint64_t pg_pool::errors() const {
    std::lock_guard lk(mu_);
    return errors_;
}

}  // namespace pubsub::admin
