// Process starts per second through run_process, from 1, 2 and 8 threads, with each start's
// cost (spawn, exec, exit, reap) as p50_us / p99_us: a trivial
// `#!/bin/sh\nexit 0` script (kernel exec + dash start-up), and /bin/true for the floor without
// an interpreter. And handler throughput through the pools (issue 6 figures):
// - BM_custom_starts/N: deliveries per second of a `custom` subscriber running that script,
//   through pool_set with N threads and the real custom runner (realpath + --scripts-dir check,
//   scrubbed environment, event JSON on stdin, process group, reaping).
// - BM_noop_path/S: the in-process path of the noop handler: router (priority queues, matcher,
//   delivery_group) -> pool_set (queue, thread, retry bookkeeping) -> transition log, with S
//   matching noop subscribers per event; the time per delivery is the overhead of the whole
//   path without the database (the write-behind is measured by pubsub-bench, bench/RESULTS.md).
// items_per_second is the figure to read.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>

#include "handlers/persistent_workers.h"
#include "handlers/pool_set.h"
#include "handlers/process_job_runner.h"
#include "handlers/process_runner.h"
#include "router/router.h"

namespace {

using namespace pubsub;

// The script lives in a mkdtemp directory for the whole run.
class script_dir {
  public:
    script_dir() {
        char tmpl[] = "/tmp/pubsub-bench-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) std::abort();
        dir_ = tmpl;
        script_ = dir_ + "/exit0.sh";
        std::ofstream(script_) << "#!/bin/sh\nexit 0\n";
        ::chmod(script_.c_str(), 0755);
    }
    ~script_dir() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    const std::string& script() const { return script_; }
    const std::string& dir() const { return dir_; }

  private:
    std::string dir_, script_;
};

const script_dir& scripts() {
    static script_dir d;
    return d;
}

void run_loop(benchmark::State& state, const std::string& program) {
    pubsub::process_spec spec;
    spec.argv = {program};
    spec.env = {"PATH=/usr/bin:/bin"};
    spec.stdin_data = R"({"id":1,"type":"bench"})";
    std::vector<double> us;  // each start to reaped exit
    for (auto _ : state) {
        const auto t0 = std::chrono::steady_clock::now();
        auto out = pubsub::run_process(spec);
        us.push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0)
                .count());
        if (!out.success()) {
            state.SkipWithError(out.describe().c_str());
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
    // Per-process cost, p50 and p99 (averaged over threads), in microseconds.
    std::sort(us.begin(), us.end());
    for (auto [name, q] : {std::pair{"p50_us", 0.50}, std::pair{"p99_us", 0.99}}) {
        const double v = us.empty() ? 0 : us[static_cast<std::size_t>(q * double(us.size() - 1))];
        state.counters[name] = benchmark::Counter(v, benchmark::Counter::kAvgThreads);
    }
}

void BM_start_sh_script(benchmark::State& state) { run_loop(state, scripts().script()); }
void BM_start_bin_true(benchmark::State& state) { run_loop(state, "/bin/true"); }

BENCHMARK(BM_start_sh_script)->Threads(1)->Threads(2)->Threads(8)->UseRealTime();
BENCHMARK(BM_start_bin_true)->Threads(1)->Threads(2)->Threads(8)->UseRealTime();

class counting_log final : public transition_log {
  public:
    void record(transition t) override {
        if (t.status != event_status::completed && t.status != event_status::failed) return;
        if (t.status == event_status::failed) failed_.fetch_add(1, std::memory_order_relaxed);
        std::lock_guard lock(mu_);
        ++finals_;
        if (finals_ >= target_) cv_.notify_all();
    }
    status admit() const override { return {}; }
    void expect(std::uint64_t n) {
        std::lock_guard lock(mu_);
        target_ = finals_ + n;
    }
    void wait() {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return finals_ >= target_; });
    }
    std::uint64_t failed() const { return failed_.load(); }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::uint64_t finals_ = 0, target_ = 0;
    std::atomic<std::uint64_t> failed_{0};
};

// Submits `batch` one-delivery events of sub and waits until all have ended.
void run_batch(pool_set& pools, const std::shared_ptr<const subscriber>& sub, counting_log& log,
               event_id& next, int batch) {
    log.expect(static_cast<std::uint64_t>(batch));
    for (int i = 0; i < batch; ++i) {
        auto ev = std::make_shared<event>();
        ev->id = next++;
        ev->type = "bench";
        ev->data_json = R"({"x":1})";
        pools.submit(delivery{std::make_shared<delivery_group>(ev, 1, 1, log), sub});
    }
    log.wait();
}

