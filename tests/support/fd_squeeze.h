// fd_squeeze: lowers this process's open-file limit so that exactly `room` more descriptors can
// be opened (the next ones fail with EMFILE), and restores it on release() or destruction.
// For tests of what a server does when accept() runs out of descriptors. Not thread-safe, and
// the limit is process-wide: nothing else in the test may open files meanwhile.
#pragma once

#include <sys/resource.h>
#include <unistd.h>

namespace pubsub::test {

class fd_squeeze {
  public:
    explicit fd_squeeze(int room) {
        ok_ = ::getrlimit(RLIMIT_NOFILE, &old_) == 0;
        int lowest_free = ok_ ? ::dup(0) : -1;
        if (lowest_free < 0) {
            ok_ = false;
            return;
        }
        ::close(lowest_free);
        rlimit tight = old_;
        tight.rlim_cur = static_cast<rlim_t>(lowest_free + room);
        ok_ = ::setrlimit(RLIMIT_NOFILE, &tight) == 0;
    }
    ~fd_squeeze() { release(); }
    fd_squeeze(const fd_squeeze&) = delete;
    fd_squeeze& operator=(const fd_squeeze&) = delete;

    bool ok() const { return ok_; }
    void release() {
        if (ok_) ::setrlimit(RLIMIT_NOFILE, &old_);
        ok_ = false;
    }

  private:
    rlimit old_{};
    bool ok_ = false;
};

}  // namespace pubsub::test
