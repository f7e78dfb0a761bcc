// process_group_registry: see process_registry.h.
#include "handlers/process_registry.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "base/errno_text.h"

namespace pubsub {

namespace fs = std::filesystem;

namespace {

// Fields 3.. of /proc/<pid>/stat (empty when the process does not exist). The command name
// (field 2) is in parentheses and may hold spaces: the fields start after the last ')'.
std::vector<std::string> stat_fields(const std::string& pid) {
    std::ifstream f("/proc/" + pid + "/stat");
    std::string stat((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto close = stat.rfind(')');
    if (close == std::string::npos) return {};
    std::istringstream rest(stat.substr(close + 1));
    std::vector<std::string> out;
    for (std::string field; out.size() < 20 && rest >> field;) out.push_back(field);
    return out;
}

}  // namespace

long long process_start_time(pid_t pid) {
    auto f = stat_fields(std::to_string(pid));
    return f.size() >= 20 ? std::atoll(f[19].c_str()) : -1;  // field 22
}

bool process_group_alive(pid_t pgid) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator("/proc", ec)) {
        const std::string name = entry.path().filename().string();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        auto f = stat_fields(name);  // f[0]: state (field 3), f[2]: process group (field 5)
        if (f.size() >= 3 && f[0] != "Z" && f[0] != "X" && std::atol(f[2].c_str()) == pgid) {
            return true;
        }
    }
    return false;
}

status process_group_registry::open() const {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) return status::error("cannot create " + dir_ + ": " + ec.message());
    fs::permissions(dir_, fs::perms::owner_all, ec);
    return status();
}

void process_group_registry::add(pid_t pid) const {
    static const pid_t self = ::getpid();
    static const long long self_start = process_start_time(self);
    const std::string text = std::to_string(process_start_time(pid)) + " " + std::to_string(self) +
                             " " + std::to_string(self_start) + "\n";
    const std::string path = dir_ + "/" + std::to_string(pid);
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return;
    (void)!::write(fd, text.data(), text.size());
    ::close(fd);
}

void process_group_registry::remove(pid_t pid) const {
    ::unlink((dir_ + "/" + std::to_string(pid)).c_str());
}

namespace {

// SIGKILL to the group, then up to a second for its processes to be dead.
bool kill_group(pid_t pgid) {
    if (::kill(-pgid, SIGKILL) != 0) return false;
    for (int i = 0; i < 100 && process_group_alive(pgid); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

}  // namespace

std::size_t process_group_registry::kill_orphans(
    const std::function<void(const std::string&)>& log) const {
    std::size_t killed = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
        const std::string name = entry.path().filename().string();
        char* end = nullptr;
        const long pid = std::strtol(name.c_str(), &end, 10);
        std::ifstream f(entry.path());
        long long recorded = -2, owner_start = -2;
        long owner = 0;
        f >> recorded >> owner >> owner_start;
        f.close();
        // Recorded by a pubsubd that is still alive (another one on this folder): not an orphan.
        if (owner > 1 && owner != ::getpid() && owner_start >= 0 &&
            process_start_time(static_cast<pid_t>(owner)) == owner_start) {
            continue;
        }
        fs::remove(entry.path(), ec);
        if (end == name.c_str() || *end != '\0' || pid <= 1) continue;
        const long long now = process_start_time(static_cast<pid_t>(pid));
        std::string why;
        if (now >= 0 && now == recorded) {
            why = "a handler left running by a previous pubsubd";
        } else if (now < 0 && process_group_alive(static_cast<pid_t>(pid))) {
            why = "what a handler of a previous pubsubd left in its process group";
        } else {
            continue;  // gone, or the pid was reused by an unrelated process
        }
        if (kill_group(static_cast<pid_t>(pid))) {
            ++killed;
            if (log) log("killed process group " + std::to_string(pid) + ": " + why);
        } else if (log) {
            log("cannot kill process group " + std::to_string(pid) + " (" + why +
                "): " + errno_text(errno));
        }
    }
    return killed;
}

}  // namespace pubsub
