#include "tools/admin/pg_pool.h"

namespace pubsub::admin {

pg_pool::lease::~lease() {
    if (pool_) pool_->give_back(conn_);
}

pg_pool::pg_pool(std::string dsn, int size) : dsn_(std::move(dsn)), size_(size < 1 ? 1 : size) {}

result<pg_pool::lease> pg_pool::acquire() {
    std::unique_lock lk(mu_);
    free_cv_.wait(lk, [&] { return lent_ < size_; });
    ++lent_;
    if (!idle_.empty()) {
        pg::connection c = std::move(idle_.back());
        idle_.pop_back();
        if (c.is_ok()) return lease(*this, std::move(c));
    }
    lk.unlock();
    auto c = pg::connection::open(dsn_);
    if (c.ok()) return lease(*this, std::move(*c));
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
