#include "admin/db_probe.h"

#include "storage/status_queries.h"

namespace pubsub::admin {

db_reading db_probe::read() {
    std::lock_guard lk(mu_);
    auto now = std::chrono::steady_clock::now();
    if (!last_ || now - taken_ >= max_age_) {
        last_ = query();
        taken_ = std::chrono::steady_clock::now();
    }
    return *last_;
}

db_reading db_probe::query() {
    db_reading r;
    auto c = pool_.acquire();
    if (!c.ok()) {
        r.error = "database unreachable: " + c.message();
        return r;
    }
    auto age = oldest_pending_age_s(**c, schema_);  // storage/status_queries.h
    if (!age.ok()) {
        r.error = "database query failed: " + age.message();
        return r;
    }
    r.answered = true;
    r.oldest_pending_age_s = *age;
    return r;
}

}  // namespace pubsub::admin
