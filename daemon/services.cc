#include "daemon/services.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "base/logger.h"
#include "daemon/fd_limit.h"
#include "daemon/runners.h"
#include "storage/event_store.h"
#include "storage/pause_store.h"

namespace pubsub {

namespace {

using steady = std::chrono::steady_clock;
using time_point = service::clock::time_point;

std::string q(std::string_view v) { return log_value(v); }

write_behind_options wb_options(const daemon_config& cfg, const database& db, memory_budget& budget,
                                pool_set& pools) {
    write_behind_options wo;
    wo.dsn = db.dsn();
    wo.node_id = db.node().node_id;
    wo.schema = cfg.schema;
    wo.connections = cfg.write_connections;
    wo.max_batch_rows = cfg.max_batch_rows;
    wo.linger = std::chrono::microseconds(cfg.linger_us);
    wo.max_unpersisted_events = cfg.max_unpersisted;
    wo.idempotency_window = std::chrono::seconds(cfg.idempotency_window_s);
    wo.budget = &budget;
    wo.log = log_hook("write_behind");
    // An event whose row PostgreSQL refuses for good is treated like a cancelled one: its
    // scheduled retries are dropped, a running handler's outcome is discarded. Called on the
    // write-behind's writer threads, which wb.start() starts once the pools are built.
    wo.on_rejected = [&pools](event_id id) { pools.cancel(id); };
    return wo;
}

pool_set_options pool_options(const daemon_config& cfg, memory_budget& budget) {
    pool_set_options po;
    po.budget = &budget;  // held deliveries (pauses) draw on the producers' byte budget
    po.retry.base = std::chrono::milliseconds(cfg.retry_base_ms);
    po.retry.cap = std::chrono::milliseconds(std::max(cfg.retry_max_ms, cfg.retry_base_ms));
    po.queue_limit = cfg.queue_limit;
    return po;
}

persistent_options worker_options(const daemon_config& cfg,
                                  std::shared_ptr<const process_group_registry> groups) {
    persistent_options o;
    o.window = cfg.worker_window;
    o.registry = std::move(groups);
    return o;
}

router_options router_opts(const daemon_config& cfg, write_behind& wb, pool_set& pools,
                           memory_budget& budget, scheduled_rows& rows) {
    router_options ro;
    ro.budget = &budget;        // scheduled events held in memory
    ro.scheduled.rows = &rows;  // far-off ones are held as (id, due time), read back when due
    ro.scheduled.max_events = cfg.max_scheduled;
    ro.scheduled.log = log_hook("scheduler");
    ro.deliveries = &wb;
    ro.pressure = &pools;  // a full handler pool refuses the event types that could reach it
    return ro;
}

socket_options socket_opts(const daemon_config& cfg, memory_budget& budget) {
    socket_options so;
    so.path = cfg.socket_path;
    so.mode = cfg.socket_mode;
    so.max_line = cfg.max_line_bytes;
    so.allowed_uids.assign(cfg.socket_allow_uids.begin(), cfg.socket_allow_uids.end());
    so.allowed_gids.assign(cfg.socket_allow_gids.begin(), cfg.socket_allow_gids.end());
    so.max_connections = cfg.max_connections;
    so.budget = &budget;  // unfinished lines too: many near --max-line-bytes add up
    so.log = log_hook("socket");
    return so;
}

admin::admin_options http_options(const daemon_config& cfg, const std::string& dsn,
                                  const admin::node_sources& sources,
                                  const admin::metric_history& history) {
    admin::admin_options ao{cfg.http_listen,
                            cfg.http_token,
                            cfg.http_allow_unauthenticated,
                            dsn,
                            cfg.schema,
                            sources,
                            2,
                            log_hook("http")};
    ao.allowed_hosts = cfg.http_allow_hosts;
    ao.auth = cfg.http_auth == "all" ? admin::http_auth::all : admin::http_auth::changes;
    ao.max_connections = cfg.http_max_connections;
    ao.header_timeout = std::chrono::seconds(cfg.http_header_timeout_s);
    ao.history = &history;
    return ao;
}

retention_pruner_options pruner_options(const daemon_config& cfg, const std::string& dsn) {
    retention_pruner_options o;
    o.dsn = dsn;
    o.schema = cfg.schema;
    o.policy = cfg.retention;
    o.log = log_hook("retention");
    return o;
}

}  // namespace

result<std::unique_ptr<node_services>> node_services::build(const daemon_config& cfg,
                                                            database& db) {
    auto node = std::make_unique<node_services>(cfg, db);
    if (status s = node->configure_pools(); !s.ok()) return s;
    return node;
}

node_services::node_services(const daemon_config& cfg, database& db)
    : cfg_(cfg),
      db_(db),
      budget_(cfg.max_unpersisted_bytes),
      wb_(wb_options(cfg, db, budget_, pools_)),
      ids_({db.dsn(), cfg.schema, 16384, std::chrono::milliseconds(2000), log_hook("ids")}),
      pools_(pool_options(cfg, budget_)),
      configs_(db.dsn(), cfg.schema),
      handler_groups_(open_handler_registry(cfg.data_dir)),
      workers_(std::make_shared<persistent_workers>(worker_options(cfg, handler_groups_))),
      make_runners_(runner_factory(handler_groups_, workers_, configs_, latencies_)),
      scheduled_rows_(db.dsn(), cfg.schema, db.node().node_id),
      rt_(router_opts(cfg, wb_, pools_, budget_, scheduled_rows_), wb_, pools_),
      in_(ids_, wb_, rt_),
      notify_(in_, log_hook("notify_door")),
      door_(socket_opts(cfg, budget_), in_),
      sources_{&rt_, &wb_, &pools_, &door_, &notify_, nullptr, {}, &latencies_, {}},
      heartbeat_({db.dsn(), cfg.schema, cfg.node_dead_after_s,
                  [this] { return beat_.json(admin::collect(sources_)); },
                  // Events taken by other nodes while this one was not live: none of their
                  // deliveries starts here any more (a running one's outcome is discarded).
                  [this](const std::vector<event_id>& lost) {
                      for (auto id : lost) {
                          rt_.cancel_scheduled(id);
                          pools_.cancel(id);
                      }
                  },
                  log_hook("heartbeat")},
                 db.node()),
      dbd_({cfg.schema, cfg.sweep_interval_ms, cfg.node_dead_after_s, cfg.notify_ingest}, rt_,
           notify_, db.node()),
      listener_(dbd_.listener(db.dsn())),
      pruner_(pruner_options(cfg, db.dsn())),
      running_(cfg) {
    if (!cfg.watch_dirs.empty()) {
        watch_store_.emplace(db.dsn(), cfg.schema);
        file_watcher_options fo;
        fo.dirs = cfg.watch_dirs;
        if (!cfg.watch_ignore.empty()) fo.ignore = cfg.watch_ignore;
        fo.log = log_hook("file_watcher");
        watcher_.emplace(
            fo,
            [this](event_draft d, ack_callback done) {
                in_.submit(std::move(d), ack_mode::durable, std::move(done));
            },
            *watch_store_);
        sources_.watcher = &*watcher_;
    }
    sources_.sql_claimed = [this] { return dbd_.claimed(); };
    sources_.phase = [this] { return phase_.load(std::memory_order_relaxed); };
    sources_.workers = workers_.get();
    sources_.heartbeat = &heartbeat_;
    sources_.pruner = &pruner_;
    pools_.set_lease(&heartbeat_.lease());
    if (!cfg.http_listen.empty()) {
        sampler_.emplace(history_, [this] { return admin::reading_of(admin::collect(sources_)); });
        http_.emplace(http_options(cfg, db.dsn(), sources_, history_));
    }
    // The hooks first: the first reload starts the persistent workers. The pauses are loaded
    // again on their own, in case that reload failed: open events resume only after them.
    set_delivery_hooks();
    dbd_.reload_subscribers(db.conn());
    load_pauses_into_pools(db.conn());
    add_services();
}

status node_services::configure_pools() {
    auto runners = make_runners_(cfg_);
    if (!runners.ok()) return runners.error();
    for (auto& r : *runners) pools_.configure(r.type, r.runner, r.threads);
    return status();
}

// The services in start order; read them bottom-up for the stop order (services.h). A
// door that stops in two steps appears twice: itself near the bottom (stop() is its first
// step), its close() after the write-behind.
void node_services::add_services() {
    auto add = [this](std::string name, service_fn::start_fn start, service_fn::stop_fn stop) {
        order_.push_back(&steps_.emplace_back(std::move(name), std::move(start), std::move(stop)));
    };
    auto step = [](auto fn) {  // a start step with nothing to stop
        return [fn] {
            fn();
            return status();
        };
    };
    // The write-behind flushes for --drain-timeout past the drain's deadline (a failed start
    // drains nothing: its deadline is now).
    const auto flush_for = std::chrono::seconds(cfg_.drain_timeout_s);
    // clang-format off
    // First up, last down: the probes and /metrics answer through a start and a whole drain.
    if (http_) order_.push_back(&*http_);
    if (sampler_) order_.push_back(&*sampler_);
    // The node stays live (its events its own) until everything drained.
    order_.push_back(&heartbeat_);
    order_.push_back(&ids_);
    if (watcher_) add("file watcher acks", {}, [this](time_point) { watcher_->close(); });
    add("socket replies", {}, [this](time_point) { door_.close(); });
    add("write-behind", [this] { return wb_.start(); },
        [this, flush_for](time_point d) { wb_.stop(d + flush_for); });
    order_.push_back(workers_.get());
    order_.push_back(&pools_);
    order_.push_back(&rt_);
    add("resumed events", step([this] { resume_open_events(); }), {});
    add("intake", {}, [this](time_point) { in_.close(); });
    add("listener", step([this] { wait_for_listener(); }),
        [this](time_point) { listener_.stop(); });
    add("open-file limit", step([this] { raise_fd_limit(); }), {});
    order_.push_back(&pruner_);
    if (watcher_) order_.push_back(&*watcher_);
    order_.push_back(&door_);
    // clang-format on
}

std::vector<service*> node_services::services() { return order_; }

// Events routed from the table carry their delivery rows (skip completed deliveries, keep
// attempt numbers and scheduled retries); operators' cancels reach the pools.
void node_services::load_delivery_rows(pg::connection& c, const std::vector<event_ptr>& evs) {
    std::vector<event_id> ids_of;
    ids_of.reserve(evs.size());
    for (const auto& ev : evs) ids_of.push_back(ev->id);
    auto rows = load_delivery_records(c, cfg_.schema, ids_of);
    if (!rows.ok()) {
        log_line(log_level::error, rows.message());  // at-least-once: they run again
    } else if (!rows->empty()) {
        pools_.add_resume(std::move(*rows));
    }
}

void node_services::set_delivery_hooks() {
    dbd_.set_delivery_hooks(
        {[this] { return pools_.full_job_types() == 0; },
         [this](std::vector<delivery_record> rows) { pools_.add_resume(std::move(rows)); },
         [this](event_id id, bool cancelled) {
             if (!cancelled) return pools_.forget_cancel(id);
             rt_.cancel_scheduled(id);
             pools_.cancel(id);
             log_line(log_level::info, "event action",
                      log_field("action", "cancel " + std::to_string(id)));
         },
         [this](pg::connection& c) { load_pauses_into_pools(c); },
         [this](const subscriber_snapshot& snap) { workers_->set_subscribers(snap); }});
}

void node_services::load_pauses_into_pools(pg::connection& c) {
    auto p = load_pauses(c, cfg_.schema);
    if (!p.ok()) return log_line(log_level::error, p.message());  // the last state stays
    pools_.set_pauses(std::move(*p));
}

// Resume what a crash or an earlier stop of this node left open; the listener's first sweep
// then claims what nobody owns. Page by page: the router keeps only (id, due time) of far-off
// scheduled events, so a million of them never sit in memory whole.
void node_services::resume_open_events() {
    std::size_t resumed = 0;
    for (event_id after = 0;;) {
        auto open =
            load_own_open_events(db_.conn(), cfg_.schema, db_.node().node_id, 20'000, after);
        if (!open.ok()) return log_line(log_level::error, open.message());
        if (open->empty()) break;
        after = open->back()->id;
        resumed += open->size();
        load_delivery_rows(db_.conn(), *open);
        for (auto& ev : *open) rt_.enqueue(std::move(ev));
    }
    if (resumed > 0) {
        log_line(log_level::info, "resuming open events", "count=" + std::to_string(resumed));
    }
}

// LISTEN before the doors open, so nothing created from then on goes unannounced.
void node_services::wait_for_listener() {
    listener_.start();
    for (auto until = steady::now() + std::chrono::seconds(cfg_.db_wait_s);
         !listener_.connected() && steady::now() < until;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
}

// Room for both doors' connections, plus the database, handlers' pipes and files.
void node_services::raise_fd_limit() const {
    auto fds = fit_fd_limit(cfg_.max_connections +
                            (cfg_.http_listen.empty() ? 0 : cfg_.http_max_connections) + 256);
    if (fds.after > fds.before) {
        log_line(log_level::info, "raised the open-file limit",
                 "from=" + std::to_string(fds.before) + " to=" + std::to_string(fds.after));
    }
    if (!fds.warning.empty()) log_line(log_level::warn, fds.warning);
}

void node_services::log_started() const {
    if (watcher_) {
        log_line(log_level::info, "watching directories",
                 "count=" + std::to_string(cfg_.watch_dirs.size()));
    }
    if (http_) {
        log_line(log_level::info, "http admin listening",
                 "listen=" + q(cfg_.http_listen) + " port=" + std::to_string(http_->port()) +
                     (cfg_.http_token.empty() ? cfg_.http_allow_unauthenticated
                                                    ? " changes=unauthenticated"
                                                    : " changes=refused_no_token"
                                              : " changes=token") +
                     " auth=" + cfg_.http_auth);
    }
    log_line(log_level::info, "pubsubd started",
             "socket=" + q(cfg_.socket_path) + " schema=" + q(cfg_.schema) + " node=" +
                 q(db_.node().node_id) + (db_.embedded() ? " embedded=true" : " embedded=false"));
}

void node_services::reload() {
    log_line(log_level::info, "SIGHUP: reloading subscribers and settings");
    reload_settings(running_, pools_, make_runners_);  // reload.h
    pruner_.set_policy(running_.retention);            // and a prune cycle now
    auto c = pg::connection::open(db_.dsn());
    if (c.ok()) dbd_.reload_subscribers(*c);
}

int node_services::log_stopped() const {
    auto ws = wb_.stats();
    log_line(log_level::info, "stopped",
             "rows=" + std::to_string(ws.rows) + " batches=" + std::to_string(ws.batches) +
                 " unpersisted=" + std::to_string(ws.unpersisted_events));
    return ws.unpersisted_events == 0 ? 0 : 1;
}

}  // namespace pubsub
