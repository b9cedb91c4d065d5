#!/usr/bin/env python3
# check_layers: the include graph of every folder against the layering of DESIGN section 1.
#
#   api -> service -> {projections, paystack} -> ledger/store -> ledger;  paystack -> net -> ledger
#   tools/escrowctl -> service (never api);  tools/paystack-sim -> paystack (no SQLite)
#
# Every #include of every .h/.cpp under the checked folders is read: a quoted include names a
# project header by its path from the source root ("service/outbox.h"), or one beside the file
# ("state.h"); the folder it lives in must be one the including folder may use (the table below).
# Some system headers are refused by folder too: the pure domain includes no SQLite, no Beast or
# Asio and no TLS; Paystack's client and the HTTP layer include no SQLite. The HTTP layer holds no
# SQL at all: it may not include the SQLite wrapper nor the read connection pool either. The build refuses most of these already
# (each module exposes only its own headers, CMakeLists.txt); this check names the offending line
# and also catches what a transitive PUBLIC link would let through.
#
# Usage: check_layers.py SOURCE_DIR            exit 0 when clean, 1 naming each offending line
#        check_layers.py SOURCE_DIR --self-test  copies the tree, adds wrong-direction includes
#                                                and checks that each one is caught by line
import os
import re
import shutil
import subprocess
import sys
import tempfile

# folder -> the folders its files may include (itself always).
ALLOWED = {
    "ledger": set(),
    "ledger/store": {"ledger"},
    "net": {"ledger"},
    "projections": {"ledger", "ledger/store"},
    "paystack": {"ledger", "net"},
    "service": {"ledger", "ledger/store", "net", "projections", "paystack"},
    "api": {"ledger", "ledger/store", "net", "projections", "paystack", "service"},
    "api/escrowd": {"ledger", "ledger/store", "net", "projections", "paystack", "service", "api"},
    "tools/escrowctl": {"ledger", "ledger/store", "net", "projections", "paystack", "service"},
    "tools/paystack-sim": {"ledger", "net", "paystack"},
    "tools/bench": {"ledger", "ledger/store", "projections"},
}

# folder -> system header prefixes it must not include.
NO_SQLITE = ("sqlite3.h",)
NO_NETWORK = ("boost/beast", "boost/asio", "openssl/ssl.h", "libpq-fe.h")
REFUSED_SYSTEM = {
    "ledger": NO_SQLITE + NO_NETWORK + ("jwt.h", "spdlog/", "magic.h"),
    "ledger/store": NO_NETWORK,
    "net": NO_SQLITE,
    "projections": NO_NETWORK,
    "paystack": NO_SQLITE,
    "tools/paystack-sim": NO_SQLITE,
    "api": NO_SQLITE,
}

# folder -> project headers it must not include although their folder is allowed: HTTP holds no
# SQL, so api/ reads through projections/queries.h and never holds a connection.
REFUSED_PROJECT = {
    "api": ("ledger/store/sqlite.h", "ledger/store/read_pool.h"),
    "api/escrowd": ("ledger/store/sqlite.h", "ledger/store/read_pool.h"),
}

# SQL text in a folder that must hold none (a statement string written in place of a query).
SQL_TEXT = re.compile(r'"[^"]*\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b')
NO_SQL_TEXT = ("api", "api/escrowd")

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def folder_of(path):
    """The checked folder a source path (relative to the root) belongs to: the longest prefix."""
    best = None
    for folder in ALLOWED:
        if path == folder or path.startswith(folder + "/"):
            if best is None or len(folder) > len(best):
                best = folder
    return best


def sources(root):
    for folder in ALLOWED:
        base = os.path.join(root, folder)
        if not os.path.isdir(base):
            continue
        for name in sorted(os.listdir(base)):
            if name.endswith((".h", ".cpp")):
                yield folder, os.path.join(folder, name)


