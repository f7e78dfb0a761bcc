// Server state of an embedded cluster: see embedded_pg_server.h.
#include "storage/embedded_pg_server.h"

#include <signal.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <thread>

#include "storage/embedded_pg_files.h"

namespace fs = std::filesystem;

namespace pubsub::detail {

PGPing ping(const std::string& dsn) { return PQping((dsn + " connect_timeout=5").c_str()); }

PGPing ping_settled(const std::string& dsn, std::chrono::seconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    PGPing p = ping(dsn);
    while (p == PQPING_REJECT && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        p = ping(dsn);
    }
    return p;
}

std::vector<long> processes_in(const fs::path& pgdata) {
    std::vector<long> pids;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
        const std::string name = e.path().filename().string();
        if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
        if (read_text(e.path() / "comm").rfind("postgres", 0) != 0) continue;
        fs::path cwd = fs::read_symlink(e.path() / "cwd", ec);
        if (!ec && fs::equivalent(cwd, pgdata, ec)) pids.push_back(std::atol(name.c_str()));
    }
    return pids;
}

std::vector<long> wait_for_orphans(const fs::path& pgdata, std::chrono::seconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    auto pids = processes_in(pgdata);
    while (!pids.empty() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        pids = processes_in(pgdata);
    }
    return pids;
}

std::pair<pid_state, long> postmaster_state(const fs::path& pgdata) {
    std::ifstream in(pgdata / "postmaster.pid");
    if (!in) return {pid_state::absent, 0};
    long pid = 0;
    in >> pid;
    if (pid <= 0) return {pid_state::dead, pid};
    if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return {pid_state::dead, pid};
    const fs::path proc = "/proc/" + std::to_string(pid);
    // A zombie (no init reaping in some containers) holds nothing, but the server would see
    // its pid alive and refuse to start: treat it like a reused pid.
    std::string stat = read_text(proc / "stat");
    auto close_paren = stat.rfind(')');
    if (close_paren != std::string::npos && stat.compare(close_paren, 4, ") Z ") == 0) {
        return {pid_state::reused, pid};
    }
    std::string comm = read_text(proc / "comm");
    if (!comm.empty() && comm.rfind("postgres", 0) != 0) return {pid_state::reused, pid};
    std::error_code ec;
    fs::path cwd = fs::read_symlink(proc / "cwd", ec);
    if (ec) return {pid_state::ours, pid};
    return {fs::equivalent(cwd, pgdata, ec) ? pid_state::ours : pid_state::reused, pid};
}

}  // namespace pubsub::detail
