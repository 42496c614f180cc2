"""HMAC-SHA256 request signing for the console protocol (docs/console-protocol.md).

The console signs "<timestamp>.<raw body>" with the shop's secret. A timestamp outside a
five-minute window is refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Mapping, Optional

SIGNATURE_HEADER = "X-Xiaoer-Signature"
TIMESTAMP_HEADER = "X-Xiaoer-Timestamp"
MAX_SKEW_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signed_headers(secret: str, body: bytes, timestamp: Optional[int] = None) -> dict:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(secret, timestamp, body),
        "Content-Type": "application/json",
    }


def problem(secret: str, headers: Mapping[str, str], body: bytes, now: Optional[float] = None) -> Optional[str]:
    """Why a request's signature is not acceptable, or None when it is."""
    signature, stamp = headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER)
    if not signature or not stamp:
        return f"missing signature: send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}"
    try:
        timestamp = int(stamp)
    except ValueError:
        return f"{TIMESTAMP_HEADER} must be Unix seconds"
    now = time.time() if now is None else now
    if abs(now - timestamp) > MAX_SKEW_SECONDS:
        return f"stale timestamp: more than {MAX_SKEW_SECONDS}s from the server's clock"
    if not hmac.compare_digest(signature, sign(secret, timestamp, body)):
        return "bad signature"
    return None


def cookie_value(secret: str, kind: str, value: str) -> str:
    """A cookie that names a buyer or an agent and cannot be forged: "<value>.<mac>"."""
    mac = hmac.new(secret.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{value}.{mac}"


def value_of_cookie(secret: str, kind: str, cookie: str) -> Optional[str]:
    """The value a cookie names, or None if it was not made by cookie_value."""
    value, _, _ = (cookie or "").rpartition(".")
    if value and hmac.compare_digest(cookie, cookie_value(secret, kind, value)):
        return value
    return None
