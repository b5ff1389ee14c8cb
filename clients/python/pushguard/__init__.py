"""PushGuard's API from Python::

    import pushguard

    client = pushguard.Client(api_key="...", api_email="you@example.com")
    for order in client.orders.list(per_page=50).auto_paging_iter():
        print(order["id"], order["status"])
    client.webhooks.endpoints.create(url="https://example.com/hooks", events=["order:paid"])

Every operation of the API is a method of its resource (generated from the API's
OpenAPI document); ``pushguard.webhooks`` checks deliveries."""

from . import webhooks
from ._client import DEFAULT_API_BASE, VERSION, Client
from ._errors import (
    APIError,
    AuthenticationError,
    ConflictError,
    ConnectionError,
    InvalidRequestError,
    NotFoundError,
    PermissionError,
    PushGuardError,
    RateLimitError,
    SignatureVerificationError,
    UnprocessableError,
)
from ._generated import OPERATIONS
from ._resource import Page

__version__ = VERSION

__all__ = [
    "APIError",
    "AuthenticationError",
    "Client",
    "ConflictError",
    "ConnectionError",
    "DEFAULT_API_BASE",
    "InvalidRequestError",
    "NotFoundError",
    "OPERATIONS",
    "Page",
    "PermissionError",
    "PushGuardError",
    "RateLimitError",
    "SignatureVerificationError",
    "UnprocessableError",
    "webhooks",
]
