#include "base/service.h"

namespace pubsub {

service_fn::service_fn(std::string name, start_fn on_start, stop_fn on_stop)
    : name_(std::move(name)), on_start_(std::move(on_start)), on_stop_(std::move(on_stop)) {}

status service_fn::start() {
    if (running_) return status();
    status s = on_start_ ? on_start_() : status();
    running_ = s.ok();
    return s;
}

void service_fn::stop(clock::time_point deadline) noexcept {
    if (!running_) return;
    running_ = false;
    if (on_stop_) on_stop_(deadline);
}

service_list::~service_list() { stop(service::clock::now()); }

status service_list::start(const std::vector<service*>& in_order) {
    std::lock_guard lock(mu_);
    for (service* s : in_order) {
        if (status st = s->start(); !st.ok()) return st;
        started_.push_back(s);
    }
    return status();
}

void service_list::stop(service::clock::time_point deadline) noexcept {
    std::lock_guard lock(mu_);
    while (!started_.empty()) {
        service* s = started_.back();
        started_.pop_back();
        s->stop(deadline);
    }
}

std::size_t service_list::running() const {
    std::lock_guard lock(mu_);
    return started_.size();
}

}  // namespace pubsub
