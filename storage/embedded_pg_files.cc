// Folders and files of an embedded cluster: see embedded_pg_files.h.
#include "storage/embedded_pg_files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/errno_text.h"

namespace fs = std::filesystem;

namespace pubsub::detail {

std::string hash8(const std::string& s) {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(h ^ (h >> 32)));
    return buf;
}

bool socket_path_ok(const fs::path& root) {
    const std::string s = (root / "sock").string() + k_socket_name;
    if (s.size() > k_sun_path_max) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("/._-+@=~", c);
    });
}

std::string tail_lines(const std::string& text, int n) {
    std::size_t end = text.find_last_not_of("\n ");
    if (end == std::string::npos) return "";
    std::size_t pos = end + 1;
    while (n-- > 0 && pos > 0) {
        std::size_t nl = text.rfind('\n', pos - 1);
        pos = nl == std::string::npos ? 0 : nl;
    }
    std::string out = text.substr(pos, end + 1 - pos);
    if (!out.empty() && out[0] == '\n') out.erase(0, 1);
    std::replace(out.begin(), out.end(), '\n', ' ');
    return out;
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

status write_text(const fs::path& p, const std::string& text, const pg_identity& owner,
                  mode_t mode) {
    const fs::path tmp = p.string() + ".tmp";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return status::error("cannot write " + tmp.string() + ": " + errno_text(errno));
    bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ok = fsync(fd) == 0 && ok;
    if (owner.switch_user) ok = fchown(fd, owner.uid, owner.gid) == 0 && ok;
    close(fd);
    if (!ok || rename(tmp.c_str(), p.c_str()) != 0) {
        return status::error("cannot write " + p.string() + ": " + errno_text(errno));
    }
    return status();
}

status make_dir(const fs::path& dir, mode_t mode, const pg_identity& owner) {
    if (mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
        return status::error("cannot create " + dir.string() + ": " + errno_text(errno));
    }
    if (owner.switch_user && chown(dir.c_str(), owner.uid, owner.gid) != 0) {
        return status::error("cannot give " + dir.string() + " to user " + owner.name + ": " +
                             errno_text(errno));
    }
    return status();
}

// A cluster folder outside the data dir (a fallback under /var/lib/pubsub, ~/.local/share or
// /var/tmp, or what data_dir/pg links to) is used only when it is private to the server user:
// a real directory (not a symlink) owned by that user with mode 0700. Its name is predictable,
// so someone else could create it first and plant a configuration the server would run, or a
// tmp cleaner could remove ours and let another user take the name.
status check_private_dir(const fs::path& dir, const pg_identity& owner) {
    struct stat st {};
    if (lstat(dir.c_str(), &st) != 0) {
        return status::error("cannot inspect " + dir.string() + ": " + errno_text(errno));
    }
    const uid_t want = owner.switch_user ? owner.uid : geteuid();
    std::string problem;
    if (!S_ISDIR(st.st_mode)) {
        problem = S_ISLNK(st.st_mode) ? "is a symlink" : "is not a directory";
    } else if (st.st_uid != want) {
        problem = "is owned by uid " + std::to_string(st.st_uid) + ", not by " +
                  (owner.switch_user ? owner.name : "this user") + " (uid " + std::to_string(want) +
                  ")";
    } else if ((st.st_mode & 07777) != 0700) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        problem = std::string("has mode ") + mode + ", not 0700";
    }
    if (problem.empty()) return status();
    return status::error("refusing the existing cluster folder " + dir.string() + ": it " +
                         problem +
                         "; if it is yours, fix it (chown, chmod 0700), otherwise "
                         "remove it");
}

// Creates a private cluster folder for owner, or vets the one already there: a folder it did not
// create is never chowned, so another user's cannot pass for ours.
status private_dir(const fs::path& dir, const pg_identity& owner) {
    if (mkdir(dir.c_str(), 0700) == 0) {
        if (owner.switch_user && chown(dir.c_str(), owner.uid, owner.gid) != 0) {
            return status::error("cannot give " + dir.string() + " to user " + owner.name + ": " +
                                 errno_text(errno));
        }
        return status();
    }
    if (errno != EEXIST) {
        return status::error("cannot create " + dir.string() + ": " + errno_text(errno));
    }
    return check_private_dir(dir, owner);
}

file_lock::file_lock(const fs::path& p) : fd_(open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
    if (fd_ >= 0) {
        while (flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
        }
    }
}

file_lock::~file_lock() {
    if (fd_ >= 0) close(fd_);
}

}  // namespace pubsub::detail
