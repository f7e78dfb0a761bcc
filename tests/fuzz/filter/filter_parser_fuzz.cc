// libFuzzer target: parse_filter on arbitrary bytes; an accepted filter is also evaluated by
// the reference interpreter and the compiled matcher on a few fixed events, which must agree.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "router/filter/filter.h"
#include "router/filter/matcher.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
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
    for (const auto& e : events) {
        pubsub::event_view view{e[0], e[1], e[2]};
        std::vector<std::uint32_t> out;
        m.match(view, scratch, out);
        bool ref = pubsub::reference_match(**f, view);
        if (ref != !out.empty()) __builtin_trap();
        if (ref != !pubsub::explain_mismatch(**f, view).has_value()) __builtin_trap();
    }
    return 0;
}
