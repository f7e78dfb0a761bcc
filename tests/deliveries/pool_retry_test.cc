// pool_set with retries: what is recorded for the event and for each delivery when attempts
// fail, succeed later, die, are cancelled while waiting, or are resumed from delivery rows; and
// back-pressure: a full pool's bit, which job types each event_type reaches (types, '*',
// inactive subscribers), and router::admit / the intake refusing only the types that reach a full
// pool. No database: transitions and delivery records go to memory.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "handlers/pool_set.h"
#include "router/intake.h"
#include "tests/router/memory_log.h"

namespace pubsub {
namespace {

using test::memory_log;

class memory_dlog final : public delivery_log {
  public:
    void record_delivery(delivery_record r) override {
        std::lock_guard lock(mu_);
        all_.push_back(std::move(r));
    }
    std::vector<delivery_record> all() const {
        std::lock_guard lock(mu_);
        return all_;
    }
    // The newest record of each (event, subscriber), by version.
    std::map<std::int64_t, delivery_record> latest_by_subscriber(event_id ev) const {
        std::map<std::int64_t, delivery_record> out;
        for (auto& r : all()) {
            if (r.event != ev) continue;
            auto it = out.find(r.subscriber_id);
            if (it == out.end() || r.version > it->second.version) out[r.subscriber_id] = r;
        }
        return out;
    }

  private:
    mutable std::mutex mu_;
    std::vector<delivery_record> all_;
};

// Fails the attempts listed per subscriber id (by attempt number); counts runs per subscriber.
class scripted_runner final : public job_runner {
  public:
    std::map<std::int64_t, std::set<int>> failing;  // set before start
    std::set<std::int64_t> always_failing;
    run_outcome run(const delivery& d) override {
        {
            std::lock_guard lock(mu_);
            runs_[d.sub->id].push_back(attempt_of(d));
        }
        bool fail = always_failing.count(d.sub->id) > 0 ||
                    (failing.count(d.sub->id) && failing[d.sub->id].count(attempt_of(d)));
        if (fail) return {false, "attempt " + std::to_string(attempt_of(d)) + " failed"};
        return {};
    }
    std::vector<int> runs(std::int64_t sub) {
        std::lock_guard lock(mu_);
        return runs_[sub];
    }

