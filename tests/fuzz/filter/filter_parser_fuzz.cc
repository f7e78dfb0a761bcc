// libFuzzer target: parse_filter on arbitrary bytes; an accepted filter is also evaluated by
// the reference interpreter and the compiled matcher on a few fixed events, which must agree.
// An input "FILTER\0DATA" also gives DATA, arbitrary bytes, as one more event's event_data,
// both unpadded and padded: that fuzzes the matcher's three event_data readers (the hand-written
// scan, simdjson DOM, on-demand; filter/extract.h) against the reference. Only valid JSON
// objects can reach the matcher (every door validates event_data, the table stores jsonb), so
// results are compared for those; other bytes must merely be read safely.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <simdjson.h>

#include "filter/filter.h"
#include "filter/matcher.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    std::string_view text = input.substr(0, input.find('\0'));
    // Its own allocation of exactly its size, so ASan sees any read past the end.
    std::string extra_data(text.size() < input.size() ? input.substr(text.size() + 1) : "");
    extra_data.shrink_to_fit();
    std::string extra_padded = extra_data;
    extra_padded.reserve(extra_padded.size() + 64);
    pubsub::result<pubsub::filter_ptr> f = pubsub::parse_filter(text);
    if (!f.ok()) {
        if (f.message().empty()) __builtin_trap();  // every refusal says why
        return 0;
    }
    static const std::string events[][3] = {
        {"import_complete", "generic_import:42",
         R"({"config_name":"sales_eu_daily","records_loaded":1250,"a":{"b":[1,"x",null]}})"},
        {"file_received", "file_watcher:/in",
         R"({"path":"/in/a.csv","name":"a.csv","extension":"csv","size":9007199254740993})"},
        {"x", "", "not json"},
    };
    pubsub::compiled_matcher m({pubsub::matcher_entry{1, "*", *f}});
    pubsub::match_scratch scratch;
    std::vector<pubsub::event_view> views;
    for (const auto& e : events) views.push_back({e[0], e[1], e[2]});
    bool compare_extra = false;
    if (text.size() < input.size()) {
        views.push_back({"import_complete", "fuzz", extra_data, false});
        views.push_back({"import_complete", "fuzz", extra_padded, true});
        static simdjson::dom::parser validator;
        simdjson::dom::element root;
        compare_extra = validator.parse(extra_data).get(root) == simdjson::SUCCESS &&
                        root.type() == simdjson::dom::element_type::OBJECT;
    }
    for (const auto& view : views) {
        std::vector<std::uint32_t> out;
        m.match(view, scratch, out);
        bool ref = pubsub::reference_match(**f, view);
        const bool is_extra = view.source == "fuzz";
        if (is_extra && !compare_extra) continue;  // read safely (ASan), nothing to compare
        if (ref != !out.empty()) __builtin_trap();
        if (ref != !pubsub::explain_mismatch(**f, view).has_value()) __builtin_trap();
    }
    return 0;
}
