"""Prints, from a schemathesis NDJSON report, which status codes each
operation reached against the ones the spec declares, plus the totals."""

import collections
import json
import re
import sys
from urllib.parse import urlsplit

report, spec_path = sys.argv[1], sys.argv[2]
spec = json.load(open(spec_path))
templates = [
    (re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$"), path)
    for path in spec["paths"]
]


def operation_of(method, uri):
    path = urlsplit(uri).path
    for pattern, template in templates:
        if pattern.match(path):
            return f"{method.upper()} {template}"
    return f"{method.upper()} {path}"


reached = collections.defaultdict(collections.Counter)
cases = 0
failures = 0
for line in open(report):
    event = json.loads(line)
    finished = event.get("ScenarioFinished")
    if not finished:
        continue
    for interaction in finished["recorder"].get("interactions", {}).values():
        response = interaction.get("response")
        if response:
            request = interaction["request"]
            reached[operation_of(request["method"], request["uri"])][str(response["status_code"])] += 1
    for checks in finished["recorder"].get("checks", {}).values():
        cases += 1
        failures += any(c["status"] == "failure" for c in checks)

print(f"{'operation':<72} reached (count)  | declared, not reached")
for path, item in sorted(spec["paths"].items()):
    for method, op in item.items():
        if method == "servers":
            continue
        label = f"{method.upper()} {path}"
        got = reached.get(label, {})
        missing = sorted(set(op["responses"]) - set(got))
        shown = " ".join(f"{s}({n})" for s, n in sorted(got.items()))
        print(f"{label:<72} {shown} | {' '.join(missing)}")
print(f"operations: {sum(len([m for m in i if m != 'servers']) for i in spec['paths'].values())}, test cases with checks: {cases}, failing: {failures}")
