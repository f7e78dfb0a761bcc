#include "router/keys_in_flight.h"

namespace pubsub {

bool keys_in_flight::join(const std::string& key, event_ack_callback done) {
    std::lock_guard lock(mu_);
    auto [it, first] = waiting_.try_emplace(key);
    it->second.push_back(std::move(done));
    return first;
}

std::vector<event_ack_callback> keys_in_flight::finish(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = waiting_.find(key);
    if (it == waiting_.end()) return {};
    auto out = std::move(it->second);
    waiting_.erase(it);
    return out;
}

std::size_t keys_in_flight::size() const {
    std::lock_guard lock(mu_);
    return waiting_.size();
}

}  // namespace pubsub
