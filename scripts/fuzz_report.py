"""What the API fuzzer reached: per operation, how many cases it sent and how many got
a 2xx, from the lines the `after_call` hook of scripts/fuzz_hooks.py wrote; and the same
for the cases generated to fit the schema (`positive`): where those are mostly refused,
the schema says less than the API checks.

An operation the fuzzer never brings to a 2xx tests only its refusals: this fails when
one never does.

usage: fuzz_report.py REPORT OPENAPI_JSON
"""

import collections
import json
import sys


def main(report_path, openapi_path):
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
    fitting = collections.Counter()
    fitting_reached = collections.Counter()
    statuses = collections.defaultdict(collections.Counter)
    with open(report_path, encoding="utf-8") as f:
        for line in f:
            method, path, status, _phase, mode = line.split()
            op = (method, path)
            sent[op] += 1
            statuses[op][status] += 1
            # A portal form that did its work answers 303, to the page it changed; an
            # image's address and a paid file's download 302, to where the bytes are.
            ok = status.startswith("2") or status in ("302", "303")
            reached[op] += ok
            if mode == "positive":
                fitting[op] += 1
                fitting_reached[op] += ok
    print(f"{'operation':<58} {'cases':>5} {'2xx':>4} {'fit':>4} {'2xx':>4}  statuses")
    for op in operations:
        if not sent[op]:
            continue
        common = ", ".join(f"{s}x{n}" for s, n in statuses[op].most_common(4))
        print(f"{op[0] + ' ' + op[1]:<58} {sent[op]:>5} {reached[op]:>4} {fitting[op]:>4} "
              f"{fitting_reached[op]:>4}  {common}")
    fuzzed = [op for op in operations if sent[op]]
    never = {op for op in fuzzed if not reached[op]}
    total_cases = sum(sent.values())
    total_2xx = sum(reached.values())
    total_fitting = sum(fitting.values())
    fitting_2xx = sum(fitting_reached.values())
    print(
        f"fuzz: {len(fuzzed)} operations, {total_cases} cases, {total_2xx} reached a 2xx "
        f"({100 * total_2xx / max(total_cases, 1):.0f}%); of the {total_fitting} generated to fit "
        f"the schema, {fitting_2xx} ({100 * fitting_2xx / max(total_fitting, 1):.0f}%); "
        f"{len(fuzzed) - len(never)} operations reached one, {len(never)} never did"
    )
    for op in sorted(never):
        print(f"NEVER 2xx: {op[0]} {op[1]}")
    return 1 if never else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
