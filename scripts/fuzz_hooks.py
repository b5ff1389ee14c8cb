"""Schemathesis hooks for `make fuzz`: keep every webhook on this machine.

Deliveries go to whatever URL an endpoint, product or payment names; the fuzzer would
name any host. Before each call, every string `url` or `webhook_url` in the body is
pointed at 127.0.0.1:9 (nothing listens: the delivery fails, as it should).
"""

import schemathesis

LOOPBACK = "http://127.0.0.1:9/fuzz"


@schemathesis.hook
def before_call(context, case, kwargs):
    if isinstance(case.body, dict):
        for field in ("url", "webhook_url"):
            if isinstance(case.body.get(field), str):
                case.body[field] = LOOPBACK
