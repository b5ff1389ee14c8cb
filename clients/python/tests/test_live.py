"""The package against a running PushGuard (the integration tests start one and set
PUSHGUARD_API_BASE, PUSHGUARD_API_KEY and PUSHGUARD_API_EMAIL): a delivery received
and verified three ways, pages and cursors, errors, an Idempotency-Key kept across a
retry, signed requests and a rate limit."""

import http.client
import http.server
import os
import queue
import socket
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import pushguard  # noqa: E402
from pushguard import webhooks  # noqa: E402

BASE = os.environ["PUSHGUARD_API_BASE"]
KEY = os.environ["PUSHGUARD_API_KEY"]
EMAIL = os.environ["PUSHGUARD_API_EMAIL"]


def client(**settings) -> pushguard.Client:
    return pushguard.Client(api_key=settings.pop("api_key", KEY), api_email=settings.pop("api_email", EMAIL), api_base=settings.pop("api_base", BASE), **settings)


class Receiver:
    """A webhook receiver: each request's path, headers and raw body, answered 200."""

    def __init__(self) -> None:
        self.received: "queue.Queue[dict]" = queue.Queue()
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received.put({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def next_delivery(self, timeout: float = 20) -> dict:
        return self.received.get(timeout=timeout)


class LossyProxy:
    """Forwards every request to the API and loses the answer to the first POST (the
    connection closes), as a network would: the client must try again."""

    def __init__(self, upstream: str) -> None:
        target = urllib.parse.urlsplit(upstream)
        self.keys = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                connection = http.client.HTTPConnection(target.hostname, target.port)
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                connection.request(self.command, self.path, body=body or None, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
                if self.command == "POST":
                    proxy.keys.append(self.headers.get("Idempotency-Key"))
                    if len(proxy.keys) == 1:
                        self.connection.shutdown(socket.SHUT_RDWR)  # made, never answered
                        self.close_connection = True
                        return
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data)
                self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = relay

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v2"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


class Live(unittest.TestCase):
    def test_a_delivery_verified_three_ways_and_its_thin_twin(self):
        api = client()
        receiver = Receiver()
        account = api.account.retrieve()
        endpoint = api.webhooks.endpoints.create(url=f"{receiver.url}/hooks", events=["order:created", "order:paid"], signature_scheme="both")
        thin = api.webhooks.endpoints.create(url=f"{receiver.url}/thin", events=["order:paid"], payload="thin")
        order = api.payments.create(title="PushGuard Pay Example", gateway="Bitcoin", value=10.00, currency="USD", white_label=True, email="buyer@example.com")
        api.orders.update(order["id"], status=100)
        deliveries = [receiver.next_delivery() for _ in range(3)]
        full = [d for d in deliveries if d["path"] == "/hooks"]
        self.assertEqual(sorted(d["headers"]["x-pushguard-event"] for d in full), ["order:created", "order:paid"])
        for delivery in full:
            body, headers = delivery["body"], delivery["headers"]
            self.assertTrue(webhooks.valid_signature(body, headers["x-pushguard-signature"], endpoint["secret"]))
            self.assertEqual(webhooks.verify(body, headers, endpoint["secret"])["id"], order["id"])
            event = webhooks.verify_v1a(body, headers, client=api, account_id=account["id"], mode="test")
            self.assertEqual(event["id"], order["id"])
            with self.assertRaises(pushguard.SignatureVerificationError):
                webhooks.verify(body.replace(order["id"].encode(), b"ord_forged"), headers, endpoint["secret"])
            with self.assertRaises(pushguard.SignatureVerificationError):
                webhooks.verify(body, headers, endpoint["secret"], now=time.time() + 600)
        thin_delivery = next(d for d in deliveries if d["path"] == "/thin")
        event = webhooks.verify(thin_delivery["body"], thin_delivery["headers"], thin["secret"])
        self.assertEqual(event["resource"], {"type": "order", "id": order["id"]})
        current = webhooks.fetch_resource(api, event)
        self.assertEqual((current["id"], current["status"]), (order["id"], 100))

    def test_lists_page_by_number_and_by_cursor(self):
        api = client()
        made = [api.products.create(title=f"Paged {n}", price="1.00", currency="USD", gateways=["paypal"])["id"] for n in range(5)]
        first = api.products.list(per_page=2)
        self.assertEqual(len(first), 2)
        self.assertGreaterEqual(first.total_count, 5)
        every = [product["id"] for product in first.auto_paging_iter()]
        self.assertEqual(len(every), len(set(every)))
        self.assertFalse(set(made) - set(every))
        by_cursor = [p["id"] for p in api.products.list(per_page=2, starting_after=every[0]).auto_paging_iter()]
        self.assertEqual(by_cursor, every[1:])

    def test_errors_carry_the_apis_message_and_each_problem_in_the_callers_language(self):
        with self.assertRaises(pushguard.InvalidRequestError) as caught:
            client().products.create(title="x")
        self.assertEqual((caught.exception.status, caught.exception.message), (400, "Validation failed"))
        self.assertIn("Title is too short (minimum is 2 characters)", caught.exception.errors)
        with self.assertRaises(pushguard.InvalidRequestError) as caught:
            client(language="es").products.create(title="x")
        self.assertIn("El campo title es demasiado corto (el mínimo es de 2 caracteres)", caught.exception.errors)
        with self.assertRaises(pushguard.NotFoundError):
            client().products.retrieve("prd_01J00000000000000000000000")
        with self.assertRaises(pushguard.AuthenticationError):
            client(api_key="pg_test_wrong", api_email=None).account.retrieve()

    def test_a_post_whose_answer_is_lost_is_sent_again_with_its_key_and_made_once(self):
        proxy = LossyProxy(BASE)
        before = client().categories.list(per_page=1).total_count
        category = client(api_base=proxy.url).categories.create(title="Made once")
        self.assertEqual(len(proxy.keys), 2, "the POST was sent twice")
        self.assertEqual(len(set(proxy.keys)), 1, "with one Idempotency-Key")
        self.assertEqual(client().categories.list(per_page=1).total_count, before + 1)
        self.assertEqual(client().categories.retrieve(category["id"])["title"], "Made once")

    def test_a_signing_key_signs_every_request(self):
        key = client().account.keys.create(name="signed", scopes=["account:read"], mode="test", require_signed=True)
        signed = client(api_key=key["key"], api_email=None, signing_secret=key["signing_secret"])
        self.assertEqual(signed.account.retrieve()["id"], client().account.retrieve()["id"])
        with self.assertRaises(pushguard.AuthenticationError):
            client(api_key=key["key"], api_email=None).account.retrieve()

    def test_a_rate_limit_is_waited_out_or_raised(self):
        receiver = Receiver()
        endpoint = client().webhooks.endpoints.create(url=f"{receiver.url}/limited", events=["order:paid"])
        impatient = client(max_retries=0)
        with self.assertRaises(pushguard.RateLimitError) as caught:
            for _ in range(10):
                impatient.webhooks.endpoints.test(endpoint["id"])
        self.assertEqual(caught.exception.status, 429)
        self.assertTrue(caught.exception.headers["retry-after"].isdigit())
        self.assertIn("delivered", client().webhooks.endpoints.test(endpoint["id"]))


if __name__ == "__main__":
    unittest.main(verbosity=2)
