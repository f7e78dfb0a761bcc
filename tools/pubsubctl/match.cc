// pubsubctl match: which active subscribers an event would reach, and for each of the others
// the first thing that failed: its event_type, an invalid stored filter, or the first filter
// condition (explain_mismatch, the reference interpreter). Whether a subscriber is reached is
// decided by the router's own compiled matcher (build_snapshot); a disagreement with the
// reference is printed as a bug.
#include <iostream>
#include <iterator>
#include <unordered_set>

#include "commands.h"
#include "ingest/request.h"
#include "filter/filter.h"
#include "base/json_text.h"
#include "router/event_view.h"
#include "router/matcher.h"
#include "storage/subscriber_store.h"

namespace pubsub::ctl {
namespace {

struct verdict {
    const subscriber* sub = nullptr;
    bool reached = false;  // by the compiled matcher
    std::string reason;    // why not, by the reference; empty when the reference matches
};

// Why the reference interpreter says `s` does not receive `ev`; "" when it does.
std::string explain(const subscriber& s, const event& ev) {
    if (s.event_type != "*" && s.event_type != ev.type) {
        return "event_type: subscriber wants \"" + s.event_type + "\", event is \"" + ev.type +
               "\"";
    }
    result<filter_ptr> f = parse_filter(s.filter_json);
    if (!f.ok()) return "invalid event_filter (the router skips it): " + f.message();
    return explain_mismatch(**f, make_event_view(ev)).value_or("");
}

std::vector<verdict> judge(const std::vector<subscriber>& active, const event& ev) {
    subscriber_snapshot snap = build_snapshot(active);
    std::vector<std::uint32_t> hits;
    snap->compiled->match(ev, hits);
    std::unordered_set<std::int64_t> reached;
    for (std::uint32_t i : hits) reached.insert(snap->subscribers[i].id);
    std::vector<verdict> out;
    for (const subscriber& s : active) {
        out.push_back({&s, reached.count(s.id) > 0, explain(s, ev)});
    }
    for (verdict& v : out) {
        if (v.reached != v.reason.empty()) {
            v.reason = "BUG: the compiled matcher and the reference disagree (" +
                       std::string(v.reached ? "compiled reaches it" : "reference matches") + ")" +
                       (v.reason.empty() ? "" : "; reference: " + v.reason);
        }
    }
    return out;
}

void print_text(const event& ev, const std::vector<verdict>& vs) {
    std::size_t reached = 0;
    for (const verdict& v : vs) reached += v.reached;
    std::cout << "event " << ev.type << " from " << (ev.source.empty() ? "\"\"" : ev.source)
              << " reaches " << reached << " of " << vs.size() << " active subscribers\n";
    for (const verdict& v : vs) {
        if (!v.reached) continue;
        std::cout << "  reaches  " << v.sub->name << " (id " << v.sub->id << ", "
                  << to_string(v.sub->job) << ")" << (v.reason.empty() ? "" : ": " + v.reason)
                  << "\n";
    }
    for (const verdict& v : vs) {
        if (v.reached) continue;
        std::cout << "  misses   " << v.sub->name << " (id " << v.sub->id << "): " << v.reason
                  << "\n";
    }
}

void print_json(const std::vector<verdict>& vs) {
    std::string reached = "[", missed = "[";
    for (const verdict& v : vs) {
        std::string& list = v.reached ? reached : missed;
        list += list.size() > 1 ? ",{" : "{";
        list += "\"subscriber_id\":" + std::to_string(v.sub->id) + ",\"subscriber_name\":";
        append_json_string(list, v.sub->name);
        if (!v.reason.empty()) {
            list += ",\"reason\":";
            append_json_string(list, v.reason);
        }
        list += "}";
    }
    std::cout << "{\"reached\":" << reached << "],\"not_reached\":" << missed << "]}\n";
}

}  // namespace

int match(const context& ctx, const std::string& event_json) {
    std::string text = event_json;
    if (text.empty()) {
        text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    }
    request_parser parser;
    auto req = parser.parse(text);
    if (!req.ok()) return fail("invalid event: " + req.message());
    event ev;
    ev.type = req->draft.type;
    ev.source = req->draft.source;
    ev.data_json = std::move(req->draft.data_json);  // keeps the matcher's padding

    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    std::vector<std::string> skipped;
    auto subs = load_subscribers(*c, ctx.schema, &skipped);
    if (!subs.ok()) return fail(subs.message());
    for (const std::string& s : skipped) std::cerr << "pubsubctl: skipped " << s << "\n";
    std::vector<subscriber> active;
    for (subscriber& s : *subs) {
        if (s.is_active) active.push_back(std::move(s));
    }
    std::vector<verdict> vs = judge(active, ev);
    if (ctx.json) {
        print_json(vs);
    } else {
        print_text(ev, vs);
    }
    return 0;
}

}  // namespace pubsub::ctl
