"""Schemathesis hooks for `make fuzz`: give three cases in four what a real client has,
keep every webhook on this machine, and record what each operation answered.

Three cases in four of each operation are made whole the way a client would (the fourth
keeps what was generated, to show the refusal):
- a path that names an object gets one that exists (scripts/fuzz_objects.py makes one
  of each kind at start), and a `DELETE` a fresh one, so that every delete can succeed;
- `/portal/{token}` gets a link never opened (a link opens once), the payment page's
  email form a payment made without an email (it takes one once), feedback an order of
  its own (one feedback per order), a portal form the session's CSRF token
  (`FUZZ_CSRF`), the recovery form an endpoint and today's date (its select and date
  picker);
- a Key/Sign call is signed over its exact bytes with a signing key, its `timestamp`
  now and its `account` the key's, and the account's one channel made to exist (or not,
  to create one) first.

A generated `Idempotency-Key` is made unique, as a client makes one per request. Every
string `url` or `webhook_url` in a body is pointed at a path of its own on
127.0.0.1:9 (nothing listens: deliveries fail, as they should). Generated
request-signature headers are dropped (a random signature is only ever a 401).

After each call, `METHOD PATH STATUS PHASE MODE` is appended to the file `FUZZ_REPORT`
names (scripts/fuzz_report.py reads it).
"""

import collections
import datetime
import os
import re
import sys

import schemathesis

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fuzz_objects import BY_PATH, KEYSIGN, Objects  # noqa: E402

LOOPBACK = "http://127.0.0.1:9/fuzz"

# Headers whose generated values only make a request refused before it reaches its
# route: a random request signature (401: the signing contract has its own tests).
UNSIGNABLE = ("x-pushguard-timestamp", "x-pushguard-sign")

# The portal session's CSRF token, which its forms carry.
CSRF = os.environ.get("FUZZ_CSRF")
OBJECTS = Objects(os.environ.get("FUZZ_BASE", ""), os.environ.get("FUZZ_KEY", ""))
FIXTURES = None
SEEN = collections.Counter()


def fixtures():
    global FIXTURES
    if FIXTURES is None:
        FIXTURES = OBJECTS.fixtures()
    return FIXTURES


def name_objects(case):
    """The path's parameters name objects that exist (a fresh one where it is used up)."""
    params = BY_PATH.get(case.path)
    if not params or case.path_parameters is None:
        return
    values = dict(fixtures().get(case.path, {}))
    # The documented method: the fuzzer also tries others, to see them refused (405).
    documented = case.operation.method.upper()
    if (documented, case.path) == ("POST", "/pay/{token}"):
        # The page's email form: a payment made without one, which takes one email once.
        params = {"token": "bare_token"}
    if documented == "DELETE" or case.path == "/portal/{token}" or "bare_token" in params.values():
        for param, kind in params.items():
            made = OBJECTS.fresh(kind)
            if made is not None:
                values[param] = made
    case.path_parameters.update(values)


def sign_keysign(case, kwargs):
    """A Key/Sign call as its client makes it, with the channel it needs."""
    if case.path == f"{KEYSIGN}/create":
        OBJECTS.keysign_channel(wanted=False)
    elif case.path != KEYSIGN or case.method.upper() == "DELETE":
        OBJECTS.keysign_channel(wanted=True)
    body = case.body if isinstance(case.body, dict) else {}
    data, headers = OBJECTS.keysign(body)
    kwargs["data"] = data
    case.headers = {**(case.headers or {}), **headers}


@schemathesis.hook
def before_call(context, case, kwargs):
    operation = (case.method.upper(), case.path)
    real = SEEN[operation] % 4 != 3
    SEEN[operation] += 1
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
    if not real:
        return
    name_objects(case)
    if case.headers:
        for name in list(case.headers):
            if name.lower() == "idempotency-key":
                # A client makes a key per request: generated ones repeat across
                # different bodies, which is a 422 (a key reused with another request).
                case.headers[name] = f"fuzz-{sum(SEEN.values())}"
    if isinstance(case.body, dict):
        if case.path.startswith("/portal/") and CSRF:
            case.body["csrf"] = CSRF
        if operation == ("POST", "/api/v2/feedback"):
            case.body["order_id"] = OBJECTS.fresh("order")
        elif "order_id" in case.body and "order" in OBJECTS.made:
            case.body["order_id"] = OBJECTS.made["order"]
        if operation == ("POST", "/portal/deliveries/recover"):
            # The form's select and date: an endpoint of the tenant's, from today.
            case.body["endpoint"] = OBJECTS.made.get("endpoint")
            case.body["since"] = datetime.date.today().isoformat()
    if case.path.startswith(KEYSIGN):
        sign_keysign(case, kwargs)


# Operations that make an endpoint (the canonical API's, the seeds', the portal's form).
MAKES_ENDPOINTS = {
    ("POST", "/api/v2/webhooks/endpoints"),
    ("POST", "/webhooks"),
    ("POST", "/api/external/v1/webhooks"),
    ("POST", "/api/v2/webhooks"),
    ("POST", "/portal/endpoints"),
}


@schemathesis.hook
def after_call(context, case, response):
    operation = (case.method.upper(), case.path)
    if case.path.startswith(KEYSIGN):
        OBJECTS.keysign_answered(*operation, response.status_code)
    elif operation in MAKES_ENDPOINTS and response.status_code in (200, 201, 303):
        OBJECTS.sweep()
    report = os.environ.get("FUZZ_REPORT")
    if report:
        meta = case.meta
        phase = meta.phase.name.value if meta else "-"
        mode = meta.generation.mode.value if meta else "-"
        with open(report, "a", encoding="utf-8") as out:
            out.write(f"{case.method.upper()} {case.path} {response.status_code} {phase} {mode}\n")
    if os.environ.get("FUZZ_SHOW") and response.status_code >= 400:
        # FUZZ_SHOW=1: what each refusal said, to see why an operation is not reached.
        said = response.text
        if said.lstrip().lower().startswith("<!doctype"):
            # A portal page: its text after the header, without the markup.
            said = re.sub(r"<[^>]+>", " ", said.split("</header>", 1)[-1])
            said = " ".join(said.split())
        print(f"{operation[0]} {case.path} {response.status_code}: {said[:300]}", file=sys.stderr)
