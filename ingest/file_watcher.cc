// file_watcher: lifecycle, the inotify read loop, versions and submits. The tree half (watches,
// listings, rescans) is in file_watch_tree.cc; the state is described in file_watch_impl.h.
#include "ingest/file_watcher.h"

#include <sys/inotify.h>
#include <sys/stat.h>

#include <simdjson.h>
#include <algorithm>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <filesystem>

#include "base/errno_text.h"
#include "ingest/file_watch_event.h"
#include "ingest/file_watch_impl.h"

namespace pubsub {

file_version version_of(const struct stat& st) {
    return {static_cast<std::int64_t>(st.st_size),
            static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000 + st.st_mtim.tv_nsec / 1000};
}

file_watcher::impl::impl(file_watcher_options o, event_submitter s, watch_state_store& st)
    : opts(std::move(o)),
      submit(std::move(s)),
      store(st),
      ignore(opts.ignore),
      writer(st, opts.retry_interval, opts.log) {}

void file_watcher::impl::log(log_level level, const std::string& m) {
    if (opts.log) opts.log(level, m);
}

void file_watcher::impl::fail(log_level level, const std::string& m) {
    {
        std::lock_guard lock(mu);
        last_error = m;
    }
    log(level, m);
}

// ---------------------------------------------------------------------------- events

void file_watcher::impl::read() {
    inotify.async_read_some(asio::buffer(buf), [this](boost::system::error_code ec, std::size_t n) {
        if (ec) {
            if (ec != asio::error::operation_aborted) {
                fail(log_level::error, "file watcher: reading inotify failed: " + ec.message());
            }
            return;
        }
        if (!drop_events.load(std::memory_order_relaxed)) handle_buffer(n);
        read();
    });
}

void file_watcher::impl::handle_buffer(std::size_t n) {
    bool overflow = false;
    // The kernel pads each name so that every event starts aligned; buf is aligned too.
    for (std::size_t off = 0; off + sizeof(inotify_event) <= n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf.data() + off);
        if (ev->mask & IN_Q_OVERFLOW) {
            overflow = true;
        } else {
            handle(*ev);
        }
        off += sizeof(inotify_event) + ev->len;
    }
    if (overflow) {
        overflows.fetch_add(1, std::memory_order_relaxed);
        fail(log_level::warn,
             "file watcher: inotify queue overflow; rescanning every watched directory");
        full_rescan();
    }
}

void file_watcher::impl::handle(const inotify_event& ev) {
    auto it = by_wd.find(ev.wd);
    if (it == by_wd.end()) return;
    const watched_dir w = it->second;  // a copy: the maps may change below
    const bool is_root = w.path == roots[w.root].dir;
    if (ev.mask & IN_IGNORED) {
        drop_wd(ev.wd);
        if (is_root) root_lost(w.root);
        return;
    }
    if (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF)) {
        if (is_root) root_lost(w.root);  // others: the parent's event handles them
        return;
    }
    if (ev.len == 0 || !watching) return;
    const std::string_view name(ev.name);
    const std::string path = (w.path == "/" ? w.path : w.path + "/") + std::string(name);
    if (ignore.ignored(name, relative(path, w.root))) return;
    if (ev.mask & IN_ISDIR) {
        if (ev.mask & (IN_CREATE | IN_MOVED_TO)) {
            add_tree(path, w.root);
        } else if (ev.mask & (IN_DELETE | IN_MOVED_FROM)) {
            remove_tree(path);
            forget_tree(path, w.root);
        }
    } else if (ev.mask & (IN_CLOSE_WRITE | IN_MOVED_TO)) {
        consider(path, w.root, true);
    } else if (ev.mask & (IN_DELETE | IN_MOVED_FROM)) {
        forget_file(path, w.root);
    }
}

// ---------------------------------------------------------------------------- versions

