#include "storage/retention_pruner.h"

#include <libpq-fe.h>

#include "storage/event_chunks.h"

namespace pubsub {

namespace {

// The schema's prune lock: one key per schema, so routers of other schemas prune freely.
std::string lock_key(const pg::connection& c, const std::string& schema) {
    return "hashtextextended(" + c.quote_literal("pubsub retention " + schema) + ", 0)";
}

}  // namespace

result<prune_cycle_result> run_prune_cycle(pg::connection& c, const std::string& schema,
                                           const retention_policy& policy, int batch_rows,
                                           std::chrono::milliseconds batch_pause,
                                           std::int64_t vacuum_after_rows,
                                           const std::function<bool()>& keep_going,
                                           const std::function<void()>& first) {
    prune_cycle_result out;
    if (policy.keeps_everything()) return out;
    auto locked = c.query("SELECT pg_try_advisory_lock(" + lock_key(c, schema) + ")");
    if (!locked.ok()) return locked.error();
    if (locked->get(0, 0) != "t") return out;
    out.ran = true;
    if (first) first();
    auto between = [&] {
        if (keep_going && !keep_going()) return false;
        if (batch_pause.count() > 0) std::this_thread::sleep_for(batch_pause);
        return true;
    };
    auto n = prune_all(c, schema, policy, batch_rows, between);
    status failed = n.ok() ? status() : n.error();
    if (n.ok()) out.removed = *n;
    (void)c.query("SELECT pg_advisory_unlock(" + lock_key(c, schema) + ")");
    if (!failed.ok()) return failed;
    if (out.removed >= vacuum_after_rows && out.removed > 0) {
        if (auto s = vacuum_event_tables(c, schema); !s.ok()) return s;
        out.vacuumed = true;
    }
    return out;
}

retention_pruner::retention_pruner(retention_pruner_options opts)
    : opts_(std::move(opts)), policy_(opts_.policy) {}

retention_pruner::~retention_pruner() { stop_now(); }

void retention_pruner::log(log_level lvl, const std::string& msg) const {
    if (opts_.log) opts_.log(lvl, msg);
}

status retention_pruner::start() {
    if (thread_.joinable()) return status();
    {
        std::lock_guard lk(mu_);
        stopping_ = false;
    }
    thread_ = std::thread([this] { run(); });
    return status();
}

void retention_pruner::stop(clock::time_point) noexcept {
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
        // A batch or a VACUUM in progress ends now; what it did not commit is done next time.
        if (cancel_) {
            char err[256];
            (void)PQcancel(static_cast<PGcancel*>(cancel_), err, sizeof err);
        }
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void retention_pruner::set_policy(const retention_policy& p) {
    {
        std::lock_guard lk(mu_);
        policy_ = p;
        wake_ = true;
    }
    cv_.notify_all();
}

retention_pruner::totals retention_pruner::counts() const {
    return {cycles_.load(std::memory_order_relaxed), removed_.load(std::memory_order_relaxed),
            errors_.load(std::memory_order_relaxed),
            last_success_us_.load(std::memory_order_relaxed),
            last_duration_us_.load(std::memory_order_relaxed)};
}

bool retention_pruner::stopping() const {
    std::lock_guard lk(mu_);
    return stopping_;
}

void retention_pruner::run() {
    auto next = clock::now() + opts_.first_delay;
    for (;;) {
        {
            std::unique_lock lk(mu_);
            cv_.wait_until(lk, next, [this] { return stopping_ || wake_; });
            if (stopping_) break;
            wake_ = false;
        }
        cycle();
        next = clock::now() + opts_.interval;
    }
    std::lock_guard lk(mu_);
    if (cancel_) PQfreeCancel(static_cast<PGcancel*>(cancel_));
    cancel_ = nullptr;
    conn_.reset();
}

void retention_pruner::cycle() {
    retention_policy policy;
    {
        std::lock_guard lk(mu_);
        policy = policy_;
    }
    if (policy.keeps_everything()) return;
    if (!conn_ || !conn_->is_ok()) {
        auto c = pg::connection::open(opts_.dsn);
        std::lock_guard lk(mu_);
        if (cancel_) PQfreeCancel(static_cast<PGcancel*>(cancel_));
        cancel_ = nullptr;
        conn_.reset();
        if (!c.ok()) {
            errors_.fetch_add(1, std::memory_order_relaxed);
            log(log_level::warn, "retention: " + c.message());
            return;
        }
        conn_.emplace(std::move(*c));
        (void)conn_->exec("SET application_name = 'pubsubd-retention'");
        cancel_ = PQgetCancel(conn_->raw());
    }
    // Rows loaded by other means below newer summarised ones get their chunks first, so that
    // this cycle (and every search) sees them; under the prune lock, by one node at a time.
    auto summarize = [this] {
        auto through = summarize_gaps(*conn_, opts_.schema, summarized_through_);
        if (through.ok()) {
            summarized_through_ = *through;
        } else if (!stopping()) {
            log(log_level::warn, "retention: cannot summarise events: " + through.message());
        }
    };
    const auto began = clock::now();
    auto r = run_prune_cycle(
        *conn_, opts_.schema, policy, opts_.batch_rows, opts_.batch_pause, opts_.vacuum_after_rows,
        [this] { return !stopping(); }, summarize);
    if (!r.ok()) {
        if (stopping()) return;  // the cancel of stop()
        errors_.fetch_add(1, std::memory_order_relaxed);
        log(log_level::warn, "retention: " + r.message());
        return;
    }
    if (!r->ran) return;
    using std::chrono::duration_cast;
    using std::chrono::microseconds;
    last_duration_us_.store(duration_cast<microseconds>(clock::now() - began).count(),
                            std::memory_order_relaxed);
    last_success_us_.store(
        duration_cast<microseconds>(std::chrono::system_clock::now().time_since_epoch()).count(),
        std::memory_order_relaxed);
    cycles_.fetch_add(1, std::memory_order_relaxed);
    removed_.fetch_add(static_cast<std::uint64_t>(r->removed), std::memory_order_relaxed);
    if (r->removed > 0) {
        log(log_level::info, "retention: removed " + std::to_string(r->removed) +
                                 " finished events" + (r->vacuumed ? ", vacuumed" : ""));
    }
}

}  // namespace pubsub
