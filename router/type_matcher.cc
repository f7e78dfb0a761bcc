// The event_type-only matcher: a hash from type to subscriber indexes, plus the "*" list.
// The filter language (router/filter) replaces it when compiled in.
#include <string_view>
#include <unordered_map>

#include "router/matcher.h"

namespace pubsub {
namespace {

class type_matcher final : public matcher {
public:
    explicit type_matcher(const std::vector<subscriber>& subs) {
        for (std::uint32_t i = 0; i < subs.size(); ++i) {
            if (subs[i].event_type == "*") {
                any_.push_back(i);
            } else {
                by_type_[subs[i].event_type].push_back(i);
            }
        }
    }

    void match(const event& ev, std::vector<std::uint32_t>& out) const override {
        out.insert(out.end(), any_.begin(), any_.end());
        auto it = by_type_.find(ev.type);
        if (it != by_type_.end()) out.insert(out.end(), it->second.begin(), it->second.end());
    }

private:
    std::unordered_map<std::string, std::vector<std::uint32_t>> by_type_;
    std::vector<std::uint32_t> any_;
};

}  // namespace

subscriber_snapshot build_snapshot(std::vector<subscriber> subs) {
    auto set = std::make_shared<subscriber_set>();
    for (auto& s : subs) {
        if (s.is_active) set->subscribers.push_back(std::move(s));
    }
    set->compiled = std::make_unique<type_matcher>(set->subscribers);
    return set;
}

}  // namespace pubsub
