#include "handlers/worker_process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "handlers/process_registry.h"

namespace pubsub {

namespace {

void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

std::string describe_exit(const result<exit_status>& st) {
    if (!st.ok()) return st.message();
    if (st->exited()) return "exit " + std::to_string(st->code);
    const char* abbrev = ::sigabbrev_np(st->signal);
    return "killed by signal " + std::to_string(st->signal) +
           (abbrev ? std::string(" (SIG") + abbrev + ")" : std::string());
}

}  // namespace

status worker_process::spawn(const std::vector<std::string>& argv,
                             const std::vector<std::string>& env,
                             const process_group_registry* registry) {
    spawn_options o;
    o.argv = argv;
    o.env = env;
    o.own_process_group = true;
    o.in = o.out = o.err = stdio::pipe();
    auto c = pubsub::spawn(o);
    if (!c.ok()) return c.error();
    proc = std::move(*c);
    in = std::move(proc.in());
    out = std::move(proc.out());
    err = std::move(proc.err());
    for (auto* fd : {&in, &out, &err}) set_nonblocking(fd->get());
    if (registry) registry->add(proc.pid());
    state = phase::starting;
    window = 0;
    to_write.clear();
    out_part.clear();
    err_part.clear();
    err_skipping = false;
    last_stderr.clear();
    return {};
}

std::string worker_process::kill_and_reap(const process_group_registry* registry) {
    in.reset();
    out.reset();
    err.reset();
    state = phase::down;
    if (!proc.running()) return {};
    const pid_t pid = proc.pid();
    (void)proc.signal_group(SIGKILL);
    auto st = proc.wait();
    // A child that exited on its own may have left others in its group: killed above too.
    if (registry) registry->remove(pid);
    return describe_exit(st);
}

void worker_process::close_stdin() {
    in.reset();
    to_write.clear();
}

bool worker_process::flush() {
    while (!to_write.empty() && in.open()) {
        ssize_t w = ::write(in.get(), to_write.data(), to_write.size());
        if (w > 0) {
            to_write.erase(0, static_cast<std::size_t>(w));
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) return true;
        return false;  // EPIPE: the worker closed its stdin or exited
    }
    return true;
}

void worker_process::read_lines(bool from_stdout, std::size_t max_line,
                                std::vector<std::string>& lines, bool& overlong, bool& eof) {
    unique_fd& fd = from_stdout ? out : err;
    std::string& part = from_stdout ? out_part : err_part;
    char chunk[64 * 1024];
    for (int round = 0; round < 4 && fd.open(); ++round) {
        ssize_t r = ::read(fd.get(), chunk, sizeof chunk);
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (r <= 0) {
            eof = true;
            fd.reset();
            if (!part.empty() && !(from_stdout ? false : err_skipping)) lines.push_back(part);
            part.clear();
            return;
        }
        for (ssize_t i = 0; i < r; ++i) {
            char c = chunk[i];
            if (c == '\n') {
                if (!err_skipping || from_stdout) lines.push_back(std::move(part));
                part.clear();
                if (!from_stdout) err_skipping = false;
                continue;
            }
            if (part.size() >= max_line) {
                if (from_stdout) {
                    overlong = true;
                    return;
                }
                if (!err_skipping) lines.push_back(part + "...");
                part.clear();
                err_skipping = true;
                continue;
            }
            if (!(err_skipping && !from_stdout)) part.push_back(c);
        }
    }
}

}  // namespace pubsub
