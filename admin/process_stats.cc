#include "admin/process_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

namespace pubsub::admin {

namespace {

std::uint64_t count_open_fds() {
    DIR* d = ::opendir("/proc/self/fd");
    if (!d) return 0;
    std::uint64_t n = 0;
    while (dirent* e = ::readdir(d)) {
        if (e->d_name[0] != '.') ++n;
    }
    ::closedir(d);
    return n > 0 ? n - 1 : 0;  // the listing's own fd
}

// Seconds since the epoch at which the machine booted (/proc/stat's btime).
double boot_time() {
    std::ifstream in("/proc/stat");
    std::string key;
    double value = 0;
    while (in >> key) {
        if (key == "btime" && in >> value) return value;
        in.ignore(1 << 20, '\n');
    }
    return 0;
}

}  // namespace

process_sample read_process_sample() {
    process_sample s;
    std::ifstream in("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    // Fields after the command name, which is in parentheses and may hold spaces: state is
    // field 3, utime 14, stime 15, starttime 22, vsize 23, rss 24 (proc(5)).
    auto close = text.rfind(')');
    if (close == std::string::npos) return s;
    std::istringstream fields(text.substr(close + 2));
    std::string f[22];
    for (auto& x : f) fields >> x;
    if (!fields) return s;
    try {
        const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
        const auto page = static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
        s.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
        s.start_time_seconds = boot_time() + std::stod(f[19]) / ticks;
        s.virtual_bytes = std::stoull(f[20]);
        s.resident_bytes = std::stoull(f[21]) * page;
    } catch (...) {
        return process_sample{};
    }
    s.open_fds = count_open_fds();
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) s.max_fds = lim.rlim_cur;
    s.ok = true;
    return s;
}

}  // namespace pubsub::admin
