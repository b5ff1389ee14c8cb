"""Objects for the API fuzzer to name: without them, every operation with an id in its
path can only answer 404. Creates one of each kind through the API (best effort: what
cannot be made is reported and left out) and prints, as JSON, the value each path
parameter of each operation path takes (scripts/fuzz_hooks.py puts them in).

usage: fuzz_fixtures.py BASE_URL API_KEY
"""

import json
import sys
import urllib.error
import urllib.request


def call(base, key, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    # PushGuard's routes by their path under /api/v2; a dialect's by its whole path.
    full = path if path.startswith("/api/") or path == "/webhooks" else f"/api/v2{path}"
    request = urllib.request.Request(f"{base}{full}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        print(f"fixture {method} {path}: {error.code} {error.read()[:200]!r}", file=sys.stderr)
        return None


def main(base, key):
    made = {}

    def make(name, method, path, body, field="id"):
        answer = call(base, key, method, path, body)
        found = answer
        for step in field.split("."):
            found = found.get(step) if isinstance(found, dict) else None
        if found is not None:
            made[name] = str(found)
            return answer
        return None

    make("product", "POST", "/products",
         {"title": "Fuzz product", "price": "9.99", "currency": "USD", "gateways": ["paypal"]})
    make("category", "POST", "/categories", {"title": "Fuzz category"})
    order = make("order", "POST", "/payments",
                 {"title": "Fuzz order", "gateway": "paypal", "value": "25.00", "currency": "USD",
                  "email": "fuzz@example.com", "white_label": True})
    if order and isinstance(order.get("url"), str):
        made["token"] = order["url"].rstrip("/").rsplit("/", 1)[-1]
    make("blacklist", "POST", "/blacklists", {"blacklist_type": 3, "blocked_data": "ZW"})
    make("rule", "POST", "/blacklist-rules",
         {"name": "fuzz", "rule": 'country == "ZW"', "action_type": "flag"})
    if "order" in made:
        make("feedback", "POST", "/feedback",
             {"order_id": made["order"], "message": "Fine", "score": 5})
    make("query", "POST", "/queries",
         {"title": "Where is my order", "email": "c@example.com", "message": "Hello"})
    # The type the documented example of POST /events publishes.
    make("event_type", "POST", "/event-types",
         {"name": "invoice:sent", "description": "An invoice went out"}, field="name")
    make("event", "POST", "/events", {"type": "invoice:sent", "payload": {"id": "inv_1"}})
    endpoint = make("endpoint", "POST", "/webhooks/endpoints",
                    {"url": "http://127.0.0.1:9/fixture", "events": ["*"]})
    if endpoint:
        make("log", "POST", f"/webhooks/endpoints/{made['endpoint']}/test", {}, field="log_id")
    make("session", "POST", "/portal/sessions", {"scope": "read"})
    # The seeds' webhook APIs: each sees only the endpoints made through it.
    make("conekta", "POST", "/webhooks", {"url": "http://127.0.0.1:9/conekta", "synchronous": False})
    make("pixlpay", "POST", "/api/external/v1/webhooks",
         {"url": "http://127.0.0.1:9/pixlpay", "events": ["order.created"]}, field="data.id")
    make("paybyrd", "POST", "/api/v2/webhooks", {"url": "http://127.0.0.1:9/paybyrd"},
         field="webhookId")

    by_path = {
        "/api/v2/products/{id}": {"id": "product"},
        "/api/v2/categories/{id}": {"id": "category"},
        "/api/v2/orders/{id}": {"id": "order"},
        "/api/v2/payments/{id}": {"id": "order"},
        "/api/v2/blacklists/{id}": {"id": "blacklist"},
        "/api/v2/blacklist-rules/{id}": {"id": "rule"},
        "/api/v2/feedback/{id}": {"id": "feedback"},
        "/api/v2/queries/{id}": {"id": "query"},
        "/api/v2/queries/{id}/reply": {"id": "query"},
        "/api/v2/event-types/{name}": {"name": "event_type"},
        "/api/v2/events/{id}": {"id": "event"},
        "/api/v2/events/{id}/replay": {"id": "event"},
        "/api/v2/webhooks/logs/{id}": {"id": "log"},
        "/api/v2/webhooks/logs/{id}/retry": {"id": "log"},
        "/api/v2/portal/sessions/{id}": {"id": "session"},
        "/pay/{token}": {"token": "token"},
        "/pay/{token}/status": {"token": "token"},
        "/portal/deliveries/{id}": {"id": "log"},
        "/portal/deliveries/{id}/retry": {"id": "log"},
        "/portal/endpoints/{id}": {"id": "endpoint"},
        "/portal/endpoints/{id}/enable": {"id": "endpoint"},
        "/portal/endpoints/{id}/disable": {"id": "endpoint"},
        "/portal/endpoints/{id}/rotate-secret": {"id": "endpoint"},
        "/portal/endpoints/{id}/test": {"id": "endpoint"},
        "/webhooks/{id}": {"id": "conekta"},
        "/webhooks/{id}/test": {"id": "conekta"},
        "/api/external/v1/webhooks/{id}": {"id": "pixlpay"},
        "/api/external/v1/webhooks/{id}/test": {"id": "pixlpay"},
        "/api/v2/webhooks/{id}": {"id": "paybyrd"},
        "/api/v2/webhooks/{id}/enable": {"id": "paybyrd"},
        "/api/v2/webhooks/{id}/disable": {"id": "paybyrd"},
    }
    values = {
        path: {param: made[kind] for param, kind in params.items() if kind in made}
        for path, params in by_path.items()
    }
    print(json.dumps({path: v for path, v in values.items() if v}))
    print(f"fixtures: {len(made)} made ({', '.join(sorted(made))})", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
