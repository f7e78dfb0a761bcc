#include "tests/admin/admin_env.h"

#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

namespace pubsub::test {

using namespace std::chrono_literals;

void admin_test::start_admin(std::vector<std::string> args, bool with_token) {
    args.insert(args.begin(), {"--http", "127.0.0.1:0"});
    if (with_token) args.insert(args.end(), {"--http-token", admin_token});
    start_daemon(args);
    if (!HasFatalFailure()) read_port();
}

void admin_test::start_admin_on(const std::string& dsn, std::vector<std::string> args) {
    args.insert(args.begin(), {"--http", "127.0.0.1:0", "--http-token", admin_token});
    start_daemon_on(dsn, args);
    if (!HasFatalFailure()) read_port();
}

void admin_test::read_port() {
    const std::regex listening("http admin listening.* port=([0-9]+)");
    auto until = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < until) {
        std::ifstream log(tmp().path() / "pubsubd.log");
        std::stringstream text;
        text << log.rdbuf();
        std::smatch m;
        std::string s = text.str();
        if (std::regex_search(s, m, listening)) {
            port_ = static_cast<std::uint16_t>(std::stoi(m[1]));
            return;
        }
        std::this_thread::sleep_for(20ms);
    }
    FAIL() << "pubsubd never logged its HTTP port\n" << daemon().log_tail();
}

http_reply admin_test::get(const std::string& target) { return call("GET", target, "", ""); }

http_reply admin_test::call(const std::string& method, const std::string& target,
                            const std::string& body, const std::string& token) {
    auto r = http_call(port_, method, target, body, token);
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? *r : http_reply{};
}

std::vector<std::int64_t> admin_test::emit(const std::vector<std::string>& lines) {
    std::vector<std::int64_t> ids;
    auto c = e2e::ndjson_client::connect(socket_path());
    EXPECT_TRUE(c.ok()) << c.message();
    if (!c.ok()) return ids;
    for (const auto& l : lines) {
        EXPECT_TRUE(c->send_line(l).ok());
        auto r = c->read_reply(10s);
        EXPECT_TRUE(r.ok() && r->ok) << (r.ok() ? r->raw : r.message());
        if (r.ok() && r->ok) ids.push_back(r->event_id);
    }
    return ids;
}

std::string admin_test::wait_status(std::int64_t id, const std::string& status, int timeout_s) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    std::string want = "\"status\":\"" + status + "\"";
    std::string last;
    while (std::chrono::steady_clock::now() < until) {
        auto r = http_call(port_, "GET", "/api/events/" + std::to_string(id));
        if (r.ok() && r->status == 200) {
            last = r->body;
            // The event's own status is the first "status" key of the body.
            auto first = last.find("\"status\":");
            if (first != std::string::npos && last.compare(first, want.size(), want) == 0) {
                return last;
            }
        }
        std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << "event " << id << " never became " << status << "; last: " << last;
    return last;
}

std::map<std::string, prom_family> admin_test::scrape() {
    http_reply r = get("/metrics");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "text/plain; version=0.0.4; charset=utf-8");
    auto m = parse_prometheus(r.body);
    EXPECT_TRUE(m.ok()) << m.message() << "\n" << r.body;
    return m.ok() ? *m : std::map<std::string, prom_family>{};
}

}  // namespace pubsub::test
