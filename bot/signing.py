"""HMAC-SHA256 request signing for the console protocol (docs/console-protocol.md).

The console signs "<timestamp>.<raw body>" with the shop's secret. A timestamp outside a
five-minute window is refused, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import re
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


_HEX_SIGNATURE = re.compile(r"^[0-9a-f]{64}$")
_UNIX_SECONDS = re.compile(r"^[0-9]{1,12}$")


def problem(secret: str, headers: Mapping[str, str], body: bytes, now: Optional[float] = None) -> Optional[str]:
    """Why a request's signature is not acceptable, or None when it is."""
    signature, stamp = headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER)
    if not signature or not stamp:
        return f"missing signature: send {TIMESTAMP_HEADER} and {SIGNATURE_HEADER}"
    if not _UNIX_SECONDS.match(stamp):
        return f"{TIMESTAMP_HEADER} must be Unix seconds"
    if not _HEX_SIGNATURE.match(signature):
        return f"{SIGNATURE_HEADER} must be 64 lowercase hex digits (HMAC-SHA256)"
    timestamp = int(stamp)
    now = time.time() if now is None else now
    if abs(now - timestamp) > MAX_SKEW_SECONDS:
        return f"stale timestamp: more than {MAX_SKEW_SECONDS}s from the server's clock"
    if not hmac.compare_digest(signature.encode(), sign(secret, timestamp, body).encode()):
        return "bad signature"
    return None


def cookie_value(secret: str, kind: str, value: str) -> str:
    """A cookie that names a buyer and cannot be forged: "<value>.<mac>"."""
    mac = hmac.new(secret.encode(), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:32]
    return f"{value}.{mac}"


def value_of_cookie(secret: str, kind: str, cookie: str) -> Optional[str]:
    """The value a cookie names, or None if it was not made by cookie_value (or is garbage)."""
    if not cookie or len(cookie) > 200 or not cookie.isascii():
        return None
    value, _, _ = cookie.rpartition(".")
    if value and hmac.compare_digest(cookie.encode(), cookie_value(secret, kind, value).encode()):
        return value
    return None
