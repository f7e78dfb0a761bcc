// admin_api: the subscriber routes and live filter validation.
#include <simdjson.h>

#include "ingest/json_scan.h"
#include "ingest/json_type_name.h"
#include "base/json_last_occurrences.h"
#include "base/json_text.h"
#include "router/matcher.h"
#include "storage/audit_log.h"
#include "storage/subscriber_store.h"
#include "admin/api.h"

namespace pubsub::admin {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

// The body of a create or update, as optional fields (update changes only those present).
struct subscriber_body {
    subscriber_patch patch;
    bool config_id_null = false;
};

status want(element v, element_type t, const std::string& key, const char* what) {
    if (v.type() == t || (t == element_type::INT64 && v.type() == element_type::UINT64)) return {};
    return status::error(key + ": expected " + what + ", got " + json_type_name(v.type()));
}

// event_filter may be an object or a JSON text (what the form's textarea holds).
status read_filter(element v, std::string& out) {
    if (v.type() == element_type::OBJECT) {
        out = simdjson::minify(v);
        return {};
    }
    if (v.type() == element_type::STRING) {
        out = std::string(v.get_string().value());
        if (out.find_first_not_of(" \t\r\n") == std::string::npos) out = "{}";
        return {};
    }
    return status::error("event_filter: expected an object (or its JSON text), got " +
                         json_type_name(v.type()));
}

// A filter the router can use and PostgreSQL can store (a JSON text's \u0000 is caught here).
status validate_storable_filter(const std::string& f) {
    if (status s = validate_subscriber_filter(f); !s.ok()) return s;
    return json_storable(f);
}

// The body as jsonb would hold it (SPEC 7.1): what PostgreSQL cannot store (\u0000, an
// unpaired surrogate) is refused naming the field, as at the socket door, and where an object
// repeats a key only its last occurrence is kept, so a field given twice counts once, last.
result<std::string> storable_body(const std::string& body) {
    json_scan scan;
    if (status s = scan.scan(body); !s.ok()) {
        const std::string_view syntax = "malformed JSON: ";
        if (s.message().rfind(syntax, 0) != 0) return s;
        return status::error("malformed JSON body: " + s.message().substr(syntax.size()));
    }
    return scan.repeated().empty() ? body : json_drop_repeated(body, scan.repeated());
}

status read_int(element v, const std::string& key, int min, int& out) {
    if (status s = want(v, element_type::INT64, key, "an integer"); !s.ok()) return s;
    std::int64_t n = v.get_int64().value();
    if (n < min || n > 2'147'483'647) {
        return status::error(key + ": must be at least " + std::to_string(min) + ", got " +
                             std::to_string(n));
    }
    out = static_cast<int>(n);
    return {};
}

status read_field(const std::string& key, element v, subscriber_body& b) {
    auto& p = b.patch;
    auto text = [&](std::optional<std::string>& dst, bool non_empty) -> status {
        if (status s = want(v, element_type::STRING, key, "a string"); !s.ok()) return s;
        dst = std::string(v.get_string().value());
        if (non_empty && dst->empty()) return status::error(key + ": must not be empty");
        return {};
    };
    if (key == "subscriber_name") return text(p.name, true);
    if (key == "event_type") return text(p.event_type, true);
    if (key == "script_path") return text(p.script_path, false);
    if (key == "event_filter") {
        std::string f;
        if (status s = read_filter(v, f); !s.ok()) return s;
        if (status s = validate_storable_filter(f); !s.ok()) {
            return status::error("event_filter: " + s.message());
        }
        p.filter_json = f;
        return {};
    }
    if (key == "job_type") {
        std::optional<std::string> name;
        if (status s = text(name, true); !s.ok()) return s;
        p.job = parse_job_type(*name);
        if (!p.job) {
            return status::error("job_type: unknown job type \"" + *name +
                                 "\" (import, inbox_processor, report, custom, noop)");
        }
        return {};
    }
    if (key == "config_id") {
        if (v.type() == element_type::NULL_VALUE) {
            b.config_id_null = true;
            return {};
        }
        int n = 0;
        if (status s = read_int(v, key, -2'147'483'647, n); !s.ok()) return s;
        p.config_id = n;
        return {};
    }
    if (key == "is_active") {
        if (status s = want(v, element_type::BOOL, key, "a boolean"); !s.ok()) return s;
        p.is_active = v.get_bool().value();
        return {};
    }
    if (key == "max_retries") return read_int(v, key, 0, p.max_retries.emplace());
    if (key == "timeout_s") return read_int(v, key, 1, p.timeout_s.emplace());
    if (key == "run_mode") {
        std::optional<std::string> name;
        if (status s = text(name, true); !s.ok()) return s;
        p.mode = parse_run_mode(*name);
        if (!p.mode) {
            return status::error("run_mode: unknown run mode \"" + *name +
                                 "\" (process, persistent)");
        }
        return {};
    }
    if (key == "workers") {
        if (status s = read_int(v, key, -2'147'483'647, p.workers.emplace()); !s.ok()) return s;
        if (auto why = check_run_mode(job_type::custom, run_mode::process, *p.workers);
            !why.empty()) {
            return status::error(why);
        }
        return {};
    }
    return status::error("unknown field \"" + json_path_shown(key) +
                         "\" (subscriber_name, event_type, event_filter, job_type, config_id, "
                         "script_path, is_active, max_retries, timeout_s, run_mode, workers)");
}

result<subscriber_body> parse_body(const std::string& sent) {
    auto body = storable_body(sent);
    if (!body.ok()) return body.error();
    simdjson::dom::parser parser;
    element doc;
    if (auto err = parser.parse(*body).get(doc); err) {
        return status::error(std::string("malformed JSON body: ") + simdjson::error_message(err));
    }
    if (doc.type() != element_type::OBJECT) {
        return status::error("the body must be a JSON object, got " + json_type_name(doc.type()));
    }
    subscriber_body b;
    simdjson::dom::object obj = doc.get_object().value();
    for (const auto& field : last_occurrences(obj)) {
        if (status s = read_field(std::string(field.key), field.value, b); !s.ok()) return s;
    }
    return b;
}

bool duplicate(const std::string& message) {
    return message.find("duplicate key") != std::string::npos;
}

}  // namespace

http_response admin_api::list_subscribers(const std::string& key) {
    auto c = pool_.acquire();
    if (!c.ok()) return error_reply(503, "database unreachable: " + c.message());
    auto r = list_subscribers_json(**c, opts_.schema, key);
    if (!r.ok()) return error_reply(500, r.message());
    const std::string& rows = *r;
    if (key.empty()) return json_reply(200, "{\"subscribers\":" + rows + "}");
    if (rows == "[]") return error_reply(404, "no subscriber named or numbered \"" + key + "\"");
    return json_reply(200, rows.substr(1, rows.size() - 2));  // the one object
}

http_response admin_api::create_subscriber(const std::string& body, const std::string& actor) {
    auto b = parse_body(body);
    if (!b.ok()) return error_reply(400, b.message());
    const auto& p = b->patch;
    for (const char* need : {"subscriber_name", "event_type", "job_type"}) {
        bool has = need[0] == 's'   ? p.name.has_value()
                   : need[0] == 'e' ? p.event_type.has_value()
                                    : p.job.has_value();
        if (!has) return error_reply(400, std::string(need) + ": required");
    }
    subscriber s;
    s.name = *p.name;
    s.event_type = *p.event_type;
    s.filter_json = p.filter_json.value_or("{}");
    s.job = *p.job;
    s.config_id = p.config_id;
    s.script_path = p.script_path.value_or("");
    s.is_active = p.is_active.value_or(true);
    s.max_retries = p.max_retries.value_or(3);
    s.timeout_s = p.timeout_s.value_or(300);
    s.mode = p.mode.value_or(run_mode::process);
    s.workers = p.workers.value_or(1);
    if (s.job == job_type::custom && s.script_path.empty()) {
        return error_reply(400, "script_path: required for job_type custom");
    }
    if (auto why = check_run_mode(s.job, s.mode, s.workers); !why.empty()) {
        return error_reply(400, why);
    }
    auto c = pool_.acquire();
    if (!c.ok()) return error_reply(503, "database unreachable: " + c.message());
    auto id = audited_change(**c, opts_.schema, {actor, "subscribers.add", s.name, 1, ""},
                             [&] { return insert_subscriber(**c, opts_.schema, s); });
    if (!id.ok()) return error_reply(duplicate(id.message()) ? 409 : 500, id.message());
    std::string out =
        "{\"ok\":true,\"subscriber_id\":" + std::to_string(*id) + ",\"subscriber_name\":";
    append_json_string(out, s.name);
    return json_reply(201, out + "}");
}

http_response admin_api::update_subscriber(const std::string& key, const std::string& body,
                                           const std::string& actor) {
    auto b = parse_body(body);
    if (!b.ok()) return error_reply(400, b.message());
    if (b->config_id_null) {
        return error_reply(400, "config_id: cannot be cleared by an update (set a number)");
    }
    auto c = pool_.acquire();
    if (!c.ok()) return error_reply(503, "database unreachable: " + c.message());
    auto done = audited_change(**c, opts_.schema, {actor, "subscribers.update", key, 1, ""}, [&] {
        return pubsub::update_subscriber(**c, opts_.schema, key, b->patch);
    });
    if (!done.ok()) {
        const auto& m = done.message();
        bool invalid = m.find("needs a script_path") != std::string::npos ||
                       m.find(": run_mode: ") != std::string::npos ||
                       m.find(": workers: ") != std::string::npos;
        int code = duplicate(m) ? 409 : invalid ? 400 : 500;
        return error_reply(code, m);
    }
    if (!*done) return error_reply(404, "no subscriber named or numbered \"" + key + "\"");
    return list_subscribers(b->patch.name.value_or(key));
}

http_response admin_api::set_active(const std::string& key, bool active, const std::string& actor) {
    auto c = pool_.acquire();
    if (!c.ok()) return error_reply(503, "database unreachable: " + c.message());
    audit_entry e{actor, active ? "subscribers.enable" : "subscribers.disable", key, 1, ""};
    auto done = audited_change(**c, opts_.schema, e, [&] {
        return set_subscriber_active(**c, opts_.schema, key, active);
    });
    if (!done.ok()) return error_reply(500, done.message());
    if (!*done) return error_reply(404, "no subscriber named or numbered \"" + key + "\"");
    std::string out = "{\"ok\":true,\"is_active\":";
    return json_reply(200, out + (active ? "true" : "false") + "}");
}

http_response admin_api::delete_subscriber(const std::string& key, const std::string& actor) {
    auto c = pool_.acquire();
    if (!c.ok()) return error_reply(503, "database unreachable: " + c.message());
    auto done = audited_change(**c, opts_.schema, {actor, "subscribers.remove", key, 1, ""},
                               [&] { return remove_subscriber(**c, opts_.schema, key); });
    if (!done.ok()) return error_reply(500, done.message());
    if (!*done) return error_reply(404, "no subscriber named or numbered \"" + key + "\"");
    return json_reply(200, "{\"ok\":true}");
}

http_response admin_api::validate_filter(const std::string& sent) const {
    auto body = storable_body(sent);
    if (!body.ok() && body.message().rfind("malformed JSON body: ", 0) != 0) {
        std::string out = "{\"valid\":false,\"error\":";
        append_json_string(out, body.message());
        return json_reply(200, out + "}");
    }
    if (!body.ok()) return error_reply(400, body.message());
    simdjson::dom::parser parser;
    element doc;
    if (auto err = parser.parse(*body).get(doc); err) {
        return error_reply(400,
                           std::string("malformed JSON body: ") + simdjson::error_message(err));
    }
    std::optional<element> v;
    if (doc.type() == element_type::OBJECT) {
        for (const auto& field : last_occurrences(doc.get_object().value())) {
            if (field.key == "event_filter") v = field.value;
        }
    }
    if (!v) return error_reply(400, "the body must be {\"event_filter\": <object or JSON text>}");
    std::string f;
    status s = read_filter(*v, f);
    if (s.ok()) s = validate_storable_filter(f);
    if (s.ok()) return json_reply(200, "{\"valid\":true}");
    std::string out = "{\"valid\":false,\"error\":";
    append_json_string(out, s.message());
    return json_reply(200, out + "}");
}

}  // namespace pubsub::admin
