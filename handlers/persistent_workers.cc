#include "handlers/persistent_workers.h"

#include "base/logger.h"
#include "handlers/worker_protocol.h"

namespace pubsub {

namespace {

std::chrono::milliseconds timeout_of(const subscriber& sub) {
    return std::chrono::milliseconds(1000LL * (sub.timeout_s > 0 ? sub.timeout_s : 300));
}

bool same_launch(const worker_spec& s, const subscriber& sub, const worker_launch& l) {
    return s.argv == l.argv && s.env == l.env && s.workers == sub.workers &&
           s.timeout == timeout_of(sub) && s.subscriber == sub.name;
}

}  // namespace

status persistent_workers::start() {
    std::lock_guard lock(mu_);
    started_ = true;
    stopped_ = false;
    reconcile();
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

void persistent_workers::set_launcher(worker_launcher launch) {
    std::lock_guard lock(mu_);
    launch_ = std::move(launch);
}

void persistent_workers::set_subscribers(const subscriber_snapshot& snap) {
    std::lock_guard lock(mu_);
    managed_ = true;
    wanted_.clear();
    process_ids_.clear();
    if (snap) {
        for (const auto& s : snap->subscribers) {
            if (!s.is_active) continue;
            if (s.mode == run_mode::persistent) {
                wanted_.push_back(s);
            } else {
                process_ids_.insert(s.id);
            }
        }
    }
    reconcile();
}

std::shared_ptr<worker_set> persistent_workers::make_set(const subscriber& sub,
                                                         worker_launch launch) {
    worker_spec spec;
    spec.argv = std::move(launch.argv);
    spec.env = std::move(launch.env);
    spec.subscriber = sub.name;
    spec.workers = sub.workers;
    spec.window = opts_.window;
    spec.timeout = timeout_of(sub);
    spec.backoff_min = opts_.backoff_min;
    spec.backoff_max = opts_.backoff_max;
    spec.registry = opts_.registry;
    auto set = std::make_shared<worker_set>(std::move(spec));
    if (status s = set->start(); !s.ok()) {
        log_line(log_level::error, "persistent workers cannot start",
                 log_field("subscriber", sub.name) + " " + log_field("error", s.message()));
        return nullptr;
    }
    return set;
}

// Closes a set in the background (see DESIGN) and joins those already finished.
void persistent_workers::retire(std::shared_ptr<worker_set> set) {
    std::erase_if(retired_, [](const auto& s) {
        if (!s->finished()) return false;
        s->stop_now();  // joins its finished thread
        return true;
    });
    if (!set) return;
    set->close(clock::now() + set->spec().timeout, false);
    retired_.push_back(std::move(set));
}

void persistent_workers::reconcile() {
    if (!started_ || stopped_ || !managed_) return;
    std::map<std::int64_t, std::shared_ptr<worker_set>> next;
    for (const auto& sub : wanted_) {
        auto launch = launch_ ? launch_(sub) : result<worker_launch>(status::error("no launcher"));
        auto it = sets_.find(sub.id);
        std::shared_ptr<worker_set> cur = it == sets_.end() ? nullptr : it->second;
        if (it != sets_.end()) sets_.erase(it);
        if (!launch.ok()) {
            log_line(
                log_level::error, "persistent workers not started",
                log_field("subscriber", sub.name) + " " + log_field("error", launch.message()));
            retire(std::move(cur));
            continue;
        }
        if (cur && same_launch(cur->spec(), sub, *launch)) {
            next[sub.id] = std::move(cur);
            continue;
        }
        auto set = make_set(sub, std::move(*launch));
        if (cur) {
            if (set) set->adopt(cur->take_waiting());
            log_line(log_level::info, "persistent workers replaced (settings changed)",
                     log_field("subscriber", sub.name));
        }
        retire(std::move(cur));
        if (set) next[sub.id] = std::move(set);
    }
    for (auto& [id, s] : sets_) {  // removed, disabled or switched to process mode
        log_line(log_level::info, "persistent workers stopping (subscriber gone or changed mode)",
                 log_field("subscriber", s->spec().subscriber));
        retire(std::move(s));
    }
    sets_ = std::move(next);
}

// No snapshot: the set follows the deliveries, replaced when one asks for other settings.
std::shared_ptr<worker_set> persistent_workers::on_demand(const subscriber& sub,
                                                          worker_launch launch) {
    auto& cur = sets_[sub.id];
    if (cur && same_launch(cur->spec(), sub, launch)) return cur;
    auto set = make_set(sub, std::move(launch));
    if (cur && set) set->adopt(cur->take_waiting());
    retire(std::move(cur));
    cur = set;
    return set;
}

bool persistent_workers::run(const delivery& d, worker_launch launch, const std::string& event_json,
                             run_done done) {
    std::shared_ptr<worker_set> set;
    std::string why = "pubsubd is stopping";
    bool stopping = true;
    {
        std::lock_guard lock(mu_);
        if (started_ && !stopped_) {
            if (!managed_) {
                set = on_demand(*d.sub, std::move(launch));
                stopping = false;
                why = "the persistent workers of subscriber \"" + d.sub->name +
                      "\" cannot start (see the log)";
            } else if (auto it = sets_.find(d.sub->id); it != sets_.end()) {
                set = it->second;
            } else if (process_ids_.count(d.sub->id) > 0) {
                return false;
            } else {
                stopping = false;
                why = "subscriber \"" + d.sub->name +
                      "\" has no persistent workers on this node (it was removed or disabled, "
                      "or its program cannot be started)";
            }
        }
    }
    if (!set) {
        done(run_outcome{false, why, stopping});
        return true;
    }
    delivery_header h;
    h.event_id = d.group->ev()->id;
    h.subscriber = d.sub->name;
    h.attempt = attempt_of(d);
    h.config_id = d.sub->config_id;
    set->submit(std::move(h), std::move(event_json), std::move(done));
    return true;
}

void persistent_workers::interrupt() {
    std::lock_guard lock(mu_);
    for (auto& [id, s] : sets_) s->interrupt();
    for (auto& s : retired_) s->interrupt();
}

std::vector<subscriber_workers> persistent_workers::snapshot() const {
    std::lock_guard lock(mu_);
    std::vector<subscriber_workers> out;
    for (const auto& [id, s] : sets_) out.push_back({s->spec().subscriber, s->snapshot()});
    return out;
}

}  // namespace pubsub