  private:
    std::mutex mu_;
    std::map<std::int64_t, std::vector<int>> runs_;
};

pool_set_options fast_retries(int base_ms = 1) {
    pool_set_options o;
    o.retry.base = std::chrono::milliseconds(base_ms);
    o.retry.cap = std::chrono::milliseconds(base_ms * 4);
    return o;
}

std::shared_ptr<const subscriber> sub(std::int64_t id, int max_retries, job_type job) {
    auto s = test::make_sub(id, "t", job);
    s.max_retries = max_retries;
    return std::make_shared<const subscriber>(std::move(s));
}

auto far_deadline() { return std::chrono::steady_clock::now() + std::chrono::seconds(30); }

struct fixture {
    memory_log log;
    memory_dlog dlog;
    std::shared_ptr<scripted_runner> runner = std::make_shared<scripted_runner>();
};

TEST(pool_retries, failures_then_success_record_each_attempt_in_order) {
    fixture f;
    f.runner->failing[1] = {1, 2};
    pool_set pools(fast_retries(10));  // delays of 5 ms and more: next_attempt after finished
    pools.configure(job_type::custom, f.runner, 2);
    ASSERT_TRUE(pools.start().ok());
    auto ev = test::make_event(10, 5);
    auto g = std::make_shared<delivery_group>(ev, 1, 1, f.log, &f.dlog);
    pools.submit(delivery{g, sub(1, 3, job_type::custom)});
    ASSERT_TRUE(f.log.wait_for_finals(1));
    pools.stop(far_deadline());

    EXPECT_EQ(f.runner->runs(1), (std::vector<int>{1, 2, 3}));
    auto ts = f.log.all();
    ASSERT_FALSE(ts.empty());
    for (std::size_t i = 1; i < ts.size(); ++i) EXPECT_GT(ts[i].seq, ts[i - 1].seq) << i;
    const auto& fin = ts.back();
    EXPECT_EQ(fin.status, event_status::completed);
    EXPECT_EQ(fin.retry_count, 2);
    EXPECT_EQ(fin.error, "attempt 2 failed") << "error_message shows the latest failure";

    auto rs = f.dlog.all();
    ASSERT_EQ(rs.size(), 3u);
    EXPECT_EQ(rs[0].status, delivery_status::retrying);
    EXPECT_EQ(rs[0].attempts, 1);
    EXPECT_EQ(rs[1].status, delivery_status::retrying);
    EXPECT_EQ(rs[1].attempts, 2);
    EXPECT_EQ(rs[2].status, delivery_status::completed);
    EXPECT_EQ(rs[2].attempts, 3);
    EXPECT_LT(rs[0].version, rs[1].version);
    EXPECT_LT(rs[1].version, rs[2].version);
    EXPECT_GT(rs[0].next_attempt_us, rs[0].finished_us);
    EXPECT_GT(rs[1].next_attempt_us, rs[0].next_attempt_us) << "the schedule moves forward";
    EXPECT_GE(rs[1].started_us, rs[0].finished_us);
}

TEST(pool_retries, one_of_three_dies_the_others_are_recorded_completed) {
    fixture f;
    f.runner->always_failing = {2};
    pool_set pools(fast_retries());
    pools.configure(job_type::custom, f.runner, 3);
    ASSERT_TRUE(pools.start().ok());
    auto g = std::make_shared<delivery_group>(test::make_event(20, 5), 3, 1, f.log, &f.dlog);
    for (std::int64_t id : {1, 2, 3}) pools.submit(delivery{g, sub(id, 1, job_type::custom)});
    ASSERT_TRUE(f.log.wait_for_finals(1));
    pools.stop(far_deadline());

    EXPECT_EQ(f.runner->runs(1).size(), 1u);
    EXPECT_EQ(f.runner->runs(3).size(), 1u);
    EXPECT_EQ(f.runner->runs(2), (std::vector<int>{1, 2}));
    auto fin = f.log.all().back();
    EXPECT_EQ(fin.status, event_status::failed);
    EXPECT_EQ(fin.error, "attempt 2 failed");
    EXPECT_EQ(fin.retry_count, 1);
    auto latest = f.dlog.latest_by_subscriber(20);
    ASSERT_EQ(latest.size(), 3u) << "every delivery of a failed event has a row";
    EXPECT_EQ(latest[1].status, delivery_status::completed);
    EXPECT_EQ(latest[3].status, delivery_status::completed);
    EXPECT_EQ(latest[2].status, delivery_status::dead);
    EXPECT_EQ(latest[2].attempts, 2);
    EXPECT_EQ(latest[2].last_error, "attempt 2 failed");
}

TEST(pool_retries, first_attempt_successes_write_no_delivery_rows) {
    fixture f;
    pool_set pools(fast_retries());
    pools.configure(job_type::noop, f.runner, 2);
    ASSERT_TRUE(pools.start().ok());
    for (int i = 1; i <= 200; ++i) {
        auto g = std::make_shared<delivery_group>(test::make_event(i, 5), 2, 1, f.log, &f.dlog);
        pools.submit(delivery{g, sub(1, 3, job_type::noop)});
        pools.submit(delivery{g, sub(2, 3, job_type::noop)});
    }
    ASSERT_TRUE(f.log.wait_for_finals(200));
    pools.stop(far_deadline());
    EXPECT_TRUE(f.dlog.all().empty());
    for (auto& [id, rs] : f.log.by_event()) {
        ASSERT_EQ(rs.size(), 2u) << id;
        EXPECT_EQ(rs[1].status, event_status::completed);
        EXPECT_EQ(rs[1].seq, seq_final);
    }
}

TEST(pool_retries, cancel_drops_a_scheduled_retry_and_records_nothing_more) {
    fixture f;
    f.runner->always_failing = {1};
    pool_set pools(fast_retries(60'000));  // the retry would wait a minute
    pools.configure(job_type::custom, f.runner, 1);
    ASSERT_TRUE(pools.start().ok());
    auto g = std::make_shared<delivery_group>(test::make_event(30, 5), 1, 1, f.log, &f.dlog);
    pools.submit(delivery{g, sub(1, 5, job_type::custom)});
    for (int i = 0; i < 6000 && pools.scheduled_retries() == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_EQ(pools.scheduled_retries(), 1u);
    auto before = f.log.all().size();
    pools.cancel(30);
    EXPECT_EQ(pools.scheduled_retries(), 0u);
    EXPECT_TRUE(g->cancelled());
    pools.stop(far_deadline());
    EXPECT_EQ(f.runner->runs(1).size(), 1u);
    EXPECT_EQ(f.log.all().size(), before) << "no final transition after a cancel";
}

// Submits a delivery of event `cancelled` (marked cancelled) and one of `other` to a started
// pool of one custom thread, stops it, and expects that only `other` ran and was recorded.
void expect_only_second_runs(fixture& f, pool_set& pools, event_id cancelled, event_id other) {
    for (event_id id : {cancelled, other}) {
        auto g = std::make_shared<delivery_group>(test::make_event(id, 5), 1, 1, f.log, &f.dlog);
        pools.submit(delivery{g, sub(1, 3, job_type::custom)});
    }
    ASSERT_TRUE(f.log.wait_for_finals(1));
    pools.stop(far_deadline());
    EXPECT_EQ(f.runner->runs(1).size(), 1u) << "only event " << other << " ran";
    for (auto& t : f.log.all()) EXPECT_EQ(t.ev->id, other);
}

TEST(pool_retries, cancelled_event_still_queued_is_skipped) {
    fixture f;
    pool_set pools(fast_retries());
    pools.configure(job_type::custom, f.runner, 1);
    pools.cancel(40);
    ASSERT_TRUE(pools.start().ok());
    expect_only_second_runs(f, pools, 40, 41);
    pools.forget_cancel(40);
}

// The cancel marks are bounded and cost O(1) each: 300,000 cancels (three times the bound) take
// well under a second (a scan per cancel made this minutes), and the newest mark still holds.
TEST(pool_retries, cancel_marks_are_bounded_and_the_newest_holds) {
    fixture f;
    pool_set pools(fast_retries());
    pools.configure(job_type::custom, f.runner, 1);
    auto t0 = std::chrono::steady_clock::now();
    for (event_id id = 1'000'000; id < 1'300'000; ++id) pools.cancel(id);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));
    ASSERT_TRUE(pools.start().ok());
    expect_only_second_runs(f, pools, 1'299'999, 42);
}

TEST(pool_retries, resume_skips_completed_and_continues_attempts) {
    fixture f;
    pool_set pools(fast_retries());
    pools.configure(job_type::custom, f.runner, 2);
    ASSERT_TRUE(pools.start().ok());
    auto ev = std::make_shared<event>(*test::make_event(50, 5));
    ev->from_table = true;
    ev->attempt = 2;  // retry_count 1 in the table
    delivery_record done{50, 1, "sub1", delivery_status::completed, 1, 0, "", 0, 0, 0, 4};
    delivery_record waiting{50, 2, "sub2", delivery_status::retrying, 2, 0, "boom", now_us() - 1000,
                            0,  0, 5};
    pools.add_resume({done, waiting});
    auto g = std::make_shared<delivery_group>(ev, 3, ev->attempt, f.log, &f.dlog);
    for (std::int64_t id : {1, 2, 3}) pools.submit(delivery{g, sub(id, 3, job_type::custom)});
    ASSERT_TRUE(f.log.wait_for_finals(1));
    pools.stop(far_deadline());
    EXPECT_TRUE(f.runner->runs(1).empty()) << "completed before the restart: not run again";
    EXPECT_EQ(f.runner->runs(2), (std::vector<int>{3})) << "attempt numbers continue";
    EXPECT_EQ(f.runner->runs(3), (std::vector<int>{2})) << "no row: the event's attempt";
    EXPECT_EQ(f.log.all().back().status, event_status::completed);
    auto latest = f.dlog.latest_by_subscriber(50);
    ASSERT_EQ(latest.count(2), 1u) << "a delivery with a row keeps it up to date";
    EXPECT_EQ(latest[2].status, delivery_status::completed);
    EXPECT_GT(latest[2].version, 5u) << "versions continue above the stored ones";
    EXPECT_EQ(latest.count(1), 0u);
}

// Blocks every run until released.
class gate_runner final : public job_runner {
  public:
    run_outcome run(const delivery&) override {
        std::unique_lock lock(mu_);
        ++entered_;
        cv_.notify_all();
        cv_.wait(lock, [&] { return open_; });
        return {};
    }
    void open() {
        std::lock_guard lock(mu_);
        open_ = true;
        cv_.notify_all();
    }
    bool wait_entered(int n) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, test::hang_guard, [&] { return entered_ >= n; });
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    int entered_ = 0;
    bool open_ = false;
};

// Pools with a queue limit: `stuck` runs through the gate (one thread), noop completes at once.
std::unique_ptr<pool_set> gated_pools(std::size_t limit, job_type stuck,
                                      std::shared_ptr<gate_runner> gate) {
    pool_set_options o = fast_retries();
    o.queue_limit = limit;
    auto pools = std::make_unique<pool_set>(o);
    pools->configure(stuck, std::move(gate), 1);
    pools->configure(job_type::noop, std::make_shared<noop_runner>(), 1);
    return pools;
}

TEST(pool_backpressure, full_pool_sets_its_bit_while_others_keep_running) {
    fixture f;
    auto gate = std::make_shared<gate_runner>();
    auto owned = gated_pools(3, job_type::report, gate);
    pool_set& pools = *owned;
    ASSERT_TRUE(pools.start().ok());
    for (int i = 1; i <= 3; ++i) {
        EXPECT_EQ(pools.full_job_types(), 0u) << i;
        auto g = std::make_shared<delivery_group>(test::make_event(i, 5), 1, 1, f.log, &f.dlog);
        pools.submit(delivery{g, sub(1, 0, job_type::report)});
    }
    ASSERT_TRUE(gate->wait_entered(1));
    EXPECT_EQ(pools.full_job_types(), job_type_bit(job_type::report));
    auto why = pools.describe_full(pools.full_job_types());
    EXPECT_NE(why.find("handler pool report is full (3 deliveries"), std::string::npos) << why;
    // Another job type is not delayed by the stuck one, and its pool is not marked.
    auto g = std::make_shared<delivery_group>(test::make_event(100, 5), 1, 1, f.log, &f.dlog);
    pools.submit(delivery{g, sub(2, 0, job_type::noop)});
    ASSERT_TRUE(f.log.wait_for_finals(1));
    EXPECT_EQ(f.log.all().back().ev->id, 100);
    EXPECT_EQ(pools.full_job_types(), job_type_bit(job_type::report));
    gate->open();
    ASSERT_TRUE(f.log.wait_for_finals(4));
    pools.stop(far_deadline());
    EXPECT_EQ(pools.full_job_types(), 0u) << "drained: the bit is cleared";
}

TEST(pool_backpressure, no_limit_never_marks_a_pool_full) {
    fixture f;
    pool_set pools;  // queue_limit 0
    pools.configure(job_type::noop, std::make_shared<noop_runner>(), 1);
    for (int i = 1; i <= 5; ++i) {  // not started: they stay queued
        auto g = std::make_shared<delivery_group>(test::make_event(i, 5), 1, 1, f.log, &f.dlog);
        pools.submit(delivery{g, sub(1, 0, job_type::noop)});
    }
    EXPECT_EQ(pools.full_job_types(), 0u);
    ASSERT_TRUE(pools.start().ok());
    ASSERT_TRUE(f.log.wait_for_finals(5));
    pools.stop(far_deadline());
}

std::uint32_t bits(std::initializer_list<job_type> types) {
    std::uint32_t out = 0;
    for (auto t : types) out |= job_type_bit(t);
    return out;
}

TEST(job_type_reach, types_star_and_inactive_subscribers) {
    auto inactive = test::make_sub(4, "fast", job_type::import);
    inactive.is_active = false;
    std::vector<subscriber> subs{test::make_sub(1, "slow", job_type::custom),
                                 test::make_sub(2, "fast", job_type::noop),
                                 test::make_sub(3, "*", job_type::report), inactive,
                                 test::make_sub(5, "slow", job_type::custom)};
    job_type_reach reach(subs);
    EXPECT_EQ(reach.of("slow"), bits({job_type::custom, job_type::report}));
    EXPECT_EQ(reach.of("fast"), bits({job_type::noop, job_type::report})) << "inactive excluded";
    EXPECT_EQ(reach.of("other"), bits({job_type::report})) << "'*' reaches every type";
    EXPECT_EQ(reach.of("sl*"), bits({job_type::report})) << "event types are not globs";
    EXPECT_EQ(job_type_reach().of("slow"), 0u);

    // The router computes it from the snapshot (which holds only the active subscribers), and a
    // filter does not narrow it.
    memory_log log;
    pool_set pools;
    router r({}, log, pools);
    EXPECT_EQ(r.job_types_reached("slow"), 0u);
    subs.push_back(test::make_sub(6, "filtered", job_type::inbox_processor));
    subs.back().filter_json = R"({"event_source":"never"})";
    r.set_subscribers(build_snapshot(subs));
    EXPECT_EQ(r.job_types_reached("slow"), bits({job_type::custom, job_type::report}));
    EXPECT_EQ(r.job_types_reached("fast"), bits({job_type::noop, job_type::report}));
    EXPECT_EQ(r.job_types_reached("filtered"), bits({job_type::inbox_processor, job_type::report}));
    r.set_subscribers(build_snapshot({test::make_sub(7, "fast", job_type::custom)}));
    EXPECT_EQ(r.job_types_reached("fast"), bits({job_type::custom})) << "a new snapshot is seen";
    EXPECT_EQ(r.job_types_reached("slow"), 0u);
}

class fixed_pressure final : public delivery_pressure {
  public:
    std::atomic<std::uint32_t> mask{0};
    std::uint32_t full_job_types() const override { return mask.load(); }
    std::string describe_full(std::uint32_t m) const override {
        std::string out;
        for (int t = 0; t < job_type_count; ++t) {
            if ((m & job_type_bit(static_cast<job_type>(t))) == 0) continue;
            if (!out.empty()) out += " and ";
            out += "pool " + std::string(to_string(static_cast<job_type>(t))) + " full";
        }
        return out;
    }
};

TEST(router_admit, refuses_only_types_that_reach_a_full_pool) {
    memory_log log;
    pool_set pools;
    fixed_pressure pressure;
    router_options ro;
    ro.pressure = &pressure;
    router r(ro, log, pools);
    r.set_subscribers(build_snapshot({test::make_sub(1, "slow", job_type::custom),
                                      test::make_sub(2, "fast", job_type::noop),
                                      test::make_sub(3, "both", job_type::custom),
                                      test::make_sub(4, "both", job_type::report)}));
    EXPECT_TRUE(r.admit("slow").ok());
    pressure.mask = bits({job_type::custom});
    status s = r.admit("slow");
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.message(),
              "event refused: pool custom full; events of type 'slow' are refused until it drains");
    EXPECT_TRUE(r.admit("fast").ok());
    EXPECT_TRUE(r.admit("nobody").ok()) << "an event nobody receives is never refused";
    pressure.mask = bits({job_type::custom, job_type::report, job_type::noop});
    s = r.admit("both");
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("pool report full and pool custom full; events of type 'both' are "
                               "refused until they drain"),
              std::string::npos)
        << s.message();
    r.set_subscribers(build_snapshot({test::make_sub(5, "*", job_type::noop)}));
    EXPECT_FALSE(r.admit("nobody").ok()) << "'*' reaches it now";
    pressure.mask = 0;
    EXPECT_TRUE(r.admit("nobody").ok());
}