def check(root):
    problems = []
    for folder, rel in sources(root):
        with open(os.path.join(root, rel), encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                if folder in NO_SQL_TEXT and SQL_TEXT.search(line):
                    problems.append(f"{rel}:{number}: {line.strip()}  ({folder}/ holds no SQL; "
                                    "add a query to projections/queries.h)")
                m = INCLUDE.match(line)
                if not m:
                    continue
                kind, target = m.groups()
                where = f"{rel}:{number}: {line.strip()}"
                if kind == "<":
                    for refused in REFUSED_SYSTEM.get(folder, ()):
                        if target.startswith(refused):
                            problems.append(f"{where}  ({folder}/ may not include <{target}>)")
                    continue
                beside = os.path.join(os.path.dirname(rel), target)
                if "/" not in target and os.path.exists(os.path.join(root, beside)):
                    target = beside  # a header next to the file: the same folder
                if target in REFUSED_PROJECT.get(folder, ()):
                    problems.append(f"{where}  ({folder}/ may not include {target}: no SQL here)")
                    continue
                other = folder_of(os.path.dirname(target))
                if other is None:
                    if not os.path.exists(os.path.join(root, target)):
                        problems.append(f"{where}  (no such project header)")
                    continue
                if other != folder and other not in ALLOWED[folder]:
                    may = ", ".join(sorted(ALLOWED[folder])) or "nothing else"
                    problems.append(f"{where}  ({folder}/ may include {may}; not {other}/)")
    return problems


def self_test(root):
    """Adds wrong-direction includes to a copy of the tree; each must be reported by its line."""
    cases = [
        ("ledger/money.h", '#include "api/app.h"\n', "ledger/ may include nothing else; not api/"),
        ("ledger/money.cpp", '#include "ledger/store/sqlite.h"\n', "not ledger/store/"),
        ("ledger/hash.cpp", "#include <sqlite3.h>\n", "may not include <sqlite3.h>"),
        ("paystack/types.h", '#include "service/context.h"\n', "not service/"),
        ("projections/live.h", '#include "paystack/client.h"\n', "not paystack/"),
        ("service/payments.h", '#include "api/http.h"\n', "not api/"),
        ("tools/escrowctl/common.h", '#include "api/auth.h"\n', "not api/"),
        ("api/handlers_reads.cpp", '#include "ledger/store/sqlite.h"\n', "no SQL here"),
        ("api/views.cpp", "#include <sqlite3.h>\n", "may not include <sqlite3.h>"),
        ("api/handlers_ops.cpp", 'const char* q = "SELECT count(*) FROM payouts";\n',
         "holds no SQL"),
    ]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for top in sorted({folder.split("/")[0] for folder in ALLOWED}):
            shutil.copytree(os.path.join(root, top), os.path.join(tmp, top),
                            ignore=shutil.ignore_patterns("node_modules", "__pycache__"))
        if check(tmp):
            print("FAIL: the unchanged copy is not clean", file=sys.stderr)
            return 1
        for rel, line, expected in cases:
            path = os.path.join(tmp, rel)
            with open(path, encoding="utf-8") as f:
                original = f.read()
            lines = original.splitlines(keepends=True)
            # After the file's first include, where a person would add one.
            at = next(i for i, l in enumerate(lines) if INCLUDE.match(l)) + 1
            with open(path, "w", encoding="utf-8") as f:
                f.write("".join(lines[:at] + [line] + lines[at:]))
            # Run as a separate process, as ctest does, and read what it prints.
            run = subprocess.run([sys.executable, os.path.abspath(__file__), tmp],
                                 capture_output=True, text=True)
            named = f"{rel}:{at + 1}: {line.strip()}"
            if run.returncode == 0 or named not in run.stdout or expected not in run.stdout:
                print(f"FAIL: adding {line.strip()} to {rel} was not reported as {named}\n"
                      f"{run.stdout}", file=sys.stderr)
                failures += 1
            else:
                print(f"caught: {named}")
            with open(path, "w", encoding="utf-8") as f:
                f.write(original)
    return 1 if failures else 0


def main():
    if len(sys.argv) < 2:
        raise SystemExit("usage: check_layers.py SOURCE_DIR [--self-test]")
    root = sys.argv[1]
    if "--self-test" in sys.argv[2:]:
        return self_test(root)
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} include(s) against the layering of DESIGN section 1", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
