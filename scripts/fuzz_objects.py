"""Objects for the API fuzzer (scripts/fuzz_hooks.py) to name, made through the API.

Without them every operation with an id in its path can only answer 404, every
`DELETE` succeeds once (its object is then gone), a portal link opens once, feedback
needs an order of its own, and the Key/Sign API needs a signed body. `Objects` makes
one of each kind at start (`fixtures`), a fresh one on demand (`fresh`), and signs
Key/Sign bodies with a signing key of its own (`keysign`).
"""

import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request

# What each kind is made from: method, path (PushGuard's under /api/v2; a dialect's
# whole), body, and where the new object's id is in the answer.
RECIPES = {
    "product": ("POST", "/products",
                {"title": "Fuzz product", "price": "9.99", "currency": "USD", "gateways": ["paypal"]},
                "id"),
    "category": ("POST", "/categories", {"title": "Fuzz category"}, "id"),
    "order": ("POST", "/payments",
              {"title": "Fuzz order", "gateway": "paypal", "value": "25.00", "currency": "USD",
               "email": "fuzz@example.com", "white_label": True},
              "id"),
    "blacklist": ("POST", "/blacklists", {"blacklist_type": 3, "blocked_data": "ZW"}, "id"),
    "rule": ("POST", "/blacklist-rules",
             {"name": "fuzz", "rule": 'country == "ZW"', "action_type": "flag"}, "id"),
    "query": ("POST", "/queries",
              {"title": "Where is my order", "email": "c@example.com", "message": "Hello"}, "id"),
    # The type the documented example of POST /events publishes.
    "event_type": ("POST", "/event-types",
                   {"name": "invoice:sent", "description": "An invoice went out"}, "name"),
    "event": ("POST", "/events", {"type": "invoice:sent", "payload": {"id": "inv_1"}}, "id"),
    "endpoint": ("POST", "/webhooks/endpoints", {"url": "{url}", "events": ["*"]}, "id"),
    "session": ("POST", "/portal/sessions", {"scope": "read"}, "id"),
    # A manage link's token: the last part of its URL.
    "link": ("POST", "/portal/sessions", {"scope": "manage"}, "url"),
    # The seeds' webhook APIs: each sees only the endpoints made through it.
    "conekta": ("POST", "/webhooks", {"url": "{url}", "synchronous": False}, "id"),
    "pixlpay": ("POST", "/api/external/v1/webhooks",
                {"url": "{url}", "events": ["order.created"]}, "data.id"),
    "paybyrd": ("POST", "/api/v2/webhooks", {"url": "{url}"}, "webhookId"),
}

