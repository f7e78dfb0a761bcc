// worker_set: the persistent workers of one subscriber (SPEC 7.3). It starts `workers`
// long-lived processes, hands each delivery to the one with the most room as one NDJSON line,
// and ends the delivery when the worker answers its opaque id.
//
// DESIGN: one I/O thread polls every worker's pipes and exit (pidfd) plus a wake-up pipe; it
// writes the queued delivery lines, reads answers and stderr, enforces timeouts (timeout_s from
// the moment a delivery is queued for the write, and for the hello), logs stderr lines (cut at
// max_stderr_line, at most max_stderr_lines_per_s), and restarts a worker
// that exits, writes a malformed or unknown line, or overruns a timeout: the worker's group is
// killed, its in-flight deliveries fail with that reason, and it starts again after an
// exponential backoff (backoff_min doubled per consecutive loss, up to backoff_max; a
// successful answer resets it). submit() runs on the pools' threads and never waits: it
// writes the line to the worker with the most room (on the submitting thread, so a trickle
// costs no wake-up of the I/O thread), or, while no ready worker has room (the back-pressure),
// appends the delivery to the set's wait queue, which the I/O thread serves in order as room
// appears and fails (with the last worker error) after timeout_s. So a set whose workers keep
// dying holds no pool thread, and the process-mode subscribers of its job type run on. The
// wait queue is bounded by the pool's --queue-limit: its deliveries count as in flight there
// until they end (pool_set.h). The outcome callbacks run on the I/O thread (or on the
// submitting thread when the delivery never started), never under the set's lock. SIGPIPE is
// blocked in the I/O thread, so a worker that closes its stdin only makes a write fail.
// Lifecycle: start() starts the thread (workers start from it); close(deadline) stops taking
// deliveries, lets those in flight and waiting finish on the workers still up, closes each
// worker's stdin once it holds none and nothing waits, and reaps it when it exits; at the
// deadline it kills the groups, and what is still in flight or waiting ends not_run (when
// stopping) or failed. stop(deadline) is close() and a join. Thread-safe.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/result.h"
#include "base/service.h"
#include "base/unique_fd.h"
#include "handlers/job_runner.h"
#include "handlers/worker_protocol.h"

namespace pubsub {

class process_group_registry;
class worker_process;

struct worker_spec {
    std::vector<std::string> argv;
    std::vector<std::string> env;  // complete, "K=V"
    std::string subscriber;        // for logs
    int workers = 1;
    int window = 16;  // at most this many deliveries in flight per worker (--worker-window)
    std::chrono::milliseconds timeout{300000};
    std::chrono::milliseconds backoff_min{200}, backoff_max{30000};
    std::size_t max_line_bytes = 1 << 20;  // a longer stdout line is malformed
    std::size_t max_stderr_line = 4096;    // longer stderr lines are cut in the log
    int max_stderr_lines_per_s = 100;      // per set; beyond, lines are counted, not logged
    std::shared_ptr<const process_group_registry> registry;  // may be null
};

// One worker, for status and metrics.
struct worker_status {
    int slot = 0;
    pid_t pid = 0;         // 0 while down
    bool running = false;  // said hello and takes deliveries
    int in_flight = 0;
    std::uint64_t restarts = 0, completed = 0, failed = 0;
    std::string last_error;
};

class worker_set final : public service {
  public:
    explicit worker_set(worker_spec spec);
    ~worker_set() override;
    worker_set(const worker_set&) = delete;
    worker_set& operator=(const worker_set&) = delete;

    std::string_view name() const override { return "persistent workers"; }
    status start() override;  // fails only when the thread cannot start
    void stop(clock::time_point deadline) noexcept override;
    // Begins the close (see Lifecycle) without waiting; `shutting_down`: what the deadline
    // catches in flight ends not_run (pubsubd is stopping), else it fails.
    void close(clock::time_point deadline, bool shutting_down);
    // True once closed and every worker is down (the thread has nothing left to do).
    bool finished() const;

    // Hands the delivery to a worker (see DESIGN); done is called exactly once.
    void submit(delivery_header h, std::string event_json, run_done done);
    // The deliveries in the wait queue end at once, not_run (the pool is past its deadline).
    void interrupt();
    // A delivery that waits for room (see DESIGN).
    struct waiting {
        delivery_header header;
        std::string event_json;
        run_done done;
        clock::time_point give_up;
    };
    // Takes the wait queue, for the set that replaces this one (persistent_workers.h).
    std::vector<waiting> take_waiting();
    // Queues deliveries taken from a replaced set, keeping their order and deadlines.
    void adopt(std::vector<waiting> w);

    const worker_spec& spec() const { return spec_; }
    std::vector<worker_status> snapshot() const;

  private:
    using completion = std::pair<run_done, run_outcome>;
    void loop();
    clock::time_point tend(clock::time_point now, std::vector<completion>& done);  // mu_ held
    void handle_io(std::size_t slot, short out_ev, short err_ev, short in_ev,
                   std::vector<completion>& done);  // mu_ held
    void on_line(worker_process& w, const std::string& line, std::vector<completion>& done);
    void lose(worker_process& w, const std::string& why, std::vector<completion>& done);
    void start_worker(worker_process& w, clock::time_point now);
    worker_process* pick();  // mu_ held
    void hand_to(worker_process& w, delivery_header h, std::string_view event_json, run_done done,
                 clock::time_point deadline);  // mu_ held
    // Serves the wait queue as far as room allows and fails what waited past timeout_s; ends
    // the rest once interrupted, or closing past the deadline or with no worker up. The next
    // give-up time. mu_ held.
    clock::time_point serve_waiting(clock::time_point now, std::vector<completion>& done);
    std::string no_room_reason() const;                                 // mu_ held
    void log_stderr(const worker_process& w, const std::string& line);  // I/O thread
    void wake();

    const worker_spec spec_;
    mutable std::mutex mu_;
    std::vector<std::unique_ptr<worker_process>> workers_;  // guarded by mu_
    std::uint64_t next_id_ = 0;                             // guarded by mu_
    std::size_t next_pick_ = 0;                             // guarded by mu_
    std::deque<waiting> waiting_;                           // guarded by mu_
    bool closing_ = false, shutting_down_ = false, interrupted_ = false, done_ = false;
    clock::time_point close_deadline_{};
    // The stderr rate bound: the I/O thread's alone.
    clock::time_point stderr_window_{};
    int stderr_lines_ = 0;
    std::uint64_t stderr_dropped_ = 0;
    unique_fd wake_read_, wake_write_;
    std::thread thread_;
};

}  // namespace pubsub
