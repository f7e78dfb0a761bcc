#include "handlers/process_job_runner.h"

#include "base/json_text.h"
#include "handlers/command_template.h"
#include "handlers/persistent_workers.h"
#include "handlers/process_runner.h"
#include "handlers/script_path.h"
#include "handlers/worker_protocol.h"

namespace pubsub {

namespace {

process_spec base_spec(const delivery& d, const handler_settings& s) {
    const event& ev = *d.group->ev();
    const subscriber& sub = *d.sub;
    process_spec spec;
    spec.env = {"PATH=" + s.safe_path,
                "PUBSUB_EVENT_ID=" + std::to_string(ev.id),
                "PUBSUB_EVENT_TYPE=" + ev.type,
                "PUBSUB_EVENT_SOURCE=" + ev.source,
                "PUBSUB_SUBSCRIBER=" + sub.name,
                "PUBSUB_CONFIG_ID=" + (sub.config_id ? std::to_string(*sub.config_id) : ""),
                "PUBSUB_ATTEMPT=" + std::to_string(attempt_of(d))};
    spec.stdin_data = event_json_for_handler(d);
    spec.timeout = std::chrono::seconds(sub.timeout_s > 0 ? sub.timeout_s : 300);
    spec.registry = s.registry.get();
    return spec;
}

bool persistent(const delivery& d, const handler_settings& s) {
    return s.workers && d.sub->mode == run_mode::persistent;
}

run_outcome from_process(const process_outcome& out) {
    if (out.success()) return {};
    return {false, out.describe()};
}

class custom_runner final : public job_runner {
  public:
    explicit custom_runner(handler_settings s) : s_(std::move(s)) {}
    run_outcome run(const delivery& d) override {
        auto script = script_of(d);
        if (!script.ok()) return {false, script.message()};
        process_spec spec = base_spec(d, s_);
        spec.argv = {*script};
        return from_process(run_process(spec));
    }
    bool runs_async(const delivery& d) const override { return persistent(d, s_); }
    void run_async(const delivery& d, run_done done) override {
        auto launch = worker_launch_for(*d.sub, s_);
        if (!launch.ok()) return done({false, launch.message()});
        if (!s_.workers->run(d, std::move(*launch), event_json_for_handler(d), done)) {
            done(run(d));  // switched to process mode since it was routed
        }
    }
    void interrupt() override {
        if (s_.workers) s_.workers->interrupt();
    }

  private:
    result<std::string> script_of(const delivery& d) const {
        if (d.sub->script_path.empty()) {
            return status::error("subscriber \"" + d.sub->name + "\" has no script_path");
        }
        return resolve_script(d.sub->script_path, s_.scripts_dirs);
    }

    handler_settings s_;
};

class command_runner final : public job_runner {
  public:
    command_runner(command_template t, handler_settings s) : t_(std::move(t)), s_(std::move(s)) {}
    run_outcome run(const delivery& d) override {
        const event& ev = *d.group->ev();
        if (status why = check(d); !why.ok()) return {false, why.message()};
        placeholders p;
        p.config_id = d.sub->config_id;
        p.event_id = ev.id;
        p.event_type = ev.type;
        p.event_source = ev.source;
        p.subscriber = d.sub->name;
        p.attempt = attempt_of(d);
        process_spec spec = base_spec(d, s_);
        spec.argv = t_.render(p);
        return from_process(run_process(spec));
    }
    bool runs_async(const delivery& d) const override { return persistent(d, s_); }
    void run_async(const delivery& d, run_done done) override {
        if (status why = check(d); !why.ok()) return done({false, why.message()});
        auto launch = worker_launch_for(*d.sub, s_);
        if (!launch.ok()) return done({false, launch.message()});
        if (!s_.workers->run(d, std::move(*launch), event_json_for_handler(d), done)) {
            done(run(d));  // switched to process mode since it was routed
        }
    }
    void interrupt() override {
        if (s_.workers) s_.workers->interrupt();
    }

