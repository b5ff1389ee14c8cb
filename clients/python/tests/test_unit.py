"""What the package does without a server: every operation of the document is a
method, and the three signature checks accept what PushGuard signs and nothing else."""

import base64
import hashlib
import hmac
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import pushguard  # noqa: E402
from pushguard import _ed25519, webhooks  # noqa: E402
from pushguard._resource import Page, Resource  # noqa: E402

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()
BODY = b'{"id":"ord_1","value":"9.99"}'


def signed(body: bytes, at: int, msg_id: str = "log_1") -> dict:
    key = base64.b64decode(SECRET[len("whsec_"):])
    signature = base64.b64encode(hmac.new(key, f"{msg_id}.{at}.".encode() + body, hashlib.sha256).digest()).decode()
    return {"Webhook-Id": msg_id, "Webhook-Timestamp": str(at), "Webhook-Signature": f"v1,bm90IGl0 v1,{signature}"}


class Unit(unittest.TestCase):
    def test_every_operation_of_the_document_is_a_method_of_its_resource(self):
        client = pushguard.Client(api_key="pg_test_x", api_base="http://127.0.0.1:9/api/v2")
        self.assertGreater(len(pushguard.OPERATIONS), 60)
        methods = 0
        for resource in _walk(client):
            if isinstance(resource, pushguard.Client):
                continue  # the root holds resources, no operation
            for name, member in vars(type(resource)).items():
                if callable(member) and not name.startswith("_"):
                    methods += 1
        self.assertEqual(methods, len(pushguard.OPERATIONS), "one method per operation")
        for path in (client.orders.list, client.webhooks.endpoints.rotate_secret, client.account.keys.roll):
            self.assertTrue(callable(path))
        with self.assertRaises(TypeError):
            client.call("getOrdersById", (), {})

    def test_standard_webhooks_v1_accepts_its_signature_and_refuses_a_change_or_a_replay(self):
        now = int(time.time())
        self.assertEqual(webhooks.verify(BODY, signed(BODY, now), SECRET), {"id": "ord_1", "value": "9.99"})
        environ = {"HTTP_" + k.upper().replace("-", "_"): v for k, v in signed(BODY, now).items()}
        self.assertTrue(webhooks.verify(BODY, environ, SECRET))
        for body, headers in [
            (BODY.replace(b"9.99", b"0.01"), signed(BODY, now)),
            (BODY, signed(BODY, now - 301)),
            (BODY, {}),
        ]:
            with self.assertRaises(pushguard.SignatureVerificationError):
                webhooks.verify(body, headers, SECRET)

    def test_the_original_signature_is_hmac_sha512_of_the_raw_body(self):
        signature = hmac.new(SECRET.encode(), BODY, hashlib.sha512).hexdigest()
        self.assertTrue(webhooks.valid_signature(BODY, signature, SECRET))
        self.assertFalse(webhooks.valid_signature(BODY + b" ", signature, SECRET))
        self.assertFalse(webhooks.valid_signature(BODY, None, SECRET))

    def test_the_plain_ed25519_verifier_agrees_with_rfc_8032(self):
        # RFC 8032, section 7.1, test 2 (one byte, 0x72).
        public = bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c")
        signature = bytes.fromhex(
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
            "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"
        )
        self.assertTrue(_ed25519.verify(public, b"\x72", signature))
        self.assertFalse(_ed25519.verify(public, b"\x73", signature))
        self.assertFalse(_ed25519.verify(public, b"\x72", signature[:63] + b"\x01"))
        at = int(time.time())
        headers = {"webhook-id": "log_1", "webhook-timestamp": str(at), "webhook-signature": "v1a," + base64.b64encode(signature).decode()}
        with self.assertRaises(pushguard.SignatureVerificationError):
            webhooks.verify_v1a(BODY, headers, public_keys=["whpk_" + base64.b64encode(public).decode()])

    def test_a_page_follows_the_link_the_api_gave(self):
        headers = {
            "link": '</api/v2/orders?page=2&per_page=1>; rel="next", </api/v2/orders?page=1&per_page=1>; rel="first"',
            "x-total-count": "2",
        }
        page = Page([{"id": "a"}], headers, None)
        self.assertTrue(page.has_next())
        self.assertEqual(page.total_count, 2)
        self.assertEqual(page._next, "/api/v2/orders?page=2&per_page=1")
        self.assertFalse(Page([], {}, None).has_next())


def _walk(resource):
    yield resource
    for name, value in vars(resource).items():
        if isinstance(value, Resource) and not name.startswith("_"):
            yield from _walk(value)


if __name__ == "__main__":
    unittest.main()
