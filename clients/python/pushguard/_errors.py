"""The errors a call raises: an answer of 400 to 599, with what the API said."""

from typing import Any, Dict, List, Optional


class PushGuardError(Exception):
    """An answer of 400 to 599: its status, the API's message, each problem in
    ``errors`` (validation), the parsed body and the answer's headers."""

    def __init__(
        self,
        message: str,
        status: Optional[int] = None,
        errors: Optional[List[str]] = None,
        body: Any = None,
        headers: Optional[Dict[str, str]] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.errors = errors or []
        self.body = body
        self.headers = headers or {}


class InvalidRequestError(PushGuardError):
    """400: the request's parameters or fields (see ``errors``)."""


class AuthenticationError(PushGuardError):
    """401: no key, an unknown one, or a bad signature."""


class PermissionError(PushGuardError):  # noqa: A001 - the API's word for 403
    """403: the key lacks the scope, or the request was refused."""


class NotFoundError(PushGuardError):
    """404: no such object (or another account's)."""


class ConflictError(PushGuardError):
    """409: a duplicate, or a change made meanwhile."""


class UnprocessableError(PushGuardError):
    """422: an Idempotency-Key reused with another request."""


class RateLimitError(PushGuardError):
    """429, on every try: ``headers["retry-after"]`` says when to come back."""


class APIError(PushGuardError):
    """5xx, on every try."""


class ConnectionError(PushGuardError):  # noqa: A001
    """No answer: the connection failed or timed out, on every try."""


class SignatureVerificationError(PushGuardError):
    """A webhook whose signature does not verify, or is too old."""


_BY_STATUS = {
    400: InvalidRequestError,
    401: AuthenticationError,
    403: PermissionError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableError,
    429: RateLimitError,
}


def error_for(status: int) -> type:
    return _BY_STATUS.get(status, APIError)