// complete: the file was just closed after writing or renamed into place; otherwise it was
// found by a listing and must settle first.
void file_watcher::impl::consider(const std::string& path, std::size_t root, bool complete) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        settle.erase(path);
        return;
    }
    const file_version v = version_of(st);
    if (auto k = known.find(path); k != known.end() && k->second.v == v) {
        settle.erase(path);
        return;
    }
    if (complete) {
        emit(path, root, v);
        return;
    }
    auto [s, inserted] = settle.try_emplace(path);
    if (inserted || s->second.v != v) s->second = {v, watch_clock::now() + opts.settle_time, root};
}

void file_watcher::impl::check_settled(watch_clock::time_point now) {
    std::vector<std::string> due;
    for (const auto& [path, s] : settle) {
        if (s.due <= now) due.push_back(path);
    }
    for (const auto& path : due) {
        auto s = settle.find(path);
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
            settle.erase(s);
            continue;
        }
        const file_version v = version_of(st);
        if (v != s->second.v) {  // still being written
            s->second.v = v;
            s->second.due = now + opts.settle_time;
            continue;
        }
        const std::size_t root = s->second.root;
        settle.erase(s);
        if (auto k = known.find(path); k == known.end() || k->second.v != v) emit(path, root, v);
    }
}

void file_watcher::impl::emit(const std::string& path, std::size_t root, file_version v) {
    settle.erase(path);
    if (!watching) return;
    if (!simdjson::validate_utf8(path)) {
        skipped_names.fetch_add(1, std::memory_order_relaxed);
        fail(log_level::warn,
             "file watcher: skipped a file whose path is not UTF-8, below " + roots[root].dir);
        known[path] = {v, 0, false, 0};  // not recorded in the store: reported once per run
        return;
    }
    const std::uint64_t gen = ++next_gen;
    known[path] = {v, 0, true, gen};
    unacked_since.emplace(gen, now_us());
    {
        std::lock_guard lock(mu);
        ++in_flight;
    }
    event_draft draft = file_received_draft(roots[root].dir, path, v.size, v.mtime_us);
    draft.priority = opts.priority;
    std::weak_ptr<impl> weak = weak_from_this();
    submit(std::move(draft), [weak, path, root, gen](const result<event_id>& r) {
        auto self = weak.lock();
        if (!self) return;
        asio::post(self->io, [weak, path, root, gen, r] {
            if (auto s = weak.lock()) s->on_ack(path, root, gen, r);
        });
    });
}

void file_watcher::impl::on_ack(const std::string& path, std::size_t root, std::uint64_t gen,
                                const result<event_id>& r) {
    auto k = known.find(path);
    const bool current = k != known.end() && k->second.gen == gen;
    unacked_since.erase(gen);
    if (r.ok()) {
        emitted.fetch_add(1, std::memory_order_relaxed);
        if (refusing) log(log_level::info, "file watcher: events are accepted again");
        refusing = false;
        if (current) {
            k->second.in_flight = false;
            k->second.id = r.value();
            writer.push({file_state_op::kind::put,
                         roots[root].dir,
                         {path, k->second.v.size, k->second.v.mtime_us, r.value()}});
        }
        checkpoint(false);
    } else {
        submit_errors.fetch_add(1, std::memory_order_relaxed);
        if (!refusing) {
            fail(log_level::warn, "file watcher: event for " + path + " refused (" + r.message() +
                                      "); retrying every " +
                                      std::to_string(opts.retry_interval.count()) + " ms");
        }
        refusing = true;
        if (current) {
            const file_version v = k->second.v;
            known.erase(k);
            if (watching) settle[path] = {v, watch_clock::now() + opts.retry_interval, root};
        }
    }
    std::lock_guard lock(mu);
    --in_flight;
    drain_cv.notify_all();
}