class counting_ids final : public id_source {
  public:
    result<event_id> next_id() override { return next_.fetch_add(1) + 1; }

  private:
    std::atomic<event_id> next_{0};
};

// The whole door path without a database: a stuck custom pool refuses its event type at the
// intake, another type is accepted and completed, and the refused type is accepted again once
// the pool drained.
TEST(router_admit, stuck_custom_pool_refuses_its_type_at_the_intake_only) {
    memory_log log;
    counting_ids ids;
    auto gate = std::make_shared<gate_runner>();
    auto owned = gated_pools(2, job_type::custom, gate);
    pool_set& pools = *owned;
    router_options ro;
    ro.pressure = &pools;
    router r(ro, log, pools);
    r.set_subscribers(build_snapshot(
        {test::make_sub(1, "slow", job_type::custom), test::make_sub(2, "fast", job_type::noop)}));
    intake in(ids, log, r);
    ASSERT_TRUE(pools.start().ok());
    ASSERT_TRUE(r.start().ok());
    auto submit = [&](const std::string& type) {
        std::optional<result<event_id>> got;
        event_draft d;
        d.type = type;
        in.submit(std::move(d), ack_mode::queued, [&](const result<event_id>& res) { got = res; });
        EXPECT_TRUE(got.has_value());
        return got.value_or(status::error("no ack"));
    };
    ASSERT_TRUE(submit("slow").ok());
    ASSERT_TRUE(submit("slow").ok());
    ASSERT_TRUE(gate->wait_entered(1));
    for (auto until = std::chrono::steady_clock::now() + test::hang_guard;
         pools.full_job_types() == 0 && std::chrono::steady_clock::now() < until;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the second is dispatched
    }
    auto refused = submit("slow");
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.message().find("handler pool custom is full (2 deliveries queued or "
                                     "running, limit 2, --queue-limit); events of type 'slow' "
                                     "are refused until it drains"),
              std::string::npos)
        << refused.message();
    auto fast = submit("fast");
    ASSERT_TRUE(fast.ok()) << fast.message();
    ASSERT_TRUE(log.wait_for_finals(1));
    EXPECT_EQ(log.all().back().ev->id, fast.value()) << "completed while custom is stuck";
    gate->open();
    ASSERT_TRUE(log.wait_for_finals(3));
    for (auto until = std::chrono::steady_clock::now() + test::hang_guard;
         pools.full_job_types() != 0 && std::chrono::steady_clock::now() < until;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // the last release
    }
    auto again = submit("slow");
    ASSERT_TRUE(again.ok()) << again.message();
    ASSERT_TRUE(log.wait_for_finals(4));
    r.stop(far_deadline());
    pools.stop(far_deadline());
}

}  // namespace
}  // namespace pubsub
