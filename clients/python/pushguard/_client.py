"""How a call goes out: authentication, the Idempotency-Key of a POST (the same on its
retries), retries on 429, 502-504 and connection failures (honouring Retry-After),
timeouts, the API's request signing, and the API's errors raised."""

import base64
import hashlib
import hmac
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from typing import Any, Dict, Optional, Tuple

from . import _errors
from ._generated import OPERATIONS, Resources

DEFAULT_API_BASE = "https://pushguard.net/api/v2"
VERSION = "0.1.0"
RETRIED = (429, 502, 503, 504)
# The longest wait between tries, whatever Retry-After says.
MAX_WAIT = 60.0


class Client(Resources):
    """One set of credentials: ``client.orders.list(page=10, per_page=50)``,
    ``client.webhooks.endpoints.create(url=..., events=[...])``.

    ``api_email`` with ``api_key`` is Basic authentication, as the original API; the key
    alone is a Bearer token. ``signing_secret`` (a key made with ``require_signed``)
    signs every request. ``language`` ("en" or "es") is the API's messages' language;
    ``child_company_id`` acts for one of the account's child accounts."""

    def __init__(
        self,
        api_key: str,
        api_email: Optional[str] = None,
        api_base: str = DEFAULT_API_BASE,
        signing_secret: Optional[str] = None,
        timeout: float = 30.0,
        max_retries: int = 3,
        language: Optional[str] = None,
        child_company_id: Optional[str] = None,
    ) -> None:
        if not api_key:
            raise ValueError("api_key: the API key to call with")
        self.api_key = api_key
        self.api_email = api_email
        self.api_base = api_base.rstrip("/")
        self.signing_secret = signing_secret
        self.timeout = timeout
        self.max_retries = max_retries
        self.language = language
        self.child_company_id = child_company_id
        super().__init__(self)

    def call(self, operation: str, ids: Tuple[str, ...], params: Dict[str, Any]) -> Tuple[Any, Dict[str, str]]:
        """Calls ``operation`` (an operationId of the document) with its path's ``ids``
        and ``params`` (the JSON body, or a GET's or DELETE's query)."""
        method, path, names, body, _ = OPERATIONS[operation]
        if len(ids) != len(names):
            raise TypeError(f"{operation} takes {', '.join(names) or 'no ids'}")
        for name, value in zip(names, ids):
            path = path.replace("{" + name + "}", urllib.parse.quote(str(value), safe=""))
        if body:
            return self.request(method, path, body=params)
        return self.request(method, path, query=params)

    def request(
        self,
        method: str,
        path: str,
        query: Optional[Dict[str, Any]] = None,
        body: Optional[Dict[str, Any]] = None,
    ) -> Tuple[Any, Dict[str, str]]:
        """``method`` on ``path`` (``/api/v2/...``, as a Link gives it): the parsed
        answer and its headers (names in lower case)."""
        url = self._origin() + path
        pairs = [(k, _text(v)) for k, v in (query or {}).items() if v is not None]
        if pairs:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode(pairs)
        data = None
        if body is not None:
            data = json.dumps({k: v for k, v in body.items() if v is not None}, separators=(",", ":")).encode()
        idempotency_key = str(uuid.uuid4()) if method == "POST" else None
        tries = 0
        while True:
            tries += 1
            try:
                status, headers, raw = self._send(method, url, data, idempotency_key)
            except OSError as error:  # refused, reset, timed out, unreachable (URLError too)
                if tries > self.max_retries:
                    raise _errors.ConnectionError(f"{method} {path}: {error}") from error
                time.sleep(_backoff(tries))
                continue
            if status in RETRIED and tries <= self.max_retries:
                time.sleep(_wait_for(headers, tries))
                continue
            return _answer(status, headers, raw)

    def _origin(self) -> str:
        parts = urllib.parse.urlsplit(self.api_base)
        return f"{parts.scheme}://{parts.netloc}"

    def _send(self, method: str, url: str, data: Optional[bytes], idempotency_key: Optional[str]):
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", f"pushguard-python/{VERSION}")
        request.add_header("Authorization", self._authorization())
        if self.language:
            request.add_header("Accept-Language", self.language)
        if self.child_company_id:
            request.add_header("X-Child-Company-Id", self.child_company_id)
        if idempotency_key:
            request.add_header("Idempotency-Key", idempotency_key)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.signing_secret:
            self._sign(request, method, url, data or b"")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, _lower(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, _lower(error.headers), error.read()

    def _authorization(self) -> str:
        if self.api_email:
            pair = f"{self.api_email}:{self.api_key}".encode()
            return "Basic " + base64.b64encode(pair).decode()
        return f"Bearer {self.api_key}"

    def _sign(self, request: urllib.request.Request, method: str, url: str, data: bytes) -> None:
        """The API's request signature: hex HMAC-SHA256 with the signing secret of the
        timestamp, method, path, query and the body's hex SHA-256, one per line."""
        parts = urllib.parse.urlsplit(url)
        timestamp = str(int(time.time() * 1000))
        signed = "\n".join([timestamp, method, parts.path, parts.query, hashlib.sha256(data).hexdigest()])
        signature = hmac.new(self.signing_secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
        request.add_header("X-PushGuard-Timestamp", timestamp)
        request.add_header("X-PushGuard-Sign", signature)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _lower(headers: Any) -> Dict[str, str]:
    return {name.lower(): value for name, value in headers.items()} if headers else {}


def _backoff(tries: int) -> float:
    return min(0.5 * 2 ** (tries - 1), MAX_WAIT) * random.uniform(0.8, 1.2)


def _wait_for(headers: Dict[str, str], tries: int) -> float:
    after = headers.get("retry-after", "")
    return min(float(after), MAX_WAIT) if after.isdigit() else _backoff(tries)


def _answer(status: int, headers: Dict[str, str], raw: bytes) -> Tuple[Any, Dict[str, str]]:
    parsed: Any = None
    if raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = raw.decode("utf-8", "replace")
    if status < 400:
        return parsed, headers
    message = parsed.get("message") if isinstance(parsed, dict) else None
    errors = parsed.get("errors") if isinstance(parsed, dict) else None
    raise _errors.error_for(status)(
        message or f"HTTP {status}", status=status, errors=list(errors or []), body=parsed, headers=headers
    )
