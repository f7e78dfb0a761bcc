// pubsubctl tail: streams new events and their transitions as they happen, by polling
// <schema>.tpubsub_events (the write-behind commits every transition within milliseconds).
//
// Each poll reads the events created since the last one seen, and re-reads the events it
// follows (the newest `max_followed`, open or not, so an operator's retry of one of them shows
// too); a line is printed for each new event and each change of status or retry_count. The
// time printed is the row's own timestamp for that status (created_at, processed_at,
// completed_at). Transitions shorter than the poll interval can be skipped (pending ->
// completed shows as one step). Runs until interrupted; a lost connection is reopened.
#include <chrono>
#include <deque>
#include <iostream>
#include <map>
#include <thread>

#include "base/json_text.h"
#include "commands.h"
#include "storage/event_queries.h"

namespace pubsub::ctl {

namespace {

constexpr std::size_t max_followed = 10'000;

struct seen_state {
    std::string status;
    std::int64_t retry_count = 0;
};

class tailer {
  public:
    tailer(const context& ctx, const tail_args& a) : ctx_(ctx), a_(a) {}

    int run() {
        bool reported = false;
        for (;;) {
            if (status s = poll(); !s.ok()) {
                if (!reported) std::cerr << "pubsubctl tail: " << s.message() << " (retrying)\n";
                reported = true;
                conn_.reset();
            } else {
                reported = false;
            }
            std::cout.flush();
            std::this_thread::sleep_for(std::chrono::milliseconds(a_.interval_ms));
        }
    }

  private:
    status poll() {
        if (!conn_) {
            auto c = ctx_.connect();
            if (!c.ok()) return c.error();
            conn_.emplace(std::move(*c));
            if (last_id_ < 0) {
                if (a_.from_id) {
                    last_id_ = *a_.from_id;
                } else {
                    auto m = newest_event_id(*conn_, ctx_.schema);
                    if (!m.ok()) return m.error();
                    last_id_ = *m;
                }
            }
        }
        if (status s = read_followed(); !s.ok()) return s;
        return read_new();
    }

    status read_new() {
        for (;;) {
            auto r = events_after(*conn_, ctx_.schema, last_id_, type_pattern(), 1000);
            if (!r.ok()) return r.error();
            for (int i = 0; i < r->rows(); ++i) {
                last_id_ = r->get_int(i, 0);
                print(*r, i, "");
                follow(last_id_, {std::string(r->get(i, 3)), r->get_int(i, 5)});
            }
            if (r->rows() < 1000) return {};
        }
    }

    status read_followed() {
        if (order_.empty()) return {};
        auto r = events_by_id(*conn_, ctx_.schema, {order_.begin(), order_.end()});
        if (!r.ok()) return r.error();
        for (int i = 0; i < r->rows(); ++i) {
            auto& seen = followed_[r->get_int(i, 0)];
            seen_state now{std::string(r->get(i, 3)), r->get_int(i, 5)};
            if (now.status == seen.status && now.retry_count == seen.retry_count) continue;
            print(*r, i, seen.status);
            seen = now;
        }
        return {};
    }

    void follow(std::int64_t id, seen_state s) {
        followed_[id] = std::move(s);
        order_.push_back(id);
        if (order_.size() > max_followed) {
            followed_.erase(order_.front());
            order_.pop_front();
        }
    }

    std::optional<std::string> type_pattern() const {
        if (a_.type.empty()) return std::nullopt;
        return like_from_glob(a_.type);
    }

    // One line: the event's state now, and the status it had before ("" when new).
    void print(const pg::query_result& r, int i, const std::string& previous) const {
        if (ctx_.json) {
            std::string j = "{\"at\":";
            append_json_string(j, r.get(i, 7));
            j += ",\"event_id\":" + std::string(r.get(i, 0)) + ",\"event_type\":";
            append_json_string(j, r.get(i, 1));
            j += ",\"event_source\":";
            append_json_string(j, r.get(i, 2));
            j += ",\"status\":";
            append_json_string(j, r.get(i, 3));
            j += ",\"previous\":";
            if (previous.empty()) {
                j += "null";
            } else {
                append_json_string(j, previous);
            }
            j += ",\"priority\":" + std::string(r.get(i, 4)) +
                 ",\"retry_count\":" + std::string(r.get(i, 5)) + ",\"error_message\":";
            append_json_string(j, r.get(i, 6));
            std::cout << j << "}\n";
            return;
        }
        std::cout << r.get(i, 7) << "  event " << r.get(i, 0) << "  " << r.get(i, 1) << "  ";
        if (previous.empty()) {
            std::cout << "new (" << r.get(i, 3) << ", priority " << r.get(i, 4) << ", source "
                      << (r.get(i, 2).empty() ? "-" : r.get(i, 2)) << ")";
        } else {
            std::cout << previous << " -> " << r.get(i, 3);
            if (r.get_int(i, 5) > 0) std::cout << " (retry " << r.get(i, 5) << ")";
        }
        if (!r.get(i, 6).empty() && r.get(i, 3) != "completed") std::cout << ": " << r.get(i, 6);
        std::cout << "\n";
    }

    const context& ctx_;
    const tail_args& a_;
    std::optional<pg::connection> conn_;
    std::int64_t last_id_ = -1;
    std::map<std::int64_t, seen_state> followed_;
    std::deque<std::int64_t> order_;  // followed ids, oldest first
};

}  // namespace

int tail(const context& ctx, const tail_args& a) {
    if (a.interval_ms < 10) return fail("--interval-ms must be at least 10");
    return tailer(ctx, a).run();
}

}  // namespace pubsub::ctl
