#!/usr/bin/env python3
"""The layers of ARCHITECTURE.md, checked: a file may include project headers only from its own
folder's layer and the layers that layer may use. Exit 1 with one line per wrong include.

Usage: check_layers.py ROOT       check the source tree at ROOT
       check_layers.py --self-test  prove on a scratch tree that a wrong include is caught
"""
import os
import re
import sys
import tempfile

# Each layer and the layers it may use (besides itself). Keep in step with ARCHITECTURE.md.
MAY_USE = {
    "base": [],
    "filter": ["base"],
    "router": ["base", "filter"],
    "storage": ["base", "filter", "router"],
    "handlers": ["base", "filter", "router"],
    "ingest": ["base", "filter", "router", "storage"],
    "admin": ["base", "filter", "router", "storage", "handlers", "ingest"],
    "daemon": ["base", "filter", "router", "storage", "handlers", "ingest", "admin"],
    "tools": ["base", "filter", "router", "storage", "handlers", "ingest", "admin", "daemon"],
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def violations(root):
    found = []
    for layer, allowed in MAY_USE.items():
        top = os.path.join(root, layer)
        for folder, _, names in os.walk(top):
            for name in sorted(names):
                if not name.endswith((".h", ".cc", ".in")):
                    continue
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m or "/" not in m.group(1):
                            continue  # a header beside the file, or a system header
                        used = m.group(1).split("/", 1)[0]
                        if used == layer or used in allowed or used not in MAY_USE:
                            continue
                        rel = os.path.relpath(path, root)
                        found.append(f"{rel}:{number}: includes {m.group(1)}, but {layer}/ may "
                                     f"use only {', '.join(allowed) or 'nothing else'}")
    return found


def self_test():
    with tempfile.TemporaryDirectory() as root:
        for rel, text in {"router/a.h": '#include "base/result.h"\n',
                          "storage/b.cc": '#include "router/a.h"\n#include "daemon/config.h"\n',
                          "base/c.h": '#include <vector>\n#include "c_impl.h"\n'}.items():
            os.makedirs(os.path.dirname(os.path.join(root, rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)
        got = violations(root)
        if len(got) != 1 or not got[0].startswith("storage/b.cc:2: includes daemon/config.h"):
            print("self-test failed: expected one violation in storage/b.cc:2, got", got)
            return 1
    print("self-test passed")
    return 0


def main():
    if sys.argv[1:] == ["--self-test"]:
        return self_test()
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    found = violations(sys.argv[1])
    for v in found:
        print(v)
    if not found:
        print("layers: every include points down")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
