// private_cluster: a PostgreSQL of one test's own (an embedded_cluster in a scratch folder),
// for tests that stop or restart the database: the shared fixture cluster serves other tests,
// possibly in parallel (ctest -j). start() applies the migrations to the test's schema; the
// destructor stops the server. Not thread-safe (like a fixture).
#pragma once

#include <string>

#include "router/result.h"
#include "storage/embedded_pg.h"
#include "storage/migrations.h"
#include "storage/pg.h"
#include "tests/e2e/process.h"

namespace pubsub::e2e {

class private_cluster {
  public:
    private_cluster() : cluster_(options(tmp_)) {}
    ~private_cluster() { (void)cluster_.stop(); }
    private_cluster(const private_cluster&) = delete;
    private_cluster& operator=(const private_cluster&) = delete;

    // Starts the server and applies every migration to `schema`.
    status start(const std::string& schema) {
        if (status s = cluster_.start(); !s.ok()) return s;
        auto c = pg::connection::open(cluster_.dsn());
        if (!c.ok()) return c.error();
        auto applied = apply_migrations(*c, schema);
        return applied.ok() ? status() : applied.error();
    }
    embedded_cluster& cluster() { return cluster_; }
    const std::string& dsn() const { return cluster_.dsn(); }

  private:
    static embedded_options options(const temp_dir& tmp) {
        embedded_options eo;
        eo.data_dir = tmp.path() / "data";
        return eo;
    }
    temp_dir tmp_{"pubsub-e2e-pg-"};
    embedded_cluster cluster_;
};

}  // namespace pubsub::e2e
