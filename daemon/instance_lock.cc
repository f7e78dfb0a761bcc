#include "daemon/instance_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "base/errno_text.h"

namespace pubsub {

namespace {

// The pid text the holder wrote ("" when unreadable or empty).
std::string read_holder(int fd) {
    char buf[32] = {};
    auto n = ::pread(fd, buf, sizeof buf - 1, 0);
    std::string s(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s.find_first_not_of("0123456789") == std::string::npos ? s : std::string();
}

}  // namespace

result<instance_lock> instance_lock::take(const std::filesystem::path& file,
                                          const std::string& what) {
    std::error_code ec;
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path(), ec);
    int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        return status::error("cannot open lock file " + file.string() + " for " + what + ": " +
                             errno_text(errno));
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        std::string pid = e == EWOULDBLOCK ? read_holder(fd) : std::string();
        ::close(fd);
        if (e != EWOULDBLOCK) {
            return status::error("cannot lock " + file.string() + ": " + errno_text(e));
        }
        return status::error("another pubsubd (pid " + (pid.empty() ? "unknown" : pid) +
                             ") is using " + what + " (lock file " + file.string() + ")");
    }
    std::string me = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) != 0 ||
        ::pwrite(fd, me.data(), me.size(), 0) != static_cast<ssize_t>(me.size())) {
        int e = errno;
        ::close(fd);
        return status::error("cannot write " + file.string() + ": " + errno_text(e));
    }
    return instance_lock(fd);
}

instance_lock::~instance_lock() {
    if (fd_ >= 0) ::close(fd_);
}

// One pubsubd per data dir (embedded mode) and per socket path, checked before anything else
// touches either (SPEC 7.4). The data dir is created with embedded_pg's mode (0711 as root, so
// the server user can reach its cluster; 0700 otherwise).
result<std::vector<instance_lock>> lock_instance(const daemon_config& cfg) {
    std::vector<instance_lock> held;
    if (cfg.dsn.empty()) {
        std::error_code ec;
        const std::filesystem::path dir(cfg.data_dir);
        if (!std::filesystem::exists(dir, ec)) {
            if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), ec);
            const mode_t mode = geteuid() == 0 ? 0711 : 0700;
            if (::mkdir(dir.c_str(), mode) == 0) ::chmod(dir.c_str(), mode);
        }
        auto l = instance_lock::take(dir / "pubsubd.lock", "data dir " + cfg.data_dir);
        if (!l.ok()) return l.error();
        held.push_back(std::move(*l));
    }
    auto l = instance_lock::take(cfg.socket_path + ".lock", "socket " + cfg.socket_path);
    if (!l.ok()) return l.error();
    held.push_back(std::move(*l));
    return held;
}

}  // namespace pubsub
