#include "admin/db_probe.h"

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

// The oldest pending event among the 1000 lowest open ids, through the partial index of open
// events: bounded however long the backlog. Ids are handed out in blocks per node, so with
// several nodes an older event may hide behind 1000 younger ones with lower ids; the age then
// reads low, never high, and a backlog that stops moving still shows. A scheduled event waits
// only from its run_at on (SPEC 7.2).
db_reading db_probe::query() {
    db_reading r;
    auto c = pool_.acquire();
    if (!c.ok()) {
        r.error = "database unreachable: " + c.message();
        return r;
    }
    const std::string events = (*c)->quote_identifier(schema_) + ".tpubsub_events";
    auto q = (*c)->query(
        "SELECT COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0)::float8::text FROM "
        "(SELECT greatest(created_at, run_at) AS created_at FROM " +
        events +
        " WHERE status IN ('pending', 'processing') AND status = 'pending' AND "
        "(run_at IS NULL OR run_at <= now()) ORDER BY event_id LIMIT 1000) oldest");
    if (!q.ok()) {
        r.error = "database query failed: " + q.message();
        return r;
    }
    r.answered = true;
    double age = 0;
    try {
        age = std::stod(std::string(q->get(0, 0)));
    } catch (...) {
    }
    r.oldest_pending_age_s = age > 0 ? age : 0;
    return r;
}

}  // namespace pubsub::admin
