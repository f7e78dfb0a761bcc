// The server's OS user: see embedded_pg_user.h.
#include "storage/embedded_pg_user.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <sstream>

#include "base/errno_text.h"

namespace fs = std::filesystem;

namespace pubsub::detail {

std::optional<user_credentials> pg_identity::credentials() const {
    if (!switch_user) return std::nullopt;
    return user_credentials{uid, gid, groups, name};
}

result<pg_identity> resolve_identity(const std::string& run_as) {
    pg_identity who;
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (geteuid() != 0) {
        getpwuid_r(geteuid(), &pw, buf.data(), buf.size(), &found);
        who.uid = geteuid();
        who.gid = getegid();
        if (found) {
            who.name = found->pw_name;
        } else if (const char* u = std::getenv("USER")) {
            who.name = u;
        } else {
            return status::error("cannot find the name of uid " + std::to_string(geteuid()));
        }
        return who;
    }
    int rc = getpwnam_r(run_as.c_str(), &pw, buf.data(), buf.size(), &found);
    if (!found) {
        return status::error("cannot switch to user " + run_as + ": " +
                             (rc ? errno_text(rc) : "no such user") +
                             " (PostgreSQL refuses to run as root; set the run-as user)");
    }
    who.switch_user = true;
    who.uid = found->pw_uid;
    who.gid = found->pw_gid;
    who.name = found->pw_name;
    int n = 32;
    who.groups.resize(static_cast<std::size_t>(n));
    while (getgrouplist(who.name.c_str(), who.gid, who.groups.data(), &n) < 0) {
        who.groups.resize(static_cast<std::size_t>(n));
    }
    who.groups.resize(static_cast<std::size_t>(n));
    return who;
}

// PATH first, then the newest /usr/lib/postgresql/<major>/bin.
result<fs::path> find_pg_binary(const std::string& name) {
    std::error_code ec;
    if (const char* path = std::getenv("PATH")) {
        std::stringstream ss(path);
        std::string dir;
        while (std::getline(ss, dir, ':')) {
            fs::path p = fs::path(dir.empty() ? "." : dir) / name;
            if (access(p.c_str(), X_OK) == 0) return fs::absolute(p, ec);
        }
    }
    fs::path best;
    int best_major = -1;
    for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        int major = std::atoi(e.path().filename().c_str());
        fs::path p = e.path() / "bin" / name;
        if (major > best_major && access(p.c_str(), X_OK) == 0) {
            best = p;
            best_major = major;
        }
    }
    if (best_major >= 0) return best;
    return status::error(name + " not found on PATH or in /usr/lib/postgresql/*/bin");
}

result<program_output> run_program(const pg_identity& who, const fs::path& cwd,
                                   const std::vector<std::string>& args) {
    auto bin = find_pg_binary(args.at(0));
    if (!bin) return bin.error();
    spawn_options o;
    o.argv = args;
    o.argv[0] = bin->string();
    o.working_dir = cwd.string();
    o.out = stdio::pipe();
    o.err = stdio::like_stdout();
    o.user = who.credentials();
    auto c = spawn(o);
    if (!c) return c.error();
    program_output r;
    r.output = read_to_end(c->out());
    auto st = c->wait();
    if (!st) return st.error();
    r.code = st->shell_code();
    return r;
}

bool can_traverse(const pg_identity& who, const fs::path& dir) {
    if (!who.switch_user) return access(dir.c_str(), X_OK) == 0;
    // The child enters dir after the switch, so the spawn fails when who may not reach it;
    // /bin/true only gives it something to exec.
    spawn_options o;
    o.argv = {"/bin/true"};
    o.working_dir = dir.string();
    o.out = o.err = stdio::null();
    o.user = who.credentials();
    auto c = spawn(o);
    if (!c) return false;
    auto st = c->wait();
    return st && st->success();
}

}  // namespace pubsub::detail
