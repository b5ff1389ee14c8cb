"""What the API fuzzer reached: per operation, how many cases it sent and how many got
a 2xx, from the lines the `after_call` hook of scripts/fuzz_hooks.py wrote.

An operation the fuzzer never brings to a 2xx tests only its refusals. Those known not
to yet (or only now and then) are listed in scripts/fuzz-not-yet-2xx.txt; this fails
when another operation never reaches a 2xx (it regressed), and names the listed ones
that did this time, to take off the list once they do every time.

usage: fuzz_report.py REPORT OPENAPI_JSON KNOWN_LIST
"""

import collections
import json
import sys


def main(report_path, openapi_path, known_path):
    with open(openapi_path, encoding="utf-8") as f:
        spec = json.load(f)
    operations = sorted(
        (method.upper(), path)
        for path, item in spec["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    )
    sent = collections.Counter()
    reached = collections.Counter()
    statuses = collections.defaultdict(collections.Counter)
    with open(report_path, encoding="utf-8") as f:
        for line in f:
            method, path, status = line.split()
            sent[(method, path)] += 1
            statuses[(method, path)][status] += 1
            # A portal form that did its work answers 303, to the page it changed.
            if status.startswith("2") or status == "303":
                reached[(method, path)] += 1
    known = set()
    with open(known_path, encoding="utf-8") as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                method, path = line.split(maxsplit=1)
                known.add((method, path))
    print(f"{'operation':<62} {'cases':>6} {'2xx':>5}  statuses")
    for op in operations:
        if not sent[op]:
            continue
        common = ", ".join(f"{s}x{n}" for s, n in statuses[op].most_common(4))
        print(f"{op[0] + ' ' + op[1]:<62} {sent[op]:>6} {reached[op]:>5}  {common}")
    fuzzed = [op for op in operations if sent[op]]
    never = {op for op in fuzzed if not reached[op]}
    total_cases = sum(sent.values())
    total_2xx = sum(reached.values())
    print(
        f"fuzz: {len(fuzzed)} operations, {total_cases} cases, {total_2xx} reached a 2xx "
        f"({100 * total_2xx / max(total_cases, 1):.0f}%); {len(fuzzed) - len(never)} operations "
        f"reached one, {len(never)} never did ({len(never & known)} of them known)"
    )
    failed = False
    for op in sorted(never - known):
        print(f"NEVER 2xx (not on {known_path}): {op[0]} {op[1]}")
        failed = True
    for op in sorted((known - never) & set(fuzzed)):
        print(f"reached a 2xx this time, though listed: {op[0]} {op[1]}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
