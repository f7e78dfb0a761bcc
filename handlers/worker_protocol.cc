#include "handlers/worker_protocol.h"

#include <simdjson.h>

#include "base/json_text.h"

namespace pubsub {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

worker_line malformed(std::string why) {
    worker_line w;
    w.error = std::move(why);
    return w;
}

worker_line parse_hello(element proto, simdjson::dom::object obj) {
    std::string_view name;
    if (proto.get_string().get(name) || name != worker_protocol_name) {
        return malformed("hello: unknown protocol (expected \"" +
                         std::string(worker_protocol_name) + "\")");
    }
    element c;
    if (obj["concurrency"].get(c)) return malformed("hello: concurrency missing");
    std::int64_t n = 0;
    if (c.get_int64().get(n) || n < 1) {
        return malformed("hello: concurrency must be a positive integer");
    }
    worker_line w;
    w.what = worker_line::kind::hello;
    w.concurrency = n > 1'000'000 ? 1'000'000 : static_cast<int>(n);
    return w;
}

worker_line parse_answer(element id, simdjson::dom::object obj) {
    std::string_view text;
    if (id.get_string().get(text)) return malformed("answer: id must be a string");
    element ok;
    bool yes = false;
    if (obj["ok"].get(ok) || ok.get_bool().get(yes)) {
        return malformed("answer: ok must be true or false");
    }
    worker_line w;
    w.what = worker_line::kind::answer;
    w.id = std::string(text);
    w.ok = yes;
    if (!yes) {
        element e;
        std::string_view err;
        if (!obj["error"].get(e) && !e.get_string().get(err)) {
            w.error = std::string(err);
        } else if (!obj["error"].get(e)) {
            w.error = simdjson::minify(e);
        }
        if (w.error.empty()) w.error = "the worker answered ok:false without an error";
    }
    return w;
}

}  // namespace

worker_line parse_worker_line(std::string_view line) {
    thread_local simdjson::dom::parser parser;  // reused: its buffers outlive one line
    element doc;
    if (auto err = parser.parse(line.data(), line.size()).get(doc); err) {
        return malformed(std::string("not JSON: ") + simdjson::error_message(err));
    }
    simdjson::dom::object obj;
    if (doc.get_object().get(obj)) return malformed("not a JSON object");
    element v;
    if (!obj["hello"].get(v)) return parse_hello(v, obj);
    if (!obj["id"].get(v)) return parse_answer(v, obj);
    return malformed("neither a hello nor an answer (no \"hello\" or \"id\" field)");
}

std::string delivery_line(const delivery_header& h, std::string_view event_json) {
    std::string out = "{\"delivery\":{\"id\":";
    append_json_string(out, h.id);
    out += ",\"event_id\":" + std::to_string(h.event_id) + ",\"subscriber\":";
    append_json_string(out, h.subscriber);
    out += ",\"attempt\":" + std::to_string(h.attempt) + ",\"config_id\":";
    out += h.config_id ? std::to_string(*h.config_id) : "null";
    out += "},\"event\":";
    out += event_json;
    out += "}\n";
    return out;
}

}  // namespace pubsub
