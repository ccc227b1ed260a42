"""Schemathesis hooks of the contract test (loaded through SCHEMATHESIS_HOOKS).

Two rules of the contract span more than one request part, which OpenAPI cannot state:

- The payment webhook is authenticated by an HMAC of its raw body. Every request to it with a
  well-formed X-Signature is signed, as the provider would, so its body validation and lookups
  are exercised rather than stopped at the signature check.
- The catalog's `min_price_cents` must not exceed its `max_price_cents`.
- A checkout takes its idempotency key from the `Idempotency-Key` header or the body's
  `idempotency_key`: one of them is required, and both must agree. A request generated as
  valid is made to follow that rule; requests generated as invalid are left alone.
"""

import hashlib
import hmac
import os
import re
import uuid

import requests
import schemathesis

WEBHOOK_PATH = "/api/v1/payments/webhook"
CHECKOUT_PATH = "/api/v1/checkout"
PRODUCTS_PATH = "/api/v1/products"
SIGNATURE = re.compile(r"^[Ss][Hh][Aa]256=[0-9A-Fa-f]{64}\Z")


class SignWebhookBody(requests.auth.AuthBase):
    """Sets X-Signature over the body bytes exactly as sent (after serialization)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret.encode()

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode()
        digest = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        request.headers["X-Signature"] = f"sha256={digest}"
        return request


def generated_valid(case) -> bool:
    meta = getattr(case, "meta", None)
    return meta is not None and not meta.generation.mode.is_negative


def one_idempotency_key(case) -> None:
    headers = dict(case.headers or {})
    body = case.body if isinstance(case.body, dict) else None
    header = headers.get("Idempotency-Key")
    field = body.get("idempotency_key") if body is not None else None
    if header is not None and field is not None and header != field:
        case.body = {**body, "idempotency_key": header}
    elif header is None and field is None:
        headers["Idempotency-Key"] = f"contract-{uuid.uuid4()}"
        case.headers = headers


def as_int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def ordered_price_range(case) -> None:
    query = dict(case.query or {})
    low, high = query.get("min_price_cents"), query.get("max_price_cents")
    low_value, high_value = as_int(low), as_int(high)
    if low_value is not None and high_value is not None and low_value > high_value:
        query["min_price_cents"], query["max_price_cents"] = high, low
        case.query = query


@schemathesis.hook
def before_call(context, case, kwargs):
    path = case.operation.path
    secret = os.environ.get("CONTRACT_WEBHOOK_SECRET")
    # Only a well-formed signature is replaced by the right one: a case generated without one, or
    # with a malformed one, checks that it is refused, and is left as it is.
    signature = (case.headers or {}).get("X-Signature")
    if secret and path == WEBHOOK_PATH and isinstance(signature, str) and SIGNATURE.match(signature):
        kwargs["auth"] = SignWebhookBody(secret)
    if not generated_valid(case):
        return
    method = case.method.upper()
    if path == CHECKOUT_PATH and method == "POST":
        one_idempotency_key(case)
    elif path == PRODUCTS_PATH and method == "GET":
        ordered_price_range(case)