# The object each path parameter names, by operation path.
BY_PATH = {
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
    "/api/v2/webhooks/endpoints/{id}": {"id": "endpoint"},
    "/api/v2/webhooks/logs/{id}": {"id": "log"},
    "/api/v2/webhooks/logs/{id}/retry": {"id": "log"},
    "/api/v2/portal/sessions/{id}": {"id": "session"},
    "/api/v2/webhooks/public-keys/{account_id}": {"account_id": "account"},
    "/pay/{token}": {"token": "token"},
    "/pay/{token}/status": {"token": "token"},
    "/pay/{token}/file": {"token": "paid_token"},
    "/media/images/{id}": {"id": "image"},
    "/portal/{token}": {"token": "link"},
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
# An endpoint's actions and figures name it too.
for _suffix in ("stats", "test", "enable", "disable", "rotate-secret", "recover", "unblock"):
    BY_PATH[f"/api/v2/webhooks/endpoints/{{id}}/{_suffix}"] = {"id": "endpoint"}

KEYSIGN = "/api/v1/subscription/webhook"


class Objects:
    def __init__(self, base, key):
        self.base = base
        self.key = key
        self.made = {}
        self.count = 0
        self.signer = None
        self.last_timestamp = 0
        # Whether the account's Key/Sign channel exists, as last seen (None: not known).
        self.channel = None

    def call(self, method, path, body=None, headers=None, data=None):
        """One request with the fuzzer's key; the answer's JSON, or None (said on stderr)."""
        if body is not None:
            data = json.dumps(body).encode()
        # PushGuard's routes by their path under /api/v2; a dialect's by its whole path.
        full = path if path.startswith("/api/") or path == "/webhooks" else f"/api/v2{path}"
        request = urllib.request.Request(f"{self.base}{full}", data=data, method=method)
        for name, value in (headers or {"Authorization": f"Bearer {self.key}"}).items():
            request.add_header(name, value)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            print(f"fuzz object {method} {path}: {error.code} {error.read()[:200]!r}", file=sys.stderr)
            return None

    def fresh(self, kind):
        """A new object of `kind`: its id (or name, or token), or None when it cannot be made."""
        if kind == "feedback":
            order = self.fresh("order")
            answer = order and self.call("POST", "/feedback",
                                         {"order_id": order, "message": "Fine", "score": 5})
            return answer and answer.get("id")
        if kind == "log":
            endpoint = self.made.get("endpoint") or self.fresh("endpoint")
            answer = endpoint and self.call("POST", f"/webhooks/endpoints/{endpoint}/test", {})
            return answer and answer.get("log_id")
        if kind in ("image", "file"):
            # An upload, its bytes PUT where the answer says: its id, to attach.
            data = b"\x89PNG\r\n\x1a\n" + bytes(56) if kind == "image" else b"PK\x03\x04" + bytes(60)
            mime = "image/png" if kind == "image" else "application/zip"
            ticket = self.call("POST", "/uploads",
                               {"purpose": kind, "filename": f"fuzz.{kind}", "mime_type": mime, "size": len(data)})
            if not ticket:
                return None
            request = urllib.request.Request(ticket["upload_url"], data=data, method="PUT")
            for name, value in ticket["headers"].items():
                if name != "content-length":
                    request.add_header(name, value)
            try:
                urllib.request.urlopen(request, timeout=30).close()
            except urllib.error.HTTPError as error:
                print(f"fuzz object PUT upload: {error.code}", file=sys.stderr)
                return None
            if kind == "file":
                return ticket["id"]
            body = dict(RECIPES["product"][2], image=ticket["id"])
            return (self.call("POST", "/products", body) or {}).get("image", {}).get("id")
        if kind == "paid_token":
            # A paid order of a product with a file: its page offers the download.
            file = self.fresh("file")
            product = file and self.call("POST", "/products", dict(RECIPES["product"][2], file=file))
            body = dict(RECIPES["order"][2], product_id=product and product.get("id"),
                        title=None, value=None, currency=None)
            order = product and self.call("POST", "/payments", body)
            if not order or not self.call("PUT", f"/orders/{order['id']}", {"status": 100}):
                return None
            return order["url"].rstrip("/").rsplit("/", 1)[-1]
        if kind in ("token", "bare_token"):
            body = dict(RECIPES["order"][2])
            if kind == "bare_token":
                # A payment without an email, whose page asks for one (POST /pay/{token}).
                del body["email"]
            answer = self.call("POST", "/payments", body)
            url = answer and answer.get("url")
            return url.rstrip("/").rsplit("/", 1)[-1] if isinstance(url, str) else None
        if kind not in RECIPES:
            return None
        method, path, body, field = RECIPES[kind]
        self.count += 1
        text = json.dumps(body).replace("{url}", f"http://127.0.0.1:9/{kind}/{self.count}")
        if kind == "event_type":
            # A type of its own, unless it is the fixture the example of POST /events uses.
            text = text.replace("invoice:sent", f"fuzz:made{self.count}") if "event_type" in self.made else text
        found = self.call(method, path, json.loads(text))
        for step in field.split("."):
            found = found.get(step) if isinstance(found, dict) else None
        if kind == "link" and isinstance(found, str):
            found = found.rstrip("/").rsplit("/", 1)[-1]
        return None if found is None else str(found)

    def fixtures(self):
        """One object of each kind; the value of each path parameter, by operation path."""
        self.made["account"] = (self.call("GET", "/account") or {}).get("id")
        for kind in ("product", "category", "order", "token", "blacklist", "rule", "feedback",
                     "query", "event_type", "event", "endpoint", "log", "session", "conekta",
                     "pixlpay", "paybyrd", "image", "paid_token"):
            made = self.fresh(kind)
            if made is not None:
                self.made[kind] = made
        print(f"fuzz objects: {len(self.made)} made ({', '.join(sorted(self.made))})", file=sys.stderr)
        return {
            path: {param: self.made[kind] for param, kind in params.items() if kind in self.made}
            for path, params in BY_PATH.items()
        }

    def sweep(self):
        """Deletes the endpoints the fuzzer's own creates made (their URLs are under
        /fuzz/): the local stack delivers every event to every endpoint in the same
        process, so a few hundred of them would slow every later request."""
        listed = self.call("GET", "/webhooks/endpoints?per_page=100") or []
        fixtures = set(self.made.values())
        for endpoint in listed if isinstance(listed, list) else []:
            # A fixture's URL is under /fuzz/ too once an update case changed it.
            if "/fuzz/" in str(endpoint.get("url")) and endpoint.get("id") not in fixtures:
                self.call("DELETE", f"/webhooks/endpoints/{endpoint['id']}")
        self.channel = None

    # The Key/Sign API: a key that signs, and one channel per account.

    def keysign(self, body):
        """`body` made a valid signed Key/Sign call: its exact bytes and the headers."""
        if self.signer is None:
            self.made.setdefault("account", (self.call("GET", "/account") or {}).get("id"))
            made = self.call("POST", "/account/keys",
                             {"name": "fuzz keysign", "scopes": ["webhooks:write"], "require_signed": True}) or {}
            self.signer = (made.get("key"), made.get("signing_secret"))
        # Strictly increasing: the same body twice in one millisecond is a replay.
        self.last_timestamp = max(int(time.time() * 1000), self.last_timestamp + 1)
        body = dict(body or {}, timestamp=self.last_timestamp, account=self.made.get("account"))
        data = json.dumps(body).encode()
        key, secret = self.signer
        sign = hmac.new((secret or "").encode(), data, hashlib.sha256).hexdigest()
        return data, {"Key": key or "", "Sign": sign, "Content-Type": "application/json"}

    def keysign_channel(self, wanted):
        """Makes the account's Key/Sign channel exist (`wanted`) or not, before a call."""
        if self.channel is None:
            data, headers = self.keysign({})
            listed = self.call("POST", KEYSIGN, headers=headers, data=data) or {}
            self.channel = bool(listed.get("webhooks"))
        if self.channel and not wanted:
            data, headers = self.keysign({})
            self.call("DELETE", KEYSIGN, headers=headers, data=data)
        elif wanted and not self.channel:
            self.count += 1
            data, headers = self.keysign({"url": f"http://127.0.0.1:9/keysign/{self.count}"})
            self.call("POST", f"{KEYSIGN}/create", headers=headers, data=data)
        self.channel = wanted

    def keysign_answered(self, method, path, status):
        """What a Key/Sign call's answer says of the channel."""
        if status == 200 and path == f"{KEYSIGN}/create":
            self.channel = True
        elif status == 200 and (method, path) == ("DELETE", KEYSIGN):
            self.channel = False
        elif status not in (200, 400, 401, 403, 409):
            self.channel = None
