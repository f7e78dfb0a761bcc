#include "bench/pubsub_bench/socket_load.h"

#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "base/errno_text.h"
#include "bench/pubsub_bench/producers.h"

namespace pubsub::bench {

int connect_unix(const std::string& path, std::string& error) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) {
        error = "socket path too long: " + path;
        return -1;
    }
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        error = "connect " + path + ": " + errno_text(errno);
        if (fd >= 0) ::close(fd);
        return -1;
    }
    return fd;
}

namespace {

constexpr std::size_t write_chunk = 64 * 1024;

void sleep_until_wall(std::int64_t us) {
    timespec ts{static_cast<time_t>(us / 1'000'000), static_cast<long>(us % 1'000'000) * 1000};
    while (clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

void append_uint(std::string& out, std::uint64_t v) {
    char b[24];
    auto r = std::to_chars(b, b + sizeof b, v);
    out.append(b, r.ptr);
}

// One connection: the writer thread sends lines, the reader (another thread) reads replies.
class producer {
  public:
    producer(const bench_options& opt, int index, std::int64_t t0_us,
             std::vector<event_record>& records)
        : opt_(opt), p_(index), t0_us_(t0_us), records_(records) {
        const std::size_t P = static_cast<std::size_t>(opt.producers);
        n_ = opt.events > static_cast<std::size_t>(p_)
                 ? (opt.events - static_cast<std::size_t>(p_) + P - 1) / P
                 : 0;
        ack_field_ = ",\"ack\":\"" + opt.ack + "\"}\n";
    }

    void run(const std::string& socket_path) {
        fd_ = connect_unix(socket_path, error_);
        if (fd_ < 0) return;
        std::thread w([this] { write_loop(); });
        read_loop();
        {
            std::lock_guard lock(mu_);
            done_ = true;
        }
        cv_.notify_all();
        w.join();
        ::close(fd_);
    }

    std::size_t answered() const { return answered_; }
    const std::string& error() const { return error_; }

  private:
    std::size_t global(std::size_t k) const { return k * opt_.producers + p_; }
    std::int64_t intended(std::size_t k) const {
        return t0_us_ + static_cast<std::int64_t>(static_cast<double>(global(k)) * 1e6 / opt_.rate);
    }

    void append_line(std::string& buf, std::size_t k) {
        std::size_t i = global(k);
        int prio = priority_of(opt_.priorities, i);
        records_[i].priority = static_cast<std::int8_t>(prio);
        buf += "{\"event_type\":\"";
        buf += bench_event_type;
        buf += "\",\"event_source\":\"bench:";
        append_uint(buf, static_cast<std::uint64_t>(p_));
        buf += "\",\"event_data\":";
        buf += event_data_json(i, opt_.payload_bytes);
        buf += ",\"priority\":";
        append_uint(buf, static_cast<std::uint64_t>(prio));
        append_producer_fields(opt_, i, buf);
        buf += ack_field_;
    }

    bool send_all(const std::string& buf) {
        std::string_view rest = buf;
        while (!rest.empty()) {
            ssize_t n = ::send(fd_, rest.data(), rest.size(), MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                return false;
            }
            rest.remove_prefix(static_cast<std::size_t>(n));
        }
        return true;
    }

    // Waits until fewer than window lines are unanswered; returns the answered count, or
    // nullopt-like SIZE_MAX when the reader has finished (peer closed).
    std::size_t wait_window(std::size_t k) {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return done_ || k - answered_shared_ < opt_.window; });
        return done_ ? SIZE_MAX : answered_shared_;
    }

    void write_loop() {
        // The default timer slack (50 us) would wake the paced writer up to 50 us after each
        // line is due; 1 ns makes the sleep end on time without spinning.
        if (opt_.rate > 0) ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
        std::string buf;
        buf.reserve(write_chunk + 4096);
        std::size_t k = 0;
        while (k < n_) {
            std::size_t answered = wait_window(k);
            if (answered == SIZE_MAX) return;
            std::size_t limit = std::min(n_, answered + opt_.window);
            std::int64_t now = 0;
            if (opt_.rate > 0) {
                std::int64_t due = intended(k);
                if (due > wall_us()) {
                    sleep_until_wall(due);
                    continue;
                }
                now = wall_us();
            }
            buf.clear();
            std::size_t end = k;
            while (end < limit && buf.size() < write_chunk &&
                   (opt_.rate <= 0 || intended(end) <= now)) {
                append_line(buf, end++);
            }
            std::int64_t ts = wall_us();
            for (std::size_t j = k; j < end; ++j) {
                auto& r = records_[global(j)];
                r.send_us = ts;
                r.intended_us = opt_.rate > 0 ? intended(j) : ts;
            }
            if (!send_all(buf)) return;  // the reader sees the closed peer and reports it
            k = end;
        }
    }

    void on_reply(std::string_view line, std::int64_t ts) {
        auto& r = records_[global(answered_)];
        r.ack_us = ts;
        constexpr std::string_view ok = "{\"ok\":true,\"event_id\":";
        if (line.starts_with(ok)) {
            std::int64_t id = 0;
            std::from_chars(line.data() + ok.size(), line.data() + line.size(), id);
            r.event_id = id;
        } else if (error_.empty()) {
            error_ = std::string(line);
        }
        ++answered_;
    }

    void read_loop() {
        std::string carry;
        char buf[64 * 1024];
        while (answered_ < n_) {
            pollfd pfd{fd_, POLLIN, 0};
            int pr = ::poll(&pfd, 1, opt_.timeout_s * 1000);
            if (pr == 0) {
                error_ = "no reply for " + std::to_string(opt_.timeout_s) + " s";
                return;
            }
            if (pr < 0 && errno == EINTR) continue;
            ssize_t n = ::read(fd_, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                error_ = n == 0 ? "daemon closed the connection" : errno_text(errno);
                return;
            }
            std::int64_t ts = wall_us();
            std::string_view data(buf, static_cast<std::size_t>(n));
            std::size_t nl;
            while ((nl = data.find('\n')) != std::string_view::npos && answered_ < n_) {
                if (carry.empty()) {
                    on_reply(data.substr(0, nl), ts);
                } else {
                    carry.append(data.substr(0, nl));
                    on_reply(carry, ts);
                    carry.clear();
                }
                data.remove_prefix(nl + 1);
            }
            carry.append(data);
            {
                std::lock_guard lock(mu_);
                answered_shared_ = answered_;
            }
            cv_.notify_one();
        }
    }

    const bench_options& opt_;
    int p_;
    std::int64_t t0_us_;
    std::vector<event_record>& records_;
    std::size_t n_ = 0;
    std::string ack_field_;
    int fd_ = -1;
    std::string error_;
    std::size_t answered_ = 0;  // reader thread only
    std::mutex mu_;
    std::condition_variable cv_;
    std::size_t answered_shared_ = 0;  // guarded by mu_
    bool done_ = false;                // guarded by mu_
};

}  // namespace

