#include "tests/pubsubctl/run_ctl.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>

namespace pubsub::test {
namespace {

// A temp file holding `text`, opened for reading and unlinked; or an empty one for writing.
int temp_fd(const std::string& text) {
    char path[] = "/tmp/pubsubctl-test-XXXXXX";
    int fd = ::mkstemp(path);
    if (fd < 0) return -1;
    ::unlink(path);
    if (!text.empty() && ::write(fd, text.data(), text.size()) != ssize_t(text.size())) {
        ::close(fd);
        return -1;
    }
    ::lseek(fd, 0, SEEK_SET);
    return fd;
}

std::string read_fd(int fd) {
    ::lseek(fd, 0, SEEK_SET);
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) out.append(buf, std::size_t(n));
    ::close(fd);
    return out;
}

}  // namespace

ctl_run run_ctl(const std::vector<std::string>& args, const std::string& stdin_text) {
    ctl_run r;
    const char* dir = std::getenv("PUBSUB_BIN_DIR");
    const std::string bin = std::string(dir ? dir : "bin") + "/pubsubctl";
    std::vector<std::string> argv_s{bin};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    int in = temp_fd(stdin_text), out = temp_fd(""), err = temp_fd("");
    if (in < 0 || out < 0 || err < 0) return r;
    pid_t pid = ::fork();
    if (pid == 0) {
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(err, 2);
        ::execv(bin.c_str(), argv.data());
        ::_exit(127);
    }
    ::close(in);
    int st = 0;
    if (pid < 0 || ::waitpid(pid, &st, 0) < 0) return r;
    r.code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.out = read_fd(out);
    r.err = read_fd(err);
    return r;
}

}  // namespace pubsub::test
