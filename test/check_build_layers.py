#!/usr/bin/env python3
# check_build_layers: the build itself refuses a wrong-direction include. With the compile flags
# CMake gave a file of one module (compile_commands.json), a file including a header of a module
# that module does not link must fail to compile ("No such file"), and one including a header of
# a module it does link must compile. Usage: check_build_layers.py BUILD_DIR SOURCE_DIR
import json
import os
import shlex
import subprocess
import sys
import tempfile

# (a source of the module, a header it may include, a header it may not)
CASES = [
    ("ledger/money.cpp", "ledger/events.h", "ledger/store/sqlite.h"),
    ("ledger/store/shell.cpp", "ledger/events.h", "projections/live.h"),
    ("paystack/client.cpp", "net/http_client.h", "ledger/store/event_store.h"),
    ("projections/live.cpp", "ledger/store/shell.h", "service/context.h"),
    ("service/outbox.cpp", "projections/live.h", "api/http.h"),
    ("tools/escrowctl/main.cpp", "service/runtime.h", "api/app.h"),
]


def compiles(entry, source_dir, header):
    with tempfile.NamedTemporaryFile("w", suffix=".cpp", delete=False) as f:
        f.write(f'#include "{header}"\n')
        probe = f.name
    try:
        args = shlex.split(entry["command"]) if "command" in entry else list(entry["arguments"])
        out = []
        skip = False
        for a in args:  # drop the output and the source; compile the probe for syntax only
            if skip:
                skip = False
                continue
            if a in ("-o", "-MF", "-MT", "-MQ", "-c"):
                skip = a != "-c"
                continue
            if a.endswith(entry["file"]) or a in ("-MD", "-MMD"):
                continue
            out.append(a)
        run = subprocess.run(out + ["-fsyntax-only", probe], cwd=entry["directory"],
                             capture_output=True, text=True)
        return run.returncode == 0, run.stderr
    finally:
        os.unlink(probe)


def main():
    build, source = sys.argv[1], os.path.abspath(sys.argv[2])
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = {os.path.relpath(e["file"], source): e for e in json.load(f)}
    failures = 0
    for rel, allowed, refused in CASES:
        entry = entries.get(rel)
        if entry is None:
            print(f"FAIL: {rel} is not in compile_commands.json", file=sys.stderr)
            failures += 1
            continue
        ok, err = compiles(entry, source, allowed)
        if not ok:
            print(f"FAIL: with {rel}'s flags, #include \"{allowed}\" should compile:\n{err}",
                  file=sys.stderr)
            failures += 1
        ok, err = compiles(entry, source, refused)
        if ok or "No such file" not in err:
            print(f"FAIL: with {rel}'s flags, #include \"{refused}\" should not be found:\n{err}",
                  file=sys.stderr)
            failures += 1
        else:
            print(f"refused by the build: {rel} -> {refused}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
