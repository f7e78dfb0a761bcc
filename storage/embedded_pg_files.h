// Folders and files of an embedded cluster: the socket path rule, private cluster folders,
// atomic text files, the start/stop lock. Internal to storage/embedded_pg*.
// Thread-safety: plain functions without shared state; a file_lock belongs to one thread.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <string>

#include "base/result.h"
#include "storage/embedded_pg_user.h"

namespace pubsub::detail {

constexpr int k_port = 5432;
constexpr std::size_t k_sun_path_max = 107;  // sizeof(sockaddr_un::sun_path) - 1
constexpr const char* k_socket_name = "/.s.PGSQL.5432";

// 8 hex digits of a hash of s (FNV-1a), for fallback folder names.
std::string hash8(const std::string& s);

// The socket path must fit sun_path and survive pg_ctl's shell and the GUC list syntax.
bool socket_path_ok(const std::filesystem::path& root);

// The last n lines of text, on one line.
std::string tail_lines(const std::string& text, int n);

// The whole file ("" when it cannot be read).
std::string read_text(const std::filesystem::path& p);
// Writes p atomically (a .tmp file, fsync, rename), owned by owner when we switch users.
status write_text(const std::filesystem::path& p, const std::string& text, const pg_identity& owner,
                  mode_t mode = 0600);

// A folder owned by `owner`, mode `mode`; created when missing.
status make_dir(const std::filesystem::path& dir, mode_t mode, const pg_identity& owner);
// Whether dir is private to the server user (see embedded_pg_files.cc).
status check_private_dir(const std::filesystem::path& dir, const pg_identity& owner);
// Creates a private cluster folder for owner, or vets the one already there.
status private_dir(const std::filesystem::path& dir, const pg_identity& owner);

// Holds an exclusive flock on a file for its lifetime.
class file_lock {
  public:
    explicit file_lock(const std::filesystem::path& p);
    ~file_lock();
    file_lock(const file_lock&) = delete;
    file_lock& operator=(const file_lock&) = delete;
    bool ok() const { return fd_ >= 0; }

  private:
    int fd_;
};

}  // namespace pubsub::detail
