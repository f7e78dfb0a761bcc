#include "storage/database_encoding.h"

namespace pubsub {

status check_database_encoding(pg::connection& c) {
    auto r = c.query(
        "SELECT current_database(), pg_encoding_to_char(encoding) FROM pg_database "
        "WHERE datname = current_database()",
        {});
    if (!r.ok()) return status::error("cannot read the database encoding: " + r.message());
    if (r->rows() != 1) return status::error("cannot read the database encoding: no row");
    std::string name(r->get(0, 0)), encoding(r->get(0, 1));
    if (encoding == "UTF8") return status();
    return status::error("database " + name + " uses encoding " + encoding +
                         "; pubsub needs UTF8 (create it with ENCODING 'UTF8' TEMPLATE template0)");
}

}  // namespace pubsub
