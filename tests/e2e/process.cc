#include "tests/e2e/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

extern char** environ;

namespace pubsub::e2e {

namespace fs = std::filesystem;

temp_dir::temp_dir(const std::string& prefix) {
    const char* base = std::getenv("TMPDIR");
    std::string pattern = std::string(base && *base ? base : "/tmp") + "/" + prefix + "XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) return;
    ::chmod(pattern.c_str(), 0711);
    path_ = pattern;
}

temp_dir::~temp_dir() {
    if (path_.empty() || std::getenv("PUBSUB_KEEP_TMP")) return;
    std::error_code ec;
    fs::remove_all(path_, ec);
}

result<child_process> child_process::spawn(const std::vector<std::string>& argv,
                                           const fs::path& log_file, const fs::path& cwd) {
    if (argv.empty()) return status::error("spawn: empty argv");
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);

    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());

    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    pid_t pid = -1;
    int rc = argv[0].find('/') == std::string::npos
                 ? posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ)
                 : posix_spawn(&pid, args[0], &fa, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) return status::error("cannot spawn " + argv[0] + ": " + std::strerror(rc));
    return child_process(pid, log_file);
}

child_process::child_process(child_process&& o) noexcept
    : pid_(o.pid_), exit_code_(o.exit_code_), log_(std::move(o.log_)) {
    o.pid_ = -1;
}

child_process& child_process::operator=(child_process&& o) noexcept {
    if (this != &o) {
        this->~child_process();
        pid_ = o.pid_;
        exit_code_ = o.exit_code_;
        log_ = std::move(o.log_);
        o.pid_ = -1;
    }
    return *this;
}

child_process::~child_process() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        reap(0);
    }
}

bool child_process::reap(int options) {
    if (pid_ <= 0) return true;
    int st = 0;
    pid_t r;
    do {
        r = ::waitpid(pid_, &st, options);
    } while (r < 0 && errno == EINTR);
    if (r == 0) return false;
    exit_code_ = r < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    pid_ = -1;
    return true;
}

bool child_process::running() { return !reap(WNOHANG); }

status child_process::signal(int sig) const {
    if (pid_ <= 0) return status::error("the process has already exited");
    if (::kill(pid_, sig) != 0) return status::error(std::string("kill: ") + std::strerror(errno));
    return status();
}

std::optional<int> child_process::wait(std::chrono::milliseconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (!reap(WNOHANG)) {
        if (std::chrono::steady_clock::now() >= until) return std::nullopt;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return exit_code_;
}

std::string child_process::log_tail(std::size_t max_bytes) const {
    return file_tail(log_, max_bytes);
}

result<int> run_command(const std::vector<std::string>& argv, const fs::path& log_file,
                        std::chrono::seconds timeout) {
    auto child = child_process::spawn(argv, log_file);
    if (!child.ok()) return child.error();
    auto code = child->wait(timeout);
    if (!code) return status::error(argv[0] + " did not finish within its timeout");
    return *code;
}

std::string file_tail(const fs::path& file, std::size_t max_bytes) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return "";
    std::stringstream ss;
    ss << in.rdbuf();
    std::string all = ss.str();
    return all.size() <= max_bytes ? all : all.substr(all.size() - max_bytes);
}

}  // namespace pubsub::e2e
