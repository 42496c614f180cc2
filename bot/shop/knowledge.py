"""What the shop's phrases and facts do not answer, and the questions that found that out.

A buyer who asks something the library has no answer for is told so honestly — never sent
the intent's general phrase as if it answered (a deposit question is not answered by the
promotion list). The question is kept as a knowledge gap, listed on the trainer page, so the
shop can write the answer (a phrase, a product fact, a line in shop.yml).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Dict, Optional

from sqlalchemy.orm import Session

from bot.privacy import mask_phones
from bot.store.models import KnowledgeGap, Product

# By intent: what buyers ask under it that no phrase of the library covers, and what to
# call it. Covered are free shipping, gifts, coupons (shop.yml), payment help and order
# read-back (responses/); what is listed here is not.
UNCOVERED: Dict[str, Dict[str, re.Pattern]] = {
    "ask_promotion": {
        "定金和尾款": re.compile(r"定金|订金|尾款|预售"),
        "积分": re.compile(r"积分"),
        "会员价": re.compile(r"会员价|会员日|88vip|plus|会员折扣", re.IGNORECASE),
        "直播间价格": re.compile(r"直播间|直播价"),
        "平台补贴": re.compile(r"百亿补贴|津贴|跨店|消费券|政府补贴"),
        "以旧换新": re.compile(r"以旧换新"),
    },
    "ask_payment": {
        "对公转账": re.compile(r"对公|公司转账|银行转账"),
        "分期免息": re.compile(r"免息|分期"),
        "先用后付": re.compile(r"先用后付|货到付款"),
    },
}


def uncovered_topic(intent: Optional[str], text: str) -> Optional[str]:
    """The topic of the question if the library has no answer for it."""
    for topic, pattern in UNCOVERED.get(intent or "", {}).items():
        if pattern.search(text):
            return topic
    return None


def record_gap(
    session: Session,
    shop_id: str,
    buyer_id: str,
    topic: str,
    question: str,
    now: datetime,
    message_id: Optional[str] = None,
    intent: Optional[str] = None,
    product: Optional[Product] = None,
) -> KnowledgeGap:
    """Keep a question nothing answered, phones masked, for the trainer page."""
    gap = KnowledgeGap(
        shop_id=shop_id,
        buyer_id=buyer_id,
        message_id=message_id,
        intent=intent,
        topic=topic[:32],
        question=mask_phones(question)[:500],
        product_id=product.id if product else None,
        created_at=now,
    )
    session.add(gap)
    session.flush()
    return gap
