// json_unescape (json_scan.h): the text of a validated JSON string, unescaped to UTF-8.
#include "ingest/json_scan.h"

namespace pubsub {

std::string json_unescape(std::string_view raw) {
    std::string out;
    out.reserve(raw.size());
    auto put = [&out](std::uint32_t cp) {
        if (cp < 0x80) {
            out += static_cast<char>(cp);
        } else if (cp < 0x800) {
            out += static_cast<char>(0xc0 | (cp >> 6));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out += static_cast<char>(0xe0 | (cp >> 12));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        } else {
            out += static_cast<char>(0xf0 | (cp >> 18));
            out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
            out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
            out += static_cast<char>(0x80 | (cp & 0x3f));
        }
    };
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] != '\\' || i + 1 >= raw.size()) {
            out += raw[i];
            continue;
        }
        const char e = raw[++i];
        switch (e) {
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u': {  // validated: four hex digits follow
                std::uint32_t cp = static_cast<std::uint32_t>(json_hex4(raw.data() + i + 1));
                i += 4;
                if (cp >= 0xd800 && cp <= 0xdbff && i + 6 < raw.size() && raw[i + 1] == '\\' &&
                    raw[i + 2] == 'u') {
                    const int low = json_hex4(raw.data() + i + 3);
                    if (low >= 0xdc00 && low <= 0xdfff) {
                        cp = 0x10000 + ((cp - 0xd800) << 10) +
                             (static_cast<std::uint32_t>(low) - 0xdc00);
                        i += 6;
                    }
                }
                put(cp);
                break;
            }
            default:
                out += e;
                break;  // '"', '\\', '/'
        }
    }
    return out;
}

}  // namespace pubsub
