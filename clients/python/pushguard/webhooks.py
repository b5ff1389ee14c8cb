"""Checking a delivery before trusting it, in each of the three ways PushGuard signs.

- :func:`valid_signature`: the original API's ``X-PushGuard-Signature``, hex
  HMAC-SHA512 of the body keyed with the endpoint's secret. Sign the raw bytes you
  received, never ``json.dumps(payload)``: JSON written again may differ (spacing, key
  order, escapes, number formats), so a genuine delivery fails, or two bodies that parse
  alike verify alike. It carries no timestamp, so a captured delivery can be sent
  again: prefer :func:`verify`.
- :func:`verify`: Standard Webhooks ``v1`` (``webhook-id``, ``webhook-timestamp``,
  ``webhook-signature``), HMAC-SHA256 of ``id.timestamp.body``, refusing a timestamp
  more than 5 minutes off.
- :func:`verify_v1a`: the same message signed with the account's ed25519 key, checked
  with its published public keys (fetched without an API key, kept 5 minutes).
"""

import base64
import hashlib
import hmac
import json
import threading
import time
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from . import _ed25519
from ._errors import SignatureVerificationError

TOLERANCE = 300
PUBLIC_KEYS_TTL = 300
# What a thin payload's ``resource.type`` names, and the resource that reads it.
RESOURCES = {
    "order": "orders",
    "product": "products",
    "category": "categories",
    "feedback": "feedback",
    "query": "queries",
    "blacklist": "blacklists",
}

_public_keys: Dict[str, Tuple[float, List[Dict[str, Any]]]] = {}
_public_keys_lock = threading.Lock()


def valid_signature(raw_body: bytes, signature: Optional[str], secret: str) -> bool:
    """The original API's check: ``signature`` is ``X-PushGuard-Signature``, ``secret``
    the endpoint's (``whsec_...``). Compared in constant time."""
    if not isinstance(signature, str):
        return False
    expected = hmac.new(secret.encode(), raw_body, hashlib.sha512).hexdigest()
    return hmac.compare_digest(expected, signature)


def verify(
    raw_body: bytes,
    headers: Mapping[str, str],
    secret: str,
    tolerance: int = TOLERANCE,
    now: Optional[float] = None,
) -> Any:
    """Standard Webhooks ``v1``: the parsed event, or :class:`SignatureVerificationError`.
    ``headers`` in any case (a WSGI environ's ``HTTP_WEBHOOK_ID`` too)."""
    msg_id, timestamp, signatures = _parts(headers, tolerance, now)
    key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
    signed = f"{msg_id}.{timestamp}.".encode() + raw_body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for entry in signatures:
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature):
            return json.loads(raw_body)
    raise SignatureVerificationError("No v1 signature matches the secret")


def verify_v1a(
    raw_body: bytes,
    headers: Mapping[str, str],
    public_keys: Optional[Iterable[str]] = None,
    account_id: Optional[str] = None,
    mode: Optional[str] = None,
    client: Any = None,
    tolerance: int = TOLERANCE,
    now: Optional[float] = None,
) -> Any:
    """``v1a`` (ed25519): the parsed event, or :class:`SignatureVerificationError`. The
    keys are ``public_keys`` (``whpk_...``), or the account's, fetched with ``client``
    and kept 5 minutes."""
    msg_id, timestamp, signatures = _parts(headers, tolerance, now)
    keys = list(public_keys) if public_keys is not None else published_keys(client, account_id, mode)
    signed = f"{msg_id}.{timestamp}.".encode() + raw_body
    for entry in signatures:
        version, _, signature = entry.partition(",")
        if version != "v1a":
            continue
        for key in keys:
            if _ed25519_verifies(key, signature, signed):
                return json.loads(raw_body)
    raise SignatureVerificationError("No v1a signature matches the account's public keys")


def published_keys(client: Any, account_id: Optional[str], mode: Optional[str] = None) -> List[str]:
    """The account's published public keys (``whpk_...``), of one mode if given."""
    if not account_id or client is None:
        raise ValueError("account_id and client: whose keys, fetched how?")
    with _public_keys_lock:
        cached = _public_keys.get(account_id)
    if cached is None or cached[0] < time.time():
        answer = client.webhooks.public_keys.retrieve(account_id)
        cached = (time.time() + PUBLIC_KEYS_TTL, answer["keys"])
        with _public_keys_lock:
            _public_keys[account_id] = cached
    return [key["key"] for key in cached[1] if mode is None or key["mode"] == mode]


def fetch_resource(client: Any, event: Mapping[str, Any]) -> Any:
    """A thin delivery's object as it is now, read with ``client``'s key (None when the
    event names none, as a ping)."""
    resource = event.get("resource")
    if not isinstance(resource, Mapping):
        return None
    name = RESOURCES.get(resource.get("type", ""))
    if name is None:
        raise ValueError(f"no resource reads {resource.get('type')!r}")
    return getattr(client, name).retrieve(resource["id"])


def _header(headers: Mapping[str, str], name: str) -> Optional[str]:
    for key, value in headers.items():
        normal = key.lower()
        if normal.startswith("http_"):
            normal = normal[5:]
        if normal.replace("_", "-") == name:
            return value
    return None


def _parts(headers: Mapping[str, str], tolerance: int, now: Optional[float]) -> Tuple[str, str, List[str]]:
    msg_id = _header(headers, "webhook-id")
    timestamp = _header(headers, "webhook-timestamp")
    signatures = (_header(headers, "webhook-signature") or "").split()
    if msg_id is None or timestamp is None or not signatures:
        raise SignatureVerificationError("Missing webhook-id, webhook-timestamp or webhook-signature")
    if not timestamp.isdigit():
        raise SignatureVerificationError("webhook-timestamp is not a number")
    if abs((time.time() if now is None else now) - int(timestamp)) > tolerance:
        raise SignatureVerificationError("webhook-timestamp is too old or in the future: a replay?")
    return msg_id, timestamp, signatures


def _ed25519_verifies(public_key: str, signature: str, message: bytes) -> bool:
    try:
        raw_key = base64.b64decode(public_key[len("whpk_"):] if public_key.startswith("whpk_") else public_key)
        raw_signature = base64.b64decode(signature, validate=True)
    except ValueError:
        return False
    try:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    except ImportError:
        return _ed25519.verify(raw_key, message, raw_signature)
    try:
        Ed25519PublicKey.from_public_bytes(raw_key).verify(raw_signature, message)
        return True
    except (InvalidSignature, ValueError):
        return False