int priority_of(const std::vector<priority_weight>& mix, std::size_t i) {
    if (mix.size() == 1) return mix[0].priority;
    std::size_t total = 0;
    for (const auto& w : mix) total += static_cast<std::size_t>(w.weight);
    // Spread with a multiplicative hash so the priorities interleave instead of coming in runs.
    std::size_t slot = (i * 2654435761u) % total;
    for (const auto& w : mix) {
        if (slot < static_cast<std::size_t>(w.weight)) return w.priority;
        slot -= static_cast<std::size_t>(w.weight);
    }
    return mix.back().priority;
}

std::string event_data_json(std::size_t i, std::size_t payload_bytes) {
    std::string s = "{\"i\":";
    append_uint(s, i);
    s += ",\"pad\":\"";
    std::size_t used = s.size() + 2;
    if (payload_bytes > used) s.append(payload_bytes - used, 'x');
    s += "\"}";
    return s;
}

socket_load_result run_socket_load(const bench_options& opt, const std::string& socket_path) {
    socket_load_result out;
    out.records.resize(opt.events);
    std::int64_t t0 = wall_us() + 2000;
    std::vector<std::unique_ptr<producer>> ps;
    for (int p = 0; p < opt.producers; ++p) {
        ps.push_back(std::make_unique<producer>(opt, p, t0, out.records));
    }
    std::vector<std::thread> threads;
    for (auto& p : ps) threads.emplace_back([&, pp = p.get()] { pp->run(socket_path); });
    for (auto& t : threads) t.join();
    for (auto& p : ps) {
        if (!p->error().empty() && out.first_error.empty()) out.first_error = p->error();
    }
    for (const auto& r : out.records) {
        if (r.event_id != 0) {
            ++out.ok;
        } else if (r.ack_us != 0) {
            ++out.errors;
        }
        if (r.send_us && (out.first_send_us == 0 || r.send_us < out.first_send_us)) {
            out.first_send_us = r.send_us;
        }
        out.last_ack_us = std::max(out.last_ack_us, r.ack_us);
    }
    return out;
}

}  // namespace pubsub::bench