// Tells the store that every event submitted before the oldest unacknowledged one (or before
// now) is reflected in the ops pushed so far: an acked event's put was pushed above, a refused
// one is retried as a new submit, and one acked for a version that is no longer current was
// superseded (a newer version is in flight) or its file was forgotten. The margin absorbs a
// wall clock stepped back between this stamp and the intake's created_at. At most one
// checkpoint a second unless forced.
void file_watcher::impl::checkpoint(bool force) {
    constexpr std::int64_t margin_us = 60'000'000, every_us = 1'000'000;
    const std::int64_t now = now_us();
    if (!force && now - last_checkpoint_us < every_us) return;
    const std::int64_t oldest = unacked_since.empty() ? now : unacked_since.begin()->second;
    last_checkpoint_us = now;
    for (const auto& r : roots) {
        file_state_op op{file_state_op::kind::checkpoint, r.dir, {}};
        op.events_before_us = oldest - margin_us;
        writer.push(std::move(op));
    }
}

void file_watcher::impl::forget_file(const std::string& path, std::size_t root) {
    settle.erase(path);
    auto k = known.find(path);
    if (k == known.end()) return;
    known.erase(k);
    writer.push({file_state_op::kind::forget, roots[root].dir, {path, 0, 0, 0}});
}

void file_watcher::impl::forget_tree(const std::string& dir, std::size_t root) {
    for_tree(settle, dir, [](const std::string&, const settling_file&) { return true; });
    for_tree(known, dir, [&](const std::string& path, const known_file&) {
        writer.push({file_state_op::kind::forget, roots[root].dir, {path, 0, 0, 0}});
        return true;
    });
}

// ---------------------------------------------------------------------------- timer

void file_watcher::impl::schedule_tick() {
    const auto period = std::clamp(opts.settle_time / 4, std::chrono::milliseconds(10),
                                   std::chrono::milliseconds(250));
    tick.expires_after(period);
    tick.async_wait([this](boost::system::error_code ec) {
        if (!ec) on_tick();
    });
}

void file_watcher::impl::on_tick() {
    if (!watching) return;
    const auto now = watch_clock::now();
    check_settled(now);
    if (now >= next_root_check) {
        for (std::size_t i = 0; i < roots.size(); ++i) {
            if (!roots[i].present) start_root(i);
        }
        next_root_check = now + opts.retry_interval;
    }
    if (limit_reached.load(std::memory_order_relaxed) && now >= next_poll) {
        full_rescan();
        next_poll = now + opts.poll_interval;
    }
    schedule_tick();
}

// ---------------------------------------------------------------------------- file_watcher

file_watcher::file_watcher(file_watcher_options opts, event_submitter submit,
                           watch_state_store& store)
    : impl_(std::make_shared<impl>(std::move(opts), std::move(submit), store)) {}

file_watcher::~file_watcher() { close(); }

namespace {

std::string normalise(const std::string& dir) {
    std::error_code ec;
    auto p = std::filesystem::absolute(dir, ec).lexically_normal().string();
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    return p;
}

bool under(const std::string& a, const std::string& b) {  // a is b or lies below it
    return a == b || b == "/" ||
           (a.size() > b.size() && a.compare(0, b.size(), b) == 0 && a[b.size()] == '/');
}

}  // namespace

