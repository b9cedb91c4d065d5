#!/usr/bin/env python3
"""The figures of tools/bench/limits.sh: reads what each phase left in the results directory (one
JSON file per phase) and checks or tabulates it.

  limits_report.py wrk NAME WRK_OUTPUT RESULTS_DIR
      takes the WRK_RESULT line that tools/bench/wrk/report.lua printed, saves it as NAME.json,
      prints one line; exit 1 when any request failed (non-2xx, a wrong body, a socket error, a
      timeout, a webhook file that ran out).
  limits_report.py table RESULTS_DIR [--json FILE]
      prints the table of figures, references, ratios and targets; with --json also writes them.
"""
import json
import os
import sys


def load(results, name):
    path = os.path.join(results, name + ".json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def wrk_command(name, output, results):
    with open(output) as f:
        lines = [line for line in f if line.startswith("WRK_RESULT ")]
    if not lines:
        print(f"  {name}: wrk printed no result (see {output})")
        return 1
    figures = json.loads(lines[-1][len("WRK_RESULT "):])
    with open(os.path.join(results, name + ".json"), "w") as f:
        json.dump(figures, f)
    lat = figures["latency_ms"]
    print(f"  {name}: {figures['ok']} ok of {figures['requests']} in {figures['seconds']:.1f} s: "
          f"{figures['ok_per_s']:.0f}/s; wrk latency ms p50 {lat['p50']:.2f}  p90 {lat['p90']:.2f}  "
          f"p99 {lat['p99']:.2f}  max {lat['max']:.2f}")
    problems = [f"{figures[key]} {key.replace('_', ' ')}"
                for key in ("non_2xx", "unexpected_body", "connect_errors", "read_errors",
                            "write_errors", "timeouts", "input_exhausted") if figures[key]]
    if problems:
        print(f"  {name}: ERRORS: {', '.join(problems)}")
        return 1
    return 0


def table_command(results, json_out):
    run = load(results, "run") or {}
    raw = load(results, "raw_append")
    minimal = load(results, "min_server")
    rows = []

    def row(figure, value, unit, reference=None, reference_text="", ratio_min=None,
            value_min=None, value_max=None, judged=True, note=""):
        ratio = value / reference if value is not None and reference else None
        if value is None:
            met = "missing"
        elif not judged:
            met = "n/a"
        elif ratio_min is not None:
            met = "yes" if ratio is not None and ratio >= ratio_min else "no"
        elif value_min is not None:
            met = "yes" if value >= value_min else "no"
        else:
            met = "yes" if value <= value_max else "no"
        if ratio_min is not None:
            target = f">= {ratio_min:g}x"
        elif value_min is not None:
            target = f">= {value_min:,.0f} {unit}"
        else:
            target = f"<= {value_max:g} {unit}"
        rows.append({"figure": figure, "value": value, "unit": unit, "reference": reference_text,
                     "ratio": ratio, "target": target, "met": met, "note": note})

    raw_rate = raw["commits_per_s"] if raw else None
    raw_text = f"{raw_rate:,.0f} commits/s raw SQLite" if raw_rate else "missing"
    min_rate = minimal["ok_per_s"] if minimal else None
    min_text = f"{min_rate:,.0f}/s minimal Beast" if min_rate else "missing"

    def figure(name, *path):
        value = load(results, name)
        for key in path:
            if value is None:
                return None
            value = value.get(key)
        return value

    row("durable POST /bookings (wrk)", figure("post_bookings", "ok_per_s"), "/s", raw_rate,
        raw_text, ratio_min=1.5)
    row("GET /bookings/:id (wrk)", figure("get_booking", "ok_per_s"), "/s", min_rate, min_text,
        ratio_min=0.5)
    row("signed webhooks accepted (wrk)", figure("webhooks", "ok_per_s"), "/s", raw_rate, raw_text,
        ratio_min=1.5)
    row("webhooks processed (escrow-bench burst)",
        figure("webhook_burst", "webhooks", "processed_per_s"), "/s", value_min=5000,
        note=f"burst of {run.get('burst', '?')}")
    row("whole lifecycles (escrow-bench)", figure("lifecycles", "lifecycles", "per_s"), "/s",
        value_min=500, note=f"{run.get('lifecycles', '?')} lifecycles, p50 "
        f"{figure('lifecycles', 'lifecycles', 'latency_ms', 'p50') or 0:.0f} ms")
    open_rate = figure("open_loop", "commands", "open_loop", "rate")
    row("POST /bookings p99, open loop", figure("open_loop", "commands", "latency_ms", "p99"), "ms",
        reference_text=f"at {open_rate or 0:,.0f}/s (half the POST rate)", value_max=5,
        note=f"p50 {figure('open_loop', 'commands', 'latency_ms', 'p50') or 0:.2f}, p99.9 "
        f"{figure('open_loop', 'commands', 'latency_ms', 'p999') or 0:.2f}, max "
        f"{figure('open_loop', 'commands', 'latency_ms', 'max') or 0:.2f} ms; "
        f"{figure('open_loop', 'commands', 'open_loop', 'sent_late') or 0} sent >1 ms late")
    events = figure("core", "events") or 0
    big_enough = events >= 400000
    for name in ("rebuild", "verify"):
        row(f"escrowctl {name}", figure(name, "events_per_s_wall"), "events/s",
            reference_text=f"{events:,} events", value_min=1_000_000, judged=big_enough,
            note=f"{figure(name, 'seconds_wall') or 0:.2f} s wall; the tool's own "
            f"{figure(name, 'events_per_s') or 0:,.0f}/s"
            + ("" if big_enough else "; log under 400,000 events, not judged"))
    mixed_s = run.get("mixed_seconds", 0)
    rss = figure("memory", "vm_rss_mib")
    row("escrowd resident memory after mixed load", rss, "MiB",
        reference_text=f"after {mixed_s} s", value_max=128, judged=mixed_s >= 60,
        note=f"peak {figure('memory', 'vm_hwm_mib') or 0:.1f} MiB"
        + ("" if mixed_s >= 60 else "; under 60 s of load, not judged"))

    def number(value, unit):
        if value is None:
            return "-"
        if unit in ("ms", "MiB"):
            return f"{value:.2f} {unit}"
        return f"{value:,.0f}{unit if unit == '/s' else ' ' + unit}"

    print(f"\nreferences: raw SQLite append {raw_text}; {min_text} "
          f"({run.get('wrk', 'wrk')})")
    header = ("figure", "value", "reference", "ratio", "target", "met")
    lines = [header] + [(r["figure"], number(r["value"], r["unit"]), r["reference"],
                         f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-", r["target"],
                         r["met"]) for r in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    for n, line in enumerate(lines):
        print("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())
        if n == 0:
            print("  ".join("-" * w for w in widths))
    for r in rows:
        if r["note"]:
            print(f"  {r['figure']}: {r['note']}")
    if json_out:
        with open(json_out, "w") as f:
            json.dump({"run": run, "raw_append": raw, "min_server": minimal, "rows": rows}, f,
                      indent=1)
    return 0


def main(argv):
    if len(argv) == 5 and argv[1] == "wrk":
        return wrk_command(argv[2], argv[3], argv[4])
    if len(argv) in (3, 5) and argv[1] == "table":
        json_out = argv[4] if len(argv) == 5 and argv[3] == "--json" else None
        return table_command(argv[2], json_out)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
