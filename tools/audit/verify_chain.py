#!/usr/bin/env python3
"""Re-verifies the escrow ledger's event hash chain, with Python's standard library only.

The formula is the one of schema/README.md:
  hash = lowercase hex SHA-256 of prev_hash \\n seq \\n stream \\n version \\n type \\n recorded_at
         \\n data \\n meta   (numbers in decimal, data and meta the exact stored JSON text)

Usage:
  verify_chain.py [FILE]                JSON Lines from `escrowctl events` (default: stdin)
  verify_chain.py --sqlite DB           the database file itself, opened read-only
  verify_chain.py --url BASE_URL        escrowd's GET /events, page by page; an admin or auditor
                                        bearer token in the environment variable ESCROW_TOKEN
  --expect-last-hash HEX                also require this hash of the last event (a value kept
                                        elsewhere: it detects a chain recomputed from the start)

Checks, event by event in seq order: seq is the previous seq + 1; version is the previous version
of the same stream + 1; prev_hash is the previous event's hash (64 zeros before seq 1);
recorded_at never decreases; hash is the SHA-256 above. An export that starts after seq 1
(`escrowctl events --from-seq N`) is checked from there: its first prev_hash, and the first version
of each stream seen, are taken as given. An export filtered by stream has gaps and fails.

Exit status: 0 the chain holds; 1 it is broken (the first bad seq is named); 2 the input could not
be read.
"""
import argparse
import hashlib
import json
import os
import re
import sqlite3
import sys
import urllib.request

ZERO_HASH = "0" * 64
PAGE_LIMIT = 1000  # events per GET /events page (the service's maximum)


class InputError(Exception):
    """The input is not an event log this script can read."""


def event_hash(e):
    """The hash of event `e` (stream, type, data and meta as bytes; prev_hash a hex string)."""
    parts = [e["prev_hash"].encode(), str(e["seq"]).encode(), e["stream"],
             str(e["version"]).encode(), e["type"], str(e["recorded_at"]).encode(), e["data"],
             e["meta"]]
    return hashlib.sha256(b"\n".join(parts)).hexdigest()


def from_fields(fields, recorded_at_key):
    """An event from decoded JSON fields; data and meta must already be their exact text. Text
    fields become bytes (UTF-8, as stored); prev_hash and hash stay hex strings."""
    try:
        return {"seq": int(fields["seq"]), "stream": fields["stream"].encode(),
                "version": int(fields["version"]), "type": fields["type"].encode(),
                "recorded_at": int(fields[recorded_at_key]), "data": fields["data"].encode(),
                "meta": fields["meta"].encode(), "prev_hash": fields["prev_hash"],
                "hash": fields["hash"]}
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise InputError(f"event without a usable field: {error!r}") from error


