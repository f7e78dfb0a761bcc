// Helpers of the file watcher tests: see watch_fixture.h.
#include "tests/watcher/watch_fixture.h"

#include <fcntl.h>
#include <unistd.h>

#include <simdjson.h>
#include <cstdlib>

#include "storage/watch_state_store.h"

namespace pubsub::test {

fake_intake::fake_intake() : thread_([this] { run(); }) {}

fake_intake::~fake_intake() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
}

event_submitter fake_intake::submitter() {
    return [this](event_draft d, ack_callback done) {
        std::lock_guard lock(mu_);
        if (refuse_ > 0) {
            --refuse_;
            ++refused_;
            acks_.emplace_back(std::move(done), status::error("test refuses"));
        } else {
            const event_id id = ++next_id_;
            std::string p = path_of(d);
            accepted_.push_back({std::move(d), std::move(p), std::chrono::steady_clock::now(), id});
            acks_.emplace_back(std::move(done), id);
        }
        cv_.notify_one();
    };
}

void fake_intake::run() {
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [&] { return stop_ || !acks_.empty(); });
        if (acks_.empty()) return;  // stop_ and nothing left
        auto batch = std::move(acks_);
        acks_.clear();
        lock.unlock();
        for (auto& [done, r] : batch) done(r);  // like a group commit: many acks at once
        lock.lock();
    }
}

void fake_intake::refuse_next(int n) {
    std::lock_guard lock(mu_);
    refuse_ = n;
}

std::vector<submitted> fake_intake::accepted() const {
    std::lock_guard lock(mu_);
    return accepted_;
}

std::size_t fake_intake::accepted_count() const {
    std::lock_guard lock(mu_);
    return accepted_.size();
}

std::size_t fake_intake::refused_count() const {
    std::lock_guard lock(mu_);
    return refused_;
}

std::string path_of(const event_draft& d) {
    thread_local simdjson::dom::parser parser;
    std::string_view p;
    if (parser.parse(d.data_json)["path"].get(p) != simdjson::SUCCESS) return {};
    return std::string(p);
}

temp_dir::temp_dir() {
    std::string t = (std::filesystem::temp_directory_path() / "pubsub-watch-XXXXXX").string();
    if (::mkdtemp(t.data()) == nullptr) std::abort();
    path_ = t;
}

temp_dir::~temp_dir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::add, ec);
    for (auto& e : std::filesystem::recursive_directory_iterator(
             path_, std::filesystem::directory_options::skip_permission_denied, ec)) {
        if (e.is_directory(ec)) {
            std::filesystem::permissions(e.path(), std::filesystem::perms::owner_all,
                                         std::filesystem::perm_options::add, ec);
        }
    }
    std::filesystem::remove_all(path_, ec);
}

void write_file(const std::string& path, const std::string& content) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0) << path;
    ASSERT_EQ(::write(fd, content.data(), content.size()), static_cast<ssize_t>(content.size()));
    ASSERT_EQ(::close(fd), 0);
}

bool wait_until(const std::function<bool()>& pred, std::chrono::milliseconds guard) {
    const auto end = std::chrono::steady_clock::now() + guard;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
}

void quiet(std::chrono::milliseconds d) { std::this_thread::sleep_for(d); }

void watcher_test::SetUp() {
    pg_schema_test::SetUp();
    if (HasFatalFailure() || IsSkipped()) return;
    dir_ = std::make_unique<temp_dir>();
    store_ = std::make_unique<pg_watch_state_store>(dsn(), schema());
}

void watcher_test::TearDown() {
    store_.reset();
    dir_.reset();
    pg_schema_test::TearDown();
}

file_watcher_options watcher_test::options() const {
    file_watcher_options o;
    o.dirs = {dir_->path()};
    o.settle_time = std::chrono::milliseconds(100);
    o.retry_interval = std::chrono::milliseconds(100);
    o.drain_timeout = std::chrono::milliseconds(5000);
    if (std::getenv("PUBSUB_TEST_VERBOSE")) {
        o.log = [](log_level level, const std::string& m) {
            std::fprintf(stderr, "[%d] %s\n", static_cast<int>(level), m.c_str());
        };
    }
    return o;
}

std::unique_ptr<file_watcher> watcher_test::start_watcher(file_watcher_options opts) {
    auto w = std::make_unique<file_watcher>(std::move(opts), intake_.submitter(), *store_);
    status st = w->start();
    EXPECT_TRUE(st.ok()) << st.message();
    return w;
}

std::int64_t watcher_test::state_rows() {
    auto r = conn().query("SELECT count(*) FROM " + conn().quote_identifier(schema()) +
                          ".tpubsub_watched_files");
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? r->get_int(0, 0) : -1;
}

}  // namespace pubsub::test
