#include "storage/id_allocator.h"

namespace pubsub {

id_allocator::id_allocator(id_allocator_options opts) : opts_(std::move(opts)) {}
id_allocator::~id_allocator() { stop(); }

result<std::vector<event_id>> id_allocator::fetch_block() {
    // Used by start() and then only by the refill thread: one user at a time.
    auto& conn = conn_;
    if (!conn || !conn->is_ok()) {
        conn.reset();
        auto c = pg::connection::open(opts_.dsn);
        if (!c.ok()) return c.error();
        conn.emplace(std::move(*c));
    }
    std::string seq = conn->quote_identifier(opts_.schema) + ".tpubsub_events_event_id_seq";
    auto r = conn->query("SELECT nextval('" + seq + "') FROM generate_series(1, $1::int)",
                         {std::to_string(opts_.block_size)});
    if (!r.ok()) {
        if (!conn->is_ok()) conn.reset();
        return status::error("cannot reserve event ids: " + r.message());
    }
    std::vector<event_id> ids;
    ids.reserve(static_cast<std::size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) ids.push_back(r->get_int(i, 0));
    return ids;
}

status id_allocator::start() {
    auto first = fetch_block();
    if (!first.ok()) return first.error();
    {
        std::lock_guard lock(mu_);
        blocks_.push_back(std::move(*first));
    }
    thread_ = std::thread([this] { run(); });
    return status();
}

void id_allocator::stop() noexcept {
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
        if (blocks_.size() >= 2) {
            need_block_.wait(lock, [this] { return stopping_ || blocks_.size() < 2; });
            continue;
        }
        lock.unlock();
        auto block = fetch_block();
        lock.lock();
        if (block.ok()) {
            blocks_.push_back(std::move(*block));
            last_error_.clear();
            backoff = std::chrono::milliseconds(50);
            have_block_.notify_all();
        } else {
            if (last_error_ != block.message() && opts_.log) opts_.log(3, block.message());
            last_error_ = block.message();
            have_block_.notify_all();
            need_block_.wait_for(lock, backoff, [this] { return stopping_; });
            backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
        }
    }
}

result<event_id> id_allocator::next_id() {
    std::unique_lock lock(mu_);
    for (;;) {
        if (!blocks_.empty() && next_index_ < blocks_.front().size()) {
            event_id id = blocks_.front()[next_index_++];
            if (next_index_ == blocks_.front().size()) {
                blocks_.pop_front();
                next_index_ = 0;
                need_block_.notify_one();
            }
            return id;
        }
        if (!blocks_.empty()) {  // exhausted front (should not happen), drop it
            blocks_.pop_front();
            next_index_ = 0;
            continue;
        }
        need_block_.notify_one();
        if (!have_block_.wait_for(lock, opts_.wait_for, [this] { return !blocks_.empty(); })) {
            return status::error(
                "no event ids available: " +
                (last_error_.empty() ? std::string("database too slow") : last_error_));
        }
    }
}

}  // namespace pubsub
