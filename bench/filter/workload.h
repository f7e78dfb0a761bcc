// The filter benchmark's workload: seed-like subscribers and events (see filter_bench.cc),
// shared by filter_bench and filter_profile. Deterministic (fixed seed). Not thread-safe.
#pragma once

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "filter/matcher.h"

namespace pubsub::bench {

inline const char* const domains[] = {"sales", "stock", "finance", "hr", "ops"};
inline const char* const regions[] = {"eu", "us", "apac"};
inline const char* const freqs[] = {"daily", "weekly", "monthly"};

struct workload {
    int subscribers = 0;
    int names = 0;    // distinct config names
    int clients = 0;  // distinct file-drop clients
    std::mt19937 rng{42};

    int pick(int n) { return static_cast<int>(rng() % static_cast<unsigned>(n)); }
    std::string config(int k) {
        return std::string(domains[k % 5]) + "_" + regions[(k / 5) % 3] + "_" +
               freqs[(k / 15) % 3] + "_" + std::to_string(k);
    }
    std::string q(const std::string& s) { return "\"" + s + "\""; }
    std::string client_dir(int k) { return "/data/inbox/client_" + std::to_string(k); }

    std::string import_filter(bool globs) {
        int k = pick(names);
        std::string name = q(config(k));
        if (globs) {
            switch (pick(3)) {
                case 0:
                    return R"({"event_data.config_name":"*_)" + std::to_string(k) + "\"}";
                case 1:
                    return R"({"event_data.config_name":")" + std::string(domains[k % 5]) + "_*_" +
                           std::to_string(k) + R"(","event_data.records_loaded":{"$gt":0}})";
                default:
                    return R"({"event_data.config_name":"*_)" + std::to_string(k) +
                           R"(","source":"generic_import:*"})";
            }
        }
        switch (pick(5)) {
            case 0:
                return R"({"event_data.config_name":)" + name + "}";
            case 1:
                return R"({"event_data.config_name":)" + name +
                       R"(,"event_data.records_loaded":{"$gt":)" + std::to_string(pick(5000)) +
                       "}}";
            case 2:
                return R"({"event_data.config_name":{"$in":[)" + name + "," +
                       q(config(pick(names))) + "," + q(config(pick(names))) + "]}}";
            case 3:
                return R"({"event_data.config_name":)" + name +
                       R"(,"source":{"$prefix":"generic_import:"},"event_data.status":{"$ne":"failed"}})";
            default:
                return R"({"event_data.config_name":)" + name +
                       R"(,"$or":[{"event_data.records_loaded":{"$gte":1000}},{"event_data.force":true}]})";
        }
    }

    std::string file_filter(bool globs) {
        int k = pick(clients);
        std::string c = std::to_string(k);
        if (globs) {
            switch (pick(3)) {
                case 0:
                    return R"({"event_data.name":"client_)" + c + R"(_*.csv"})";
                case 1:
                    return R"({"event_data.path":")" + client_dir(k) + R"(/*/*.xlsx"})";
                default:
                    return R"({"event_data.name":"*_)" + c +
                           R"(_orders.*","event_data.size":{"$gt":0}})";
            }
        }
        switch (pick(4)) {
            case 0:
                return R"({"event_data.extension":"csv","event_data.path":{"$prefix":")" +
                       client_dir(k) + R"(/"}})";
            case 1:
                return R"({"event_data.name":{"$in":["client_)" + c + R"(_orders.csv","client_)" +
                       c + R"(_stock.xlsx"]},"event_data.size":{"$gt":0}})";
            case 2:
                return R"({"event_data.path":{"$prefix":")" + client_dir(k) +
                       R"(/"},"event_data.size":{"$gte":1024,"$lt":1e9}})";
            default:
                return R"({"event_data.directory":")" + client_dir(k) +
                       R"(/2024","event_data.extension":{"$in":["csv","xlsx"]}})";
        }
    }

    std::vector<matcher_entry> entries(bool globs) {
        std::vector<matcher_entry> out;
        for (int s = 0; s < subscribers; ++s) {
            bool import = s % 2 == 0;
            std::string text = import ? import_filter(globs) : file_filter(globs);
            result<filter_ptr> f = parse_filter(text);
            if (!f.ok()) std::abort();
            out.push_back(
                {static_cast<std::uint32_t>(s), import ? "import_complete" : "file_received", *f});
        }
        return out;
    }

    struct ev {
        std::string type, source, data;
    };

    std::vector<ev> events(int count) {
        std::vector<ev> out;
        for (int e = 0; e < count; ++e) {
            ev x;
            if (e % 2 == 0) {
                x.type = "import_complete";
                x.source = "generic_import:" + std::to_string(pick(100));
                x.data = R"({"config_name":)" + q(config(pick(names))) + R"(,"records_loaded":)" +
                         std::to_string(pick(10000)) + R"(,"status":)" +
                         (pick(10) ? q("ok") : q("failed")) + R"(,"duration_ms":)" +
                         std::to_string(pick(60000)) + "}";
            } else {
                int k = pick(clients);
                const char* kinds[] = {"orders.csv", "stock.xlsx", "notes.txt"};
                std::string name = "client_" + std::to_string(k) + "_" + kinds[pick(3)];
                std::string ext = name.substr(name.rfind('.') + 1);
                x.type = "file_received";
                x.source = "file_watcher:/data/inbox";
                x.data = R"({"path":)" + q(client_dir(k) + "/2024/" + name) + R"(,"name":)" +
                         q(name) + R"(,"directory":)" + q(client_dir(k) + "/2024") +
                         R"(,"extension":)" + q(ext) + R"(,"size":)" +
                         std::to_string(pick(1 << 20)) + R"(,"mtime":1718000000})";
            }
            x.data.reserve(x.data.size() + 64);  // the router's padding guarantee
            out.push_back(std::move(x));
        }
        return out;
    }
};

inline workload make_workload(int subscribers) {
    workload w;
    w.subscribers = subscribers;
    w.names = std::max(45, subscribers / 2);
    w.clients = std::max(10, subscribers / 4);
    return w;
}

}  // namespace pubsub::bench
