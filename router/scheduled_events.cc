#include "router/scheduled_events.h"

#include <algorithm>
#include <chrono>

namespace pubsub {

namespace {

// Far entries are taken this much earlier than needed, so that the timer wakes once per slice
// of due times rather than once per event, and each query reads many rows.
constexpr std::int64_t coalesce_us = 200'000;

}  // namespace

scheduled_events::scheduled_events(release_fn release, scheduled_options opts)
    : release_(std::move(release)), opts_(std::move(opts)) {}

scheduled_events::~scheduled_events() {
    stop();
    if (opts_.budget) opts_.budget->release(body_bytes_);
}

void scheduled_events::start() {
    if (timer_.joinable()) return;
    {
        std::lock_guard lock(mu_);
        stopping_ = false;
    }
    timer_ = std::thread([this] { run_timer(); });
    if (opts_.rows) loader_ = std::thread([this] { run_loader(); });
}

void scheduled_events::stop() noexcept {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    timer_cv_.notify_one();
    loader_cv_.notify_one();
    if (timer_.joinable()) timer_.join();
    if (loader_.joinable()) loader_.join();
}

bool scheduled_events::live(const entry& e) const {
    auto it = due_.find(e.id);
    return it != due_.end() && it->second == e.due_us;
}

void scheduled_events::push(heap& h, entry e) {
    h.push_back(e);
    std::push_heap(h.begin(), h.end(), later);
    if (h.front().id == e.id) timer_cv_.notify_one();  // the timer sleeps for a later one
}

void scheduled_events::keep_body(event_ptr ev) {
    const std::size_t bytes = approx_bytes(*ev);
    if (!bodies_.try_emplace(ev->id, std::move(ev)).second) return;
    if (opts_.budget) opts_.budget->charge(bytes);
    body_bytes_ += bytes;
}

void scheduled_events::drop_body(event_id id) {
    auto it = bodies_.find(id);
    if (it == bodies_.end()) return;
    const std::size_t bytes = approx_bytes(*it->second);
    if (opts_.budget) opts_.budget->release(bytes);
    body_bytes_ -= bytes;
    bodies_.erase(it);
}

void scheduled_events::add(event_ptr ev, bool persisted) {
    const event_id id = ev->id;
    const std::int64_t due = ev->run_at_us;
    std::lock_guard lock(mu_);
    const bool soon = due - now_us() <= opts_.horizon_us;
    auto [it, fresh] = due_.try_emplace(id, due);
    if (!fresh) {
        // Held already: added twice, or persisted() came first. A body due soon saves a query.
        if (soon && it->second == due && !bodies_.contains(id) && !loading_.contains(id)) {
            keep_body(std::move(ev));
            push(near_, entry{due, id});
        }
        return;
    }
    if (opts_.rows == nullptr || !persisted || soon) keep_body(std::move(ev));
    push(soon ? near_ : far_, entry{due, id});
}

void scheduled_events::persisted(event_id id, std::int64_t due_us) {
    if (opts_.rows == nullptr) return;
    std::lock_guard lock(mu_);
    if (due_us - now_us() <= opts_.horizon_us) return;  // due soon: keep it, no query
    auto it = due_.find(id);
    if (it == due_.end()) {
        // The commit was quicker than the router's add() of this event, which comes next and
        // finds it held; had it been cancelled meanwhile, its load finds no pending row.
        due_.emplace(id, due_us);
        push(far_, entry{due_us, id});
        return;
    }
    drop_body(id);
}

bool scheduled_events::cancel(event_id id) {
    std::lock_guard lock(mu_);
    auto it = due_.find(id);
    if (it == due_.end()) return false;
    due_.erase(it);
    drop_body(id);
    // Its heap entry stays as a stale one; rebuild once stale entries outnumber live ones.
    if (near_.size() + far_.size() > 2 * due_.size() + 4096) prune_heaps();
    return true;
}

void scheduled_events::prune_heaps() {
    for (heap* h : {&near_, &far_}) {
        std::erase_if(*h, [this](const entry& e) { return !live(e); });
        std::make_heap(h->begin(), h->end(), later);
    }
}

std::size_t scheduled_events::size() const {
    std::lock_guard lock(mu_);
    return due_.size();
}

status scheduled_events::admit() const {
    std::size_t held = size();
    if (held < opts_.max_events) return status();
    return status::error("event refused: " + std::to_string(held) +
                         " scheduled events are held, the most --max-scheduled-events allows; "
                         "new scheduled events are refused until some come due or are cancelled");
}

scheduled_events::counters scheduled_events::stats() const {
    std::lock_guard lock(mu_);
    counters c = counts_;
    c.held = due_.size();
    c.bodies = bodies_.size();
    return c;
}

// Moves far entries whose time has come to the near heap (body held) or to the loader, and
// takes the due events out; returns when to look again.
std::int64_t scheduled_events::take_due(std::int64_t now, std::vector<event_ptr>& due) {
    auto pop = [](heap& h) {
        std::pop_heap(h.begin(), h.end(), later);
        entry e = h.back();
        h.pop_back();
        return e;
    };
    auto load = [this](event_id id) {
        if (loading_.insert(id).second) to_load_.push_back(id);
    };
    while (!far_.empty() && far_.front().due_us <= now + opts_.lead_us + coalesce_us) {
        entry e = pop(far_);
        if (!live(e)) continue;
        if (bodies_.contains(e.id)) {
            push(near_, e);
        } else {
            load(e.id);
        }
    }
    while (!near_.empty() && near_.front().due_us <= now) {
        entry e = pop(near_);
        if (!live(e)) continue;
        auto b = bodies_.find(e.id);
        if (b == bodies_.end()) {  // its body went (the clock went back): read it now
            load(e.id);
            continue;
        }
        due.push_back(b->second);
        drop_body(e.id);
        due_.erase(e.id);
    }
    if (!to_load_.empty()) loader_cv_.notify_one();
    std::int64_t next = now + 1'000'000;
    if (!near_.empty()) next = std::min(next, near_.front().due_us);
    if (!far_.empty()) next = std::min(next, far_.front().due_us - opts_.lead_us);
    return next;
}

void scheduled_events::run_timer() {
    std::vector<event_ptr> due;
    std::unique_lock lock(mu_);
    while (!stopping_) {
        const std::int64_t next = take_due(now_us(), due);
        if (!due.empty()) {
            lock.unlock();
            for (auto& ev : due) release_(std::move(ev));
            due.clear();
            lock.lock();
            continue;
        }
        const std::int64_t wait_us = std::max<std::int64_t>(0, next - now_us());
        timer_cv_.wait_for(lock, std::chrono::microseconds(wait_us));
    }
}

void scheduled_events::run_loader() {
    std::int64_t pause_us = 0;  // after a failed load; 0 while loads succeed
    std::vector<event_id> ids;
    std::unique_lock lock(mu_);
    while (!stopping_) {
        if (to_load_.empty()) {
            loader_cv_.wait(lock, [this] { return stopping_ || !to_load_.empty(); });
            continue;
        }
        ids.clear();
        while (!to_load_.empty() && ids.size() < opts_.load_batch) {
            ids.push_back(to_load_.front());
            to_load_.pop_front();
        }
        lock.unlock();
        auto rows = opts_.rows->load(ids);
        if (!rows.ok()) {
            if (pause_us == 0 && opts_.log) {
                opts_.log(log_level::error,
                          "cannot read due scheduled events, retrying: " + rows.message());
            }
            pause_us = std::clamp(pause_us * 2, opts_.retry_min_us, opts_.retry_max_us);
        } else if (pause_us != 0) {
            pause_us = 0;
            if (opts_.log) opts_.log(log_level::info, "due scheduled events are read again");
        }
        lock.lock();
        if (!rows.ok()) {
            ++counts_.load_failures;
            to_load_.insert(to_load_.begin(), ids.begin(), ids.end());  // kept, in order
            loader_cv_.wait_for(lock, std::chrono::microseconds(pause_us),
                                [this] { return stopping_; });
            continue;
        }
        ++counts_.loads;
        took_rows(ids, *rows);
    }
}

void scheduled_events::took_rows(const std::vector<event_id>& ids, std::vector<event_ptr>& rows) {
    std::unordered_map<event_id, event_ptr> found;
    found.reserve(rows.size());
    for (auto& ev : rows) found.emplace(ev->id, std::move(ev));
    for (event_id id : ids) {
        loading_.erase(id);
        auto it = due_.find(id);
        if (it == due_.end()) continue;  // cancelled meanwhile
        auto f = found.find(id);
        if (f == found.end()) {  // no longer this node's pending event
            due_.erase(it);
            ++counts_.gone;
            continue;
        }
        keep_body(std::move(f->second));
        push(near_, entry{it->second, id});
    }
}

}  // namespace pubsub
