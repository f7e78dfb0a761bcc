// channels: the NOTIFY channel names of a schema (SPEC 7.6). The default schema `dba` uses the
// plain names (tpubsub_events, tpubsub_ingest, ...); another schema `s` appends "_s", so two
// schemas in one database never see each other's traffic. The SQL side computes the same names
// with <schema>.tpubsub_channel(base) (sql/009_several_nodes.sql). Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace pubsub {

inline std::string schema_channel(std::string_view base, std::string_view schema) {
    std::string out(base);
    if (schema != "dba") {
        out += '_';
        out += schema;
    }
    return out;
}

}  // namespace pubsub
