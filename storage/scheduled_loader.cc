#include "storage/scheduled_loader.h"

#include "storage/event_store.h"

namespace pubsub {

scheduled_loader::scheduled_loader(std::string dsn, std::string schema, std::string node_id)
    : dsn_(std::move(dsn)), schema_(std::move(schema)), node_id_(std::move(node_id)) {}

scheduled_loader::~scheduled_loader() = default;

result<std::vector<event_ptr>> scheduled_loader::load(std::span<const event_id> ids) {
    if (!conn_) {
        auto c = pg::connection::open(dsn_);
        if (!c.ok()) return status::error("cannot connect: " + c.message());
        conn_ = std::make_unique<pg::connection>(std::move(*c));
    }
    auto rows = load_own_events(*conn_, schema_, node_id_, ids);
    if (!rows.ok()) conn_.reset();  // a fresh connection next time, whatever broke
    return rows;
}

}  // namespace pubsub
