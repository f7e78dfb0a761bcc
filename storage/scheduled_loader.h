// scheduled_loader: reads back the rows of scheduled events that come due (the router's
// scheduled_rows port) over a connection of its own, opened on first use and again after it
// breaks. One query per batch of ids (storage/event_store.h, load_own_events).
// Not thread-safe: the scheduler calls it from its loader thread only.
#pragma once

#include <memory>
#include <string>

#include "router/scheduled_rows.h"
#include "storage/pg.h"

namespace pubsub {

class scheduled_loader final : public scheduled_rows {
  public:
    scheduled_loader(std::string dsn, std::string schema, std::string node_id);
    ~scheduled_loader() override;

    result<std::vector<event_ptr>> load(std::span<const event_id> ids) override;

  private:
    std::string dsn_, schema_, node_id_;
    std::unique_ptr<pg::connection> conn_;  // null until opened, or after it broke
};

}  // namespace pubsub
