// json_drop_repeated (json_scan.h): cuts the members json_scan found repeated out of a text.
// One pass over the text, whatever the nesting, so a crafted event costs no more than its size.
#include <algorithm>

#include "ingest/json_scan.h"

namespace pubsub {

std::string json_drop_repeated(std::string_view text,
                               const std::vector<std::string_view>& repeated) {
    std::vector<std::string_view> cuts;
    for (std::string_view r : repeated) {
        if (r.data() >= text.data() && r.data() + r.size() <= text.data() + text.size()) {
            cuts.push_back(r);
        }
    }
    std::sort(cuts.begin(), cuts.end(),
              [](std::string_view x, std::string_view y) { return x.data() < y.data(); });
    std::string out;
    out.reserve(text.size());
    const char* p = text.data();
    const char* const end = text.data() + text.size();
    for (std::string_view cut : cuts) {
        if (cut.data() < p) continue;  // inside a member already cut
        out.append(p, cut.data());
        p = cut.data() + cut.size();
        // The ',' after it (a repeated member is never its object's last), and the spaces.
        while (p < end && *p != ',') ++p;
        ++p;
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')) ++p;
    }
    out.append(p, end);
    return out;
}

}  // namespace pubsub
