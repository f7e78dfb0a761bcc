#include "storage/id_allocator.h"

namespace pubsub {

id_allocator::id_allocator(id_allocator_options opts) : opts_(std::move(opts)) {}
id_allocator::~id_allocator() { stop_now(); }

result<std::vector<id_allocator::id_run>> id_allocator::fetch_block() {
    // Used by start() and then only by the refill thread: one user at a time.
    auto& conn = conn_;
    if (!conn || !conn->is_ok()) {
        conn.reset();
        auto c = pg::connection::open(opts_.dsn);
        if (!c.ok()) return c.error();
        conn.emplace(std::move(*c));
    }
    std::string seq = conn->quote_identifier(opts_.schema) + ".tpubsub_events_event_id_seq";
    // id - row_number() is constant along a run of consecutive ids.
    auto r = conn->query(
        "SELECT min(id), max(id) FROM (SELECT id, id - row_number() OVER (ORDER BY id) AS run "
        "FROM (SELECT nextval('" +
            seq +
            "') AS id FROM generate_series(1, $1::int)) AS ids) "
            "AS numbered GROUP BY run ORDER BY 1",
        {std::to_string(opts_.block_size)});
    if (!r.ok()) {
        if (!conn->is_ok()) conn.reset();
        return status::error("cannot reserve event ids: " + r.message());
    }
    std::vector<id_run> runs;
    for (int i = 0; i < r->rows(); ++i) runs.push_back({r->get_int(i, 0), r->get_int(i, 1)});
    return runs;
}

status id_allocator::start() {
    if (thread_.joinable()) return status();
    auto first = fetch_block();
    if (!first.ok()) return first.error();
    {
        std::lock_guard lock(mu_);
        add_runs(*first);
    }
    thread_ = std::thread([this] { run(); });
    return status();
}

void id_allocator::stop(clock::time_point) noexcept {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    need_block_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void id_allocator::run() {
    std::chrono::milliseconds backoff{50};
    std::unique_lock lock(mu_);
    while (!stopping_) {
        if (available_ > opts_.block_size) {  // more than the block in use: a spare is there
            need_block_.wait(lock, [this] { return stopping_ || available_ <= opts_.block_size; });
            continue;
        }
        lock.unlock();
        auto block = fetch_block();
        lock.lock();
        if (block.ok()) {
            add_runs(*block);
            last_error_.clear();
            backoff = std::chrono::milliseconds(50);
            have_block_.notify_all();
        } else {
            if (last_error_ != block.message() && opts_.log)
                opts_.log(log_level::error, block.message());
            last_error_ = block.message();
            have_block_.notify_all();
            need_block_.wait_for(lock, backoff, [this] { return stopping_; });
            backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        }
    }
}

void id_allocator::add_runs(const std::vector<id_run>& runs) {
    for (const id_run& r : runs) {
        if (r.last < r.next) continue;
        runs_.push_back(r);
        available_ += r.last - r.next + 1;
    }
}

result<event_id> id_allocator::next_id() {
    std::unique_lock lock(mu_);
    for (;;) {
        if (!runs_.empty()) {
            id_run& front = runs_.front();
            event_id id = front.next++;
            if (front.next > front.last) runs_.pop_front();
            // The block in use is down to the spare: time to fetch the next one.
            if (--available_ == opts_.block_size) need_block_.notify_one();
            return id;
        }
        need_block_.notify_one();
        if (!have_block_.wait_for(lock, opts_.wait_for, [this] { return !runs_.empty(); })) {
            return status::error(
                "no event ids available: " +
                (last_error_.empty() ? std::string("database too slow") : last_error_));
        }
    }
}

}  // namespace pubsub
