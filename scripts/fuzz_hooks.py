"""Schemathesis hooks for `make fuzz`: keep every webhook on this machine, and record
what each operation answered.

Deliveries go to whatever URL an endpoint, product or payment names; the fuzzer would
name any host. Before each call, every string `url` or `webhook_url` in the body is
pointed at a path of its own on 127.0.0.1:9 (nothing listens: the delivery fails, as
it should). Generated
request-signature headers are dropped (a random signature is only ever a 401). Three
cases in four of an operation whose path names an object get the id of one that exists
(`FUZZ_FIXTURES`, from scripts/fuzz_fixtures.py), and three portal forms in four carry
the session's CSRF token (`FUZZ_CSRF`); the fourth keeps what was generated.

After each call, `METHOD PATH STATUS` is appended to the file `FUZZ_REPORT` names
(scripts/fuzz_report.py reads it: how many cases of each operation reached a 2xx).
"""

import collections
import json
import os

import schemathesis

LOOPBACK = "http://127.0.0.1:9/fuzz"


# Headers whose generated values only make a request refused before it reaches its
# route: a random request signature (401: the signing contract has its own tests).
UNSIGNABLE = ("x-pushguard-timestamp", "x-pushguard-sign")


FIXTURES = json.loads(os.environ.get("FUZZ_FIXTURES") or "{}")
# The portal session's CSRF token, which its forms carry.
CSRF = os.environ.get("FUZZ_CSRF")
SEEN = collections.Counter()


@schemathesis.hook
def before_call(context, case, kwargs):
    operation = (case.method, case.path)
    # Three cases in four get what a real client has; the fourth shows the refusal.
    real = SEEN[operation] % 4 != 3
    SEEN[operation] += 1
    values = FIXTURES.get(case.path)
    if real and values and case.path_parameters is not None:
        case.path_parameters.update(values)
    if real and CSRF and case.path.startswith("/portal/") and isinstance(case.body, dict):
        case.body["csrf"] = CSRF
    if isinstance(case.body, dict):
        for field in ("url", "webhook_url"):
            if isinstance(case.body.get(field), str):
                # One path per call: a URL is unique per tenant, so one for all would
                # make every create after the first a 409.
                case.body[field] = f"{LOOPBACK}/{sum(SEEN.values())}"
    if case.headers:
        for name in list(case.headers):
            if name.lower() in UNSIGNABLE:
                del case.headers[name]


@schemathesis.hook
def after_call(context, case, response):
    report = os.environ.get("FUZZ_REPORT")
    if report:
        with open(report, "a", encoding="utf-8") as out:
            out.write(f"{case.method.upper()} {case.path} {response.status_code}\n")
