// build_snapshot: compiles the active subscribers' event types and filters into one matcher
// (filter/matcher.h). A subscriber whose stored filter does not parse is skipped with
// its reason; the others keep working.
#include "filter/matcher.h"
#include "router/event_view.h"
#include "router/matcher.h"

namespace pubsub {
namespace {

class filter_matcher final : public matcher {
  public:
    explicit filter_matcher(const std::vector<matcher_entry>& entries) : compiled_(entries) {}

    void match(const event& ev, std::vector<std::uint32_t>& out) const override {
        // One scratch per thread: the compiled matcher is shared and immutable.
        thread_local match_scratch scratch;
        compiled_.match(make_event_view(ev), scratch, out);
    }

  private:
    compiled_matcher compiled_;
};

bool is_empty_filter(std::string_view json) {
    while (!json.empty() && (json.front() == ' ' || json.front() == '\n')) json.remove_prefix(1);
    while (!json.empty() && (json.back() == ' ' || json.back() == '\n')) json.remove_suffix(1);
    return json.empty() || json == "{}";
}

}  // namespace

subscriber_snapshot build_snapshot(std::vector<subscriber> subs) {
    auto set = std::make_shared<subscriber_set>();
    std::vector<matcher_entry> entries;
    for (auto& s : subs) {
        if (!s.is_active) continue;
        matcher_entry e;
        if (!is_empty_filter(s.filter_json)) {
            auto f = parse_filter(s.filter_json);
            if (!f.ok()) {
                set->skipped.emplace_back(s.name, "invalid event_filter: " + f.message());
                continue;
            }
            e.filter = std::move(*f);
        }
        e.subscriber_index = static_cast<std::uint32_t>(set->subscribers.size());
        e.event_type = s.event_type;
        entries.push_back(std::move(e));
        set->subscribers.push_back(std::move(s));
    }
    set->compiled = std::make_unique<filter_matcher>(entries);
    return set;
}

}  // namespace pubsub