void BM_custom_starts(benchmark::State& state) {
    const int threads = static_cast<int>(state.range(0));
    handler_settings hs;
    hs.scripts_dirs = {scripts().dir()};
    auto runner = make_job_runner(job_type::custom, hs);
    if (!runner.ok()) {
        state.SkipWithError(runner.message().c_str());
        return;
    }
    counting_log log;
    pool_set pools(pool_set_options{});
    pools.configure(job_type::custom, *runner, threads);
    (void)pools.start();  // never fails
    subscriber s;
    s.id = 1;
    s.name = "bench";
    s.job = job_type::custom;
    s.script_path = scripts().script();
    s.max_retries = 0;
    auto sub = std::make_shared<const subscriber>(s);
    const int batch = threads * 8;
    event_id next = 1;
    for (auto _ : state) {
        run_batch(pools, sub, log, next, batch);
    }
    pools.stop(std::chrono::steady_clock::now() + std::chrono::seconds(10));
    if (log.failed() > 0) state.SkipWithError("some deliveries failed");
    state.SetItemsProcessed(state.iterations() * batch);
}

void BM_noop_path(benchmark::State& state) {
    const int subs = static_cast<int>(state.range(0));
    counting_log log;
    pool_set pools(pool_set_options{});
    pools.configure(job_type::noop, std::make_shared<noop_runner>(), 1);
    router r({}, log, pools);
    std::vector<subscriber> list;
    for (int i = 0; i < subs; ++i) {
        subscriber s;
        s.id = i + 1;
        s.name = "noop" + std::to_string(i);
        s.event_type = "bench";
        s.filter_json = "{}";
        s.job = job_type::noop;
        list.push_back(s);
    }
    r.set_subscribers(build_snapshot(std::move(list)));
    (void)pools.start();  // never fails (nor does the router)
    (void)r.start();
    constexpr int batch = 20'000;
    event_id next = 1;
    for (auto _ : state) {
        log.expect(batch);
        for (int i = 0; i < batch; ++i) {
            auto ev = std::make_shared<event>();
            ev->id = next++;
            ev->type = "bench";
            ev->data_json = "{}";
            r.enqueue(std::move(ev));
        }
        log.wait();
    }
    r.stop(std::chrono::steady_clock::now() + std::chrono::seconds(10));
    pools.stop(std::chrono::steady_clock::now() + std::chrono::seconds(10));
    state.SetItemsProcessed(state.iterations() * batch * subs);
    state.counters["events_per_second"] = benchmark::Counter(
        static_cast<double>(state.iterations() * batch), benchmark::Counter::kIsRate);
}

// The same trivial Python handler (parse the event, return) as a per-event `custom` script and
// as one persistent worker on pubsub_client.serve (SPEC 7.3), through pool_set with 4 threads
// and the real custom runner. Arg: 0 process, 1 persistent.
void BM_python_handler(benchmark::State& state) {
    const bool persistent = state.range(0) == 1;
    const std::string dir = scripts().dir();
    const std::string script = dir + (persistent ? "/py_persistent.py" : "/py_process.py");
    std::ofstream(script) << (persistent ? "#!/usr/bin/env python3\n"
                                           "import sys\n"
                                           "sys.path.insert(0, '" PUBSUB_PYTHON_CLIENT_DIR "')\n"
                                           "import pubsub_client\n"
                                           "pubsub_client.serve(lambda event, delivery: None)\n"
                                         : "#!/usr/bin/env python3\n"
                                           "import json, sys\n"
                                           "event = json.load(sys.stdin)\n");
    ::chmod(script.c_str(), 0755);
    auto workers = std::make_shared<persistent_workers>(persistent_options{});
    (void)workers->start();
    handler_settings hs;
    hs.scripts_dirs = {dir};
    hs.workers = workers;
    auto runner = make_job_runner(job_type::custom, hs);
    counting_log log;
    pool_set pools(pool_set_options{});
    pools.configure(job_type::custom, *runner, 4);
    (void)pools.start();
    subscriber s;
    s.id = 1;
    s.name = "bench";
    s.job = job_type::custom;
    s.script_path = script;
    s.max_retries = 0;
    s.mode = persistent ? run_mode::persistent : run_mode::process;
    auto sub = std::make_shared<const subscriber>(s);
    const int batch = persistent ? 1000 : 16;
    event_id next = 1;
    for (auto _ : state) {
        run_batch(pools, sub, log, next, batch);
    }
    pools.stop(std::chrono::steady_clock::now() + std::chrono::seconds(10));
    workers->stop(std::chrono::steady_clock::now() + std::chrono::seconds(10));
    if (log.failed() > 0) state.SkipWithError("some deliveries failed");
    state.SetItemsProcessed(state.iterations() * batch);
}

BENCHMARK(BM_custom_starts)->Arg(2)->Arg(8)->Arg(32)->UseRealTime()->MinTime(2.0);
BENCHMARK(BM_python_handler)->Arg(0)->Arg(1)->UseRealTime()->MinTime(3.0);
BENCHMARK(BM_noop_path)->Arg(1)->Arg(3)->UseRealTime()->MinTime(1.0);

}  // namespace

BENCHMARK_MAIN();