def jsonl_events(stream):
    """Events of an `escrowctl events` export (data and meta are JSON strings there)."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            fields = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"line {number} is not JSON: {error}") from error
        if not isinstance(fields, dict) or not isinstance(fields.get("data"), str):
            raise InputError(f"line {number} is not an `escrowctl events` JSON Lines record")
        yield from_fields(fields, "recorded_at")


def sqlite_events(path):
    """Events straight from the database, read-only, the text columns as their stored bytes."""
    if not os.path.exists(path):
        raise InputError(f"no database at {path}")
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    db.text_factory = bytes
    try:
        rows = db.execute("SELECT seq, stream, version, type, data, meta, recorded_at, "
                          "prev_hash, hash FROM events ORDER BY seq")
        for seq, stream, version, type_, data, meta, recorded_at, prev_hash, hash_ in rows:
            yield {"seq": seq, "stream": stream, "version": version, "type": type_,
                   "data": data, "meta": meta, "recorded_at": recorded_at,
                   "prev_hash": prev_hash.decode("ascii", "replace"),
                   "hash": hash_.decode("ascii", "replace")}
    except sqlite3.Error as error:
        raise InputError(f"cannot read {path}: {error}") from error
    finally:
        db.close()


_SPACE = re.compile(r"[ \t\r\n]*")


def _members(text, i, decoder):
    """[(key, start, end)] of the members of the JSON object at text[i], and the end of it."""
    i = _SPACE.match(text, i).end()
    if text[i] != "{":
        raise InputError(f"expected a JSON object at offset {i}")
    members, i = [], _SPACE.match(text, i + 1).end()
    if text[i] == "}":
        return members, i + 1
    while True:
        key, i = decoder.raw_decode(text, i)
        i = _SPACE.match(text, i).end()
        if text[i] != ":":
            raise InputError(f"expected ':' at offset {i}")
        start = _SPACE.match(text, i + 1).end()
        _, end = decoder.raw_decode(text, start)
        members.append((key, start, end))
        i = _SPACE.match(text, end).end()
        if text[i] == "}":
            return members, i + 1
        if text[i] != ",":
            raise InputError(f"expected ',' or '}}' at offset {i}")
        i = _SPACE.match(text, i + 1).end()


def http_page(text):
    """The events of one GET /events page and its next_after. The service embeds data and meta as
    JSON objects copied verbatim from the store, so their exact text is cut out of the page rather
    than re-serialised (which could change escapes or spacing)."""
    decoder = json.JSONDecoder()
    try:
        page = dict((key, (start, end)) for key, start, end in _members(text, 0, decoder)[0])
        start, end = page["data"]  # the page's events
        events, i = [], _SPACE.match(text, start + 1).end()
        while text[i] != "]":
            members, i = _members(text, i, decoder)
            fields = {key: text[s:e] if key in ("data", "meta") else json.loads(text[s:e])
                      for key, s, e in members}
            events.append(from_fields(fields, "recorded_at_ms"))
            i = _SPACE.match(text, i).end()
            if text[i] == ",":
                i = _SPACE.match(text, i + 1).end()
        next_after = json.loads(text[slice(*page["next_after"])])
    except (KeyError, IndexError, ValueError) as error:
        raise InputError(f"not a GET /events page: {error!r}") from error
    return events, next_after


def http_events(base_url):
    token = os.environ.get("ESCROW_TOKEN")
    if not token:
        raise InputError("set ESCROW_TOKEN to an admin or auditor token (escrowctl token)")
    after = 0
    while True:
        request = urllib.request.Request(f"{base_url.rstrip('/')}/events?after={after}"
                                         f"&limit={PAGE_LIMIT}",
                                         headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                text = response.read().decode("utf-8")
        except OSError as error:  # URLError and HTTPError included
            raise InputError(f"GET /events?after={after}: {error}") from error
        events, after = http_page(text)
        if not events:
            return
        yield from events


def verify(events):
    """(events checked, last hash, (first bad seq, why) or None, notes)."""
    count, notes, last, versions, partial = 0, [], None, {}, False
    for e in events:
        count += 1
        seq, stream = e["seq"], e["stream"]
        if last is None:
            partial = seq != 1
            if partial:
                notes.append(f"the input starts at seq {seq}: its prev_hash, and the first "
                             "version of each stream, are taken as given")
            expected_seq, expected_prev = seq, (None if partial else ZERO_HASH)
        else:
            expected_seq, expected_prev = last["seq"] + 1, last["hash"]
        if stream in versions:
            expected_version = versions[stream] + 1
        else:
            expected_version = e["version"] if partial else 1
        why = None
        if seq != expected_seq:
            why = f"expected seq {expected_seq} (an event missing or moved, or a filtered export)"
        elif e["version"] != expected_version:
            why = (f"stream {stream.decode(errors='replace')} has version {e['version']}, "
                   f"expected {expected_version}")
        elif expected_prev is not None and e["prev_hash"] != expected_prev:
            why = f"prev_hash does not match the hash of seq {seq - 1}"
        elif last is not None and e["recorded_at"] < last["recorded_at"]:
            why = "recorded_at is before the previous event's"
        elif event_hash(e) != e["hash"]:
            why = "hash does not match the event's content (altered)"
        if why:
            return count, None, (seq, why), notes
        versions[stream] = e["version"]
        last = e
    return count, (last["hash"] if last else None), None, notes


def main():
    parser = argparse.ArgumentParser(
        description="Re-verify the escrow ledger's event hash chain (schema/README.md).")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("file", nargs="?", help="`escrowctl events` JSON Lines (default: stdin)")
    source.add_argument("--sqlite", metavar="DB", help="read the events table of this database")
    source.add_argument("--url", metavar="BASE_URL",
                        help="read escrowd's GET /events (token in $ESCROW_TOKEN)")
    parser.add_argument("--expect-last-hash", metavar="HEX",
                        help="fail unless the last event has this hash")
    args = parser.parse_args()
    try:
        if args.sqlite:
            events = sqlite_events(args.sqlite)
        elif args.url:
            events = http_events(args.url)
        elif args.file and args.file != "-":
            events = jsonl_events(open(args.file, encoding="utf-8"))
        else:
            events = jsonl_events(sys.stdin)
        count, last_hash, problem, notes = verify(events)
    except (InputError, OSError, UnicodeDecodeError) as error:
        print(f"verify_chain: {error}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"note: {note}")
    if problem:
        seq, why = problem
        print(f"chain broken at seq {seq}: {why}")
        print(f"first bad seq: {seq}")
        return 1
    if args.expect_last_hash and last_hash != args.expect_last_hash.lower():
        print(f"chain holds but ends with hash {last_hash}, not the expected "
              f"{args.expect_last_hash.lower()} (events missing at the end, or recomputed)")
        return 1
    print(f"ok: {count} events, last hash {last_hash or '(empty log)'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
