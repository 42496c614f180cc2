"""Customer data is confidential (handbook §7): what a buyer's phone, name and address look
like wherever they are shown back or kept for training — and they are never logged."""

from __future__ import annotations

import re

PHONE = re.compile(r"(?<!\d)1[3-9]\d(?:[\s-]?\d{4}){2}(?!\d)")


def mask_phones(text: str) -> str:
    """Every mobile number in a text as exported chat logs mask it: [电话x]."""
    return PHONE.sub("[电话x]", text)


def masked_phone(phone: str) -> str:
    """13812345678 → 138****5678: the buyer recognises it, a reader over the shoulder can't use it."""
    digits = re.sub(r"\D", "", phone)
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 7 else "****"


def masked_name(name: str) -> str:
    """王小明 → 王**"""
    return name[:1] + "*" * max(1, len(name) - 1) if name else ""


def masked_address(address: str) -> str:
    """The street as far as its first few characters: enough to recognise, not to find."""
    return address[:4] + "***" if len(address) > 4 else address