status file_watcher::start() {
    impl& m = *impl_;
    if (m.started) return status::error("file watcher already started");
    m.roots.clear();
    m.known.clear();
    for (const auto& d : m.opts.dirs) {
        if (d.empty()) return status::error("file watcher: empty directory name");
        m.roots.push_back({normalise(d)});
    }
    for (std::size_t i = 0; i < m.roots.size(); ++i) {
        for (std::size_t j = 0; j < m.roots.size(); ++j) {
            if (i != j && under(m.roots[i].dir, m.roots[j].dir)) {
                return status::error("file watcher: watched directories overlap: " +
                                     m.roots[i].dir + " and " + m.roots[j].dir);
            }
        }
    }
    for (const auto& r : m.roots) {
        auto recs = m.store.load(r.dir);
        if (!recs) return recs.error();
        for (auto& rec : recs.value()) m.known[rec.path] = {{rec.size, rec.mtime_us}, rec.id};
    }
    const int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        return status::error(std::string("file watcher: inotify_init1 failed: ") +
                             errno_text(errno));
    }
    boost::system::error_code ec;
    m.inotify.assign(fd, ec);
    if (ec)
        return status::error("file watcher: cannot use the inotify descriptor: " + ec.message());
    m.dirs_missing.store(m.roots.size(), std::memory_order_relaxed);
    m.watching = true;
    m.started = true;
    (void)m.writer.start();  // never fails
    m.checkpoint(true);  // nothing submitted yet: the next start reads only newer events
    m.work.emplace(asio::make_work_guard(m.io));
    // The first watches and listings happen here, before the io thread exists (so nothing
    // races with them): every file written after start() returns is seen by its own event.
    for (std::size_t i = 0; i < m.roots.size(); ++i) m.start_root(i);
    m.next_root_check = watch_clock::now() + m.opts.retry_interval;
    m.read();
    m.schedule_tick();
    m.thread = std::thread([self = impl_] { self->io.run(); });
    return status();
}

void file_watcher::stop(clock::time_point) noexcept {
    impl* self = impl_.get();  // handlers run only inside io.run(), whose thread owns impl_
    if (!self->started) return;
    asio::post(self->io, [self] {
        if (!self->watching) return;
        self->watching = false;
        self->settle.clear();
        self->tick.cancel();
        boost::system::error_code ignored;
        self->inotify.close(ignored);  // removes every watch
        self->by_wd.clear();
        self->wd_by_path.clear();
        self->watches.store(0, std::memory_order_relaxed);
    });
}

void file_watcher::close() noexcept {
    auto self = impl_;
    if (!self->started || !self->thread.joinable()) return;
    stop_now();
    {
        std::unique_lock lock(self->mu);
        if (!self->drain_cv.wait_for(lock, self->opts.drain_timeout,
                                     [&] { return self->in_flight == 0; })) {
            self->log(log_level::warn,
                      "file watcher: " + std::to_string(self->in_flight) +
                          " events not acknowledged at shutdown; their files will be emitted "
                          "again after the restart");
        }
    }
    asio::post(self->io, [m = self.get()] {
        m->work.reset();
        m->io.stop();
    });
    self->thread.join();
    self->writer.stop_now();
}

file_watcher_counters file_watcher::counters() const {
    const impl& m = *impl_;
    auto get = [](const std::atomic<std::uint64_t>& a) {
        return a.load(std::memory_order_relaxed);
    };
    file_watcher_counters c;
    c.files_emitted = get(m.emitted);
    c.submit_errors = get(m.submit_errors);
    c.watches = get(m.watches);
    c.dirs_missing = get(m.dirs_missing);
    c.overflows = get(m.overflows);
    c.rescans = get(m.rescans);
    c.unreadable_dirs = get(m.unreadable);
    c.watch_limit_errors = get(m.limit_errors);
    c.watch_limit_reached = m.limit_reached.load(std::memory_order_relaxed);
    c.skipped_names = get(m.skipped_names);
    c.state_pending = m.writer.pending();
    c.state_errors = m.writer.errors();
    c.state_failing = m.writer.failing();
    std::lock_guard lock(m.mu);
    c.in_flight = m.in_flight;
    c.last_error = m.last_error;
    return c;
}

void file_watcher::test_drop_events(bool drop) {
    impl_->drop_events.store(drop, std::memory_order_relaxed);
}

void file_watcher::test_limit_watches(std::size_t n) { impl_->test_watch_limit = n; }

void file_watcher::test_inject_overflow() {
    impl* self = impl_.get();
    asio::post(self->io, [self] {
        self->overflows.fetch_add(1, std::memory_order_relaxed);
        self->full_rescan();
    });
}

}  // namespace pubsub
