// temp_dir: a mkdtemp directory for one test, removed with everything in it afterwards.
#pragma once

#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

namespace pubsub::testing {

class temp_dir {
  public:
    temp_dir() {
        char tmpl[] = "/tmp/pubsub-proc-XXXXXX";
        path_ = ::mkdtemp(tmpl) ? tmpl : "";
    }
    ~temp_dir() {
        std::error_code ec;
        if (!path_.empty()) std::filesystem::remove_all(path_, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::string& path() const { return path_; }

    // Writes `name` (relative) with `body` and mode; returns its absolute path.
    std::string write(const std::string& name, const std::string& body, mode_t mode = 0755) const {
        std::string p = path_ + "/" + name;
        std::filesystem::create_directories(std::filesystem::path(p).parent_path());
        std::ofstream(p, std::ios::binary) << body;
        ::chmod(p.c_str(), mode);
        return p;
    }
    std::string script(const std::string& name, const std::string& body) const {
        return write(name, "#!/bin/sh\n" + body);
    }
    std::string mkdir(const std::string& name) const {
        std::filesystem::create_directories(path_ + "/" + name);
        return path_ + "/" + name;
    }

  private:
    std::string path_;
};

}  // namespace pubsub::testing
