"""Numbers and units as buyers write them: 一百三十斤, 1米75, 一米七五, 两百件, 65kg.

Pure functions, no Rasa: the NLU's entity extractor and the actions both use them.
"""

from __future__ import annotations

import re
from typing import Optional

_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "壹": 1,
    "二": 2,
    "两": 2,
    "俩": 2,
    "貳": 2,
    "贰": 2,
    "三": 3,
    "叁": 3,
    "四": 4,
    "肆": 4,
    "五": 5,
    "伍": 5,
    "六": 6,
    "陆": 6,
    "陸": 6,
    "七": 7,
    "柒": 7,
    "八": 8,
    "捌": 8,
    "九": 9,
    "玖": 9,
}
_UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000, "万": 10000, "萬": 10000}

# Characters that may form a Chinese numeral (used by the extractor's patterns).
CN_NUM_CHARS = "".join(_DIGITS) + "".join(_UNITS) + "半"
NUM = rf"(?:\d+(?:\.\d+)?|[{CN_NUM_CHARS}]+)"


def parse_number(text: str) -> Optional[float]:
    """Arabic or Chinese numeral → number; None when it is not a number.

    Handles 一百三十, 一百三 (=130, the colloquial dropped unit), 十五, 两百, 一百零五, 七十五,
    and digit strings with decimals. Digit-by-digit readings (一七五) are returned as 175.
    """
    text = text.strip()
    if not text:
        return None
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    if any(ch not in _DIGITS and ch not in _UNITS for ch in text):
        return None
    if all(ch in _DIGITS for ch in text):  # 一七五: read digit by digit
        return float("".join(str(_DIGITS[ch]) for ch in text))
    total, section, digit = 0, 0, None
    last_unit = 1
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        else:
            unit = _UNITS[ch]
            if unit == 10000:
                total += (section + (digit or 0)) * unit
                section, digit = 0, None
            else:
                section += (1 if digit is None else digit) * unit
                digit = None
            last_unit = unit
    if digit is not None:
        # 一百三 means 130: a trailing digit after 百/千 takes the next lower unit,
        # unless a 零 came before it (一百零三 = 103).
        if last_unit >= 100 and "零" not in text and "〇" not in text:
            section += digit * (last_unit // 10)
        else:
            section += digit
    return float(total + section)


def height_cm(text: str) -> Optional[int]:
    """A height expression → centimetres: 170, 1米7, 一米七五, 1.75m, 175cm, 178公分, 一米八."""
    t = text.strip().lower().replace(" ", "")
    t = re.sub(r"(cm|厘米|公分|身高|高)$", "", t)
    m = re.fullmatch(rf"({NUM})(?:米|m)({NUM})?", t)
    if m:
        metres = parse_number(m.group(1))
        rest = m.group(2)
        if metres is None:
            return None
        if metres < 3 and rest is None:  # 1.75m / 1米 (rare)
            return round(metres * 100)
        if rest is None:
            return None
        tail = parse_number(rest)
        if tail is None:
            return None
        digits = len(rest) if rest.isdigit() else (1 if tail < 10 else 2)
        return int(round(metres * 100 + (tail * 10 if digits == 1 else tail)))
    value = parse_number(t)
    if value is None:
        return None
    if value < 3:  # 1.75
        return int(round(value * 100))
    return int(round(value)) if 100 <= value <= 230 else None


def weight_kg(text: str, default_unit: str | None = None) -> Optional[float]:
    """A weight expression → kilograms: 130斤 → 65.0, 一百二十斤 → 60.0, 65kg → 65.0.

    A bare number takes default_unit; without one, 90 or more is read as 斤: in a clothing
    chat a bare 140 means 140 斤 (70 kg), while a bare 65 means 65 kg.
    """
    t = text.strip().lower().replace(" ", "")
    t = re.sub(r"(左右|上下|多)$", "", t)
    m = re.fullmatch(rf"({NUM})(斤|kg|公斤|千克|kgs)?", t)
    if not m:
        return None
    value = parse_number(m.group(1))
    if value is None:
        return None
    unit = m.group(2) or default_unit or ("斤" if value >= 90 else "kg")
    kg = value / 2 if unit == "斤" else value
    return round(kg, 1)


def quantity(text: str) -> Optional[int]:
    """A count with its measure word → int: 200件 → 200, 两百个 → 200, 一件 → 1."""
    m = re.fullmatch(rf"({NUM})\s*(?:件|个|套|条|只|箱|单|份|打|张|双)", text.strip())
    if not m:
        return None
    value = parse_number(m.group(1))
    if value is None:
        return None
    if "打" in text:
        value *= 12
    return int(value)
