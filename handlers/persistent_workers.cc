#include "handlers/persistent_workers.h"

#include "handlers/worker_protocol.h"

namespace pubsub {

status persistent_workers::start() {
    std::lock_guard lock(mu_);
    started_ = true;
    stopped_ = false;
    return {};
}

void persistent_workers::stop(clock::time_point deadline) noexcept {
    std::vector<std::shared_ptr<worker_set>> all;
    {
        std::lock_guard lock(mu_);
        if (!started_ || stopped_) return;
        stopped_ = true;
        for (auto& [id, s] : sets_) all.push_back(s);
        for (auto& s : retired_) all.push_back(s);
    }
    // Close them all first, so they drain and exit side by side, then join each.
    for (auto& s : all) s->close(deadline, true);
    for (auto& s : all) s->stop(deadline);
}

std::shared_ptr<worker_set> persistent_workers::set_for(const subscriber& sub,
                                                        std::vector<std::string> argv,
                                                        std::vector<std::string> env) {
    const auto timeout =
        std::chrono::milliseconds(1000LL * (sub.timeout_s > 0 ? sub.timeout_s : 300));
    std::lock_guard lock(mu_);
    if (stopped_ || !started_) return nullptr;
    auto& cur = sets_[sub.id];
    if (cur) {
        const worker_spec& s = cur->spec();
        if (s.argv == argv && s.env == env && s.workers == sub.workers && s.timeout == timeout &&
            s.subscriber == sub.name) {
            return cur;
        }
        cur->close(clock::now() + s.timeout, false);
        retired_.push_back(std::move(cur));
    }
    std::erase_if(retired_, [](const auto& s) {
        if (!s->finished()) return false;
        s->stop_now();  // joins its finished thread
        return true;
    });
    worker_spec spec;
    spec.argv = std::move(argv);
    spec.env = std::move(env);
    spec.subscriber = sub.name;
    spec.workers = sub.workers;
    spec.window = opts_.window;
    spec.timeout = timeout;
    spec.backoff_min = opts_.backoff_min;
    spec.backoff_max = opts_.backoff_max;
    spec.registry = opts_.registry;
    auto set = std::make_shared<worker_set>(std::move(spec));
    if (!set->start().ok()) return nullptr;
    cur = set;
    return set;
}

void persistent_workers::run(const delivery& d, std::vector<std::string> argv,
                             std::vector<std::string> env, const std::string& event_json,
                             run_done done) {
    auto set = set_for(*d.sub, std::move(argv), std::move(env));
    if (!set) {
        done(run_outcome{false, "pubsubd is stopping", true});
        return;
    }
    delivery_header h;
    h.event_id = d.group->ev()->id;
    h.subscriber = d.sub->name;
    h.attempt = attempt_of(d);
    h.config_id = d.sub->config_id;
    set->submit(std::move(h), event_json, std::move(done));
}

void persistent_workers::interrupt() {
    std::lock_guard lock(mu_);
    for (auto& [id, s] : sets_) s->interrupt();
}

std::vector<subscriber_workers> persistent_workers::snapshot() const {
    std::lock_guard lock(mu_);
    std::vector<subscriber_workers> out;
    for (const auto& [id, s] : sets_) out.push_back({s->spec().subscriber, s->snapshot()});
    return out;
}

}  // namespace pubsub