  private:
    status check(const delivery& d) const {
        if (t_.uses(placeholder::config_id) && !d.sub->config_id) {
            return status::error("subscriber \"" + d.sub->name + "\" has no config_id, which the " +
                                 std::string(to_string(d.sub->job)) + " command needs");
        }
        if (s_.check_config) return s_.check_config(d.sub->job, d.sub->config_id);
        return {};
    }

    command_template t_;
    handler_settings s_;
};

class unconfigured_runner final : public job_runner {
  public:
    explicit unconfigured_runner(std::string why) : why_(std::move(why)) {}
    run_outcome run(const delivery&) override { return {false, why_}; }

  private:
    std::string why_;
};

}  // namespace

// A persistent worker's environment has no per-event variables: it serves many events. A
// command's worker gets only {config_id} and {subscriber} filled in.
result<worker_launch> worker_launch_for(const subscriber& sub, const handler_settings& s) {
    worker_launch l;
    l.env = {"PATH=" + s.safe_path, "PUBSUB_PROTOCOL=" + std::string(worker_protocol_name),
             "PUBSUB_SUBSCRIBER=" + sub.name,
             "PUBSUB_CONFIG_ID=" + (sub.config_id ? std::to_string(*sub.config_id) : "")};
    if (sub.job == job_type::custom) {
        if (sub.script_path.empty()) {
            return status::error("subscriber \"" + sub.name + "\" has no script_path");
        }
        auto script = resolve_script(sub.script_path, s.scripts_dirs);
        if (!script.ok()) return script.error();
        l.argv = {*script};
        return l;
    }
    auto it = s.job_commands.find(sub.job);
    if (it == s.job_commands.end() || it->second.empty()) {
        return status::error("no --job-command configured for job type " +
                             std::string(to_string(sub.job)));
    }
    auto t = parse_command_template(it->second);
    if (!t.ok()) return t.error();
    if (t->uses(placeholder::config_id) && !sub.config_id) {
        return status::error("subscriber \"" + sub.name + "\" has no config_id, which the " +
                             std::string(to_string(sub.job)) + " command needs");
    }
    placeholders p;
    p.config_id = sub.config_id;
    p.subscriber = sub.name;
    l.argv = t->render(p);
    return l;
}

std::string event_json_for_handler(const delivery& d) {
    const event& ev = *d.group->ev();
    std::string j = "{\"event_id\":" + std::to_string(ev.id) + ",\"event_type\":";
    append_json_string(j, ev.type);
    j += ",\"event_source\":";
    append_json_string(j, ev.source);
    j += ",\"event_data\":";
    j += ev.data_json.empty() ? "{}" : ev.data_json;
    j += ",\"priority\":" + std::to_string(ev.priority) +
         ",\"attempt\":" + std::to_string(attempt_of(d)) + ",\"subscriber\":";
    append_json_string(j, d.sub->name);
    j += "}";
    return j;
}

result<std::shared_ptr<job_runner>> make_job_runner(job_type type, const handler_settings& s) {
    switch (type) {
        case job_type::noop:
            return std::shared_ptr<job_runner>(std::make_shared<noop_runner>());
        case job_type::custom:
            return std::shared_ptr<job_runner>(std::make_shared<custom_runner>(s));
        default:
            break;
    }
    auto it = s.job_commands.find(type);
    if (it == s.job_commands.end() || it->second.empty()) {
        return std::shared_ptr<job_runner>(std::make_shared<unconfigured_runner>(
            "no --job-command configured for job type " + std::string(to_string(type))));
    }
    auto t = parse_command_template(it->second);
    if (!t.ok()) {
        return status::error("--job-command " + std::string(to_string(type)) + ": " + t.message());
    }
    return std::shared_ptr<job_runner>(std::make_shared<command_runner>(std::move(*t), s));
}

}  // namespace pubsub
