"""The documented JSON Schema and the channel agree on what an event is."""

import json
import re
from pathlib import Path

import jsonschema
import pytest

from connectors.console import BadEvent, parse_event

DOCS = Path(__file__).resolve().parent.parent / "docs"
SCHEMA = json.loads((DOCS / "console-event.schema.json").read_text(encoding="utf-8"))
BASE = {"message_id": "m1", "shop_id": "qingshan", "buyer_id": "tb_regular"}

GOOD = [
    {**BASE, "type": "text", "text": "包邮吗", "seq": 3, "timestamp": 1795142400},
    {**BASE, "type": "emoticon", "code": "[微笑]"},
    {**BASE, "type": "image", "url": "https://img.example/1.jpg"},
    {**BASE, "type": "product_card", "sku": "QS-T001"},
    {**BASE, "type": "order_card", "order_id": "3847561029384756"},
    {**BASE, "type": "enter_shop"},
]
BAD = [
    {**BASE, "type": "text", "text": ""},
    {**BASE, "type": "text", "text": "衣" * 2001},
    {**BASE, "type": "video"},
    {**BASE, "type": "order_card", "order_id": "12ab"},
    {**BASE, "type": "image", "url": "ftp://x"},
    {**BASE, "buyer_id": "买家 一号", "type": "enter_shop"},
    {**BASE, "type": "text", "text": "hi", "seq": 0},
    {"shop_id": "qingshan", "buyer_id": "b", "type": "enter_shop"},
]


@pytest.mark.parametrize("event", GOOD)
def test_good_events_pass_both(event):
    jsonschema.validate(event, SCHEMA)
    parse_event(json.dumps(event).encode())


@pytest.mark.parametrize("event", BAD)
def test_bad_events_fail_both(event):
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(event, SCHEMA)
    with pytest.raises(BadEvent):
        parse_event(json.dumps(event).encode())


def test_the_documented_example_is_valid():
    text = (DOCS / "console-protocol.md").read_text(encoding="utf-8")
    example = json.loads(re.search(r"```json\n(\{.*?\})\n```", text, re.S).group(1))
    jsonschema.validate(example, SCHEMA)
    parse_event(json.dumps(example).encode())
