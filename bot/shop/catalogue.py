"""The catalogue in the buyer's words: which product a message names, and what the shop says
about it, aspect by aspect (handbook §2: material, fit, washing, colour difference …).

A product is named by its title, a distinctive part of it (亚麻 names the linen shirt, T恤
names nothing: most products are T-shirts) or an alias the shop gave it (冰丝T). Words are
weighed by how few products share them, so it takes a distinctive word to name a product.
Everything is read from the database at the moment of the question: a product the shop adds
is recognised by name at once, without retraining.

Facts come from the product's columns (material, fit, washing, the model's size, price) or
from what the shop wrote in its `facts` (shrinkage, sheerness, pilling …). An aspect the
shop never wrote is not guessed: the bot says so, and the question is kept as a knowledge
gap for the trainer page.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Dict, List, Optional, Tuple

import jieba
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.formatting import yuan
from bot.shop.knowledge import record_gap
from bot.shop.phrases import library
from bot.shop.replies import Reply
from bot.store.models import Product

# A product is named when its words weigh at least this much (one word no other product has
# weighs log(N) ≥ 1.6 with five or more products), and clearly more than the runner-up's.
MIN_SCORE = 1.5
MIN_LEAD = 0.5

# How buyers ask about each aspect, in the order answers are given. The name is also the key
# of a shop-written fact in Product.facts.
ASPECTS: Dict[str, re.Pattern] = {
    "材质": re.compile(r"材质|面料|什么料|料子|成分|纯棉|全棉|是棉|含棉|涤纶|化纤|真丝"),
    "厚薄": re.compile(r"克重|多少克|几克|厚不厚|厚吗|薄吗|薄不薄|厚度|厚实|轻薄"),
    "版型": re.compile(r"偏大|偏小|正码|标准码|标码|修身|宽松|版型"),
    "洗涤": re.compile(r"怎么洗|能机洗|可以机洗|机洗|手洗|烘干|水洗|熨|干洗"),
    "模特": re.compile(r"模特"),
    "价格": re.compile(r"多少钱|什么价|价格|价钱|几块钱|单价"),
    "色差": re.compile(r"色差|实物.*(颜色|一样)|颜色.*(正|一样)"),
    "缩水": re.compile(r"缩水|会缩|缩不缩"),
    "透": re.compile(r"透不透|透吗|会透|透肉|透光|透明|露肉"),
    "起球": re.compile(r"起球|起毛|掉毛"),
    "掉色": re.compile(r"掉色|褪色|染色|串色"),
    "弹力": re.compile(r"弹力|弹性|有弹|伸缩"),
    "起皱": re.compile(r"起皱|皱不皱|易皱|皱吗"),
    "透气": re.compile(r"透气|闷不闷|闷热|吸汗"),
}
_GRAMS = re.compile(r"(\d{2,3})\s*g", re.IGNORECASE)


@dataclass(frozen=True)
class _Entry:
    product_id: int
    terms: Tuple[str, ...]


_CJK_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def _words(text: str) -> List[str]:
    """A title's words (jieba) and its Chinese character pairs: buyers name a product by a
    part of it (冰丝 of 冰丝速干运动短袖) that a segmenter may not keep whole."""
    pairs = [run[i : i + 2] for run in _CJK_RUN.findall(text) for i in range(len(run) - 1)]
    return [w for w in jieba.cut(text) if len(w.strip()) >= 2] + pairs


@lru_cache(maxsize=8)
def _index(catalogue: Tuple[Tuple[int, str, str, Tuple[str, ...]], ...]) -> Tuple[Tuple[_Entry, ...], Dict[str, float]]:
    """Each product's naming terms and each term's weight (log of products ÷ products using it)."""
    entries = []
    for product_id, title, category, aliases in catalogue:
        terms = {w.lower() for w in _words(title)} | {a.lower() for a in aliases if len(a) >= 2}
        terms.add(category.lower())
        entries.append(_Entry(product_id, tuple(sorted(terms))))
    counts: Dict[str, int] = {}
    for entry in entries:
        for term in entry.terms:
            counts[term] = counts.get(term, 0) + 1
    weights = {term: math.log(len(entries) / n) for term, n in counts.items()}
    return tuple(entries), weights


def product_by_sku(session: Session, shop_id: str, sku: Optional[str]) -> Optional[Product]:
    """This shop's product with this SKU (a card or a remembered product), else None."""
    if not sku:
        return None
    return session.execute(select(Product).where(Product.shop_id == shop_id, Product.sku == sku)).scalar_one_or_none()


def find_product(session: Session, shop_id: str, text: str) -> Optional[Product]:
    """The product the message names in words, if it names exactly one."""
    rows = session.execute(
        select(Product.id, Product.title, Product.category, Product.aliases).where(Product.shop_id == shop_id)
    ).all()
    if not rows or not text:
        return None
    entries, weights = _index(tuple((r.id, r.title, r.category, tuple(r.aliases or ())) for r in rows))
    said = text.lower()
    scored = sorted(
        ((sum(weights[t] for t in e.terms if t in said), e.product_id) for e in entries),
        reverse=True,
    )
    best, runner_up = scored[0], scored[1] if len(scored) > 1 else (0.0, None)
    if best[0] >= MIN_SCORE and best[0] - runner_up[0] >= MIN_LEAD:
        return session.get(Product, best[1])
    return None


def aspects_asked(text: str) -> List[str]:
    """The aspects a product question asks about, in answer order."""
    return [name for name, pattern in ASPECTS.items() if pattern.search(text)]


def _fact(product: Product, aspect: str) -> Optional[str]:
    """What the shop says about one aspect of the product, as a fragment of a sentence."""
    written = (product.facts or {}).get(aspect)
    if written:
        return library(product.shop_id).render("product.aspect.written", {"aspect": aspect, "fact": written})
    if aspect == "材质":
        return library(product.shop_id).render("product.aspect.material", {"material": product.material})
    if aspect == "厚薄":
        grams = _GRAMS.search(product.material or "")
        return library(product.shop_id).render("product.aspect.grams", {"grams": grams.group(1)}) if grams else None
    if aspect == "版型":
        return library(product.shop_id).render(f"product.fit.{product.fit}")
    if aspect == "洗涤" and product.washing:
        return library(product.shop_id).render("product.aspect.washing", {"washing": product.washing})
    if aspect == "模特" and product.model_size:
        return library(product.shop_id).render(
            "product.aspect.model",
            {"model_height": product.model_height_cm, "model_weight_jin": f"{product.model_weight_kg * 2:.0f}",
             "model_size": product.model_size},
        )  # fmt: skip
    if aspect == "价格":
        return library(product.shop_id).render("product.aspect.price", {"price": yuan(product.price_fen)})
    return None


def product_answer(
    session: Session,
    product: Optional[Product],
    text: str,
    now: datetime,
    shop_id: str,
    buyer_id: str,
    message_id: Optional[str] = None,
) -> List[Reply]:
    """A product question answered from that product's own facts.

    Without a product: which one? Without an aspect the bot recognises: the product's card.
    An aspect the shop never wrote down: said honestly, and kept as a knowledge gap.
    """
    asked = aspects_asked(text)
    if product is None:  # colour difference is the same honest answer for every product
        return [Reply("dialogue.color_difference")] if asked == ["色差"] else [Reply("dialogue.ask_product")]
    if not asked:
        return [product_card(product)]
    if "版型" in asked and "模特" not in asked:
        asked.append("模特")  # the cut is best judged against the model (handbook §2)
    replies: List[Reply] = []
    known = [fact for fact in (_fact(product, a) for a in asked if a != "色差") if fact]
    if known:
        replies.append(Reply("product.facts", {"product": product.title, "facts": "；".join(known)}))
    if "色差" in asked:
        replies.append(Reply("dialogue.color_difference"))
    unknown = [a for a in asked if a != "色差" and _fact(product, a) is None]
    if unknown:
        record_gap(session, shop_id, buyer_id, "、".join(unknown), text, now, message_id, "ask_product", product)
        replies.append(Reply("product.unknown_fact", {"product": product.title, "topic": "、".join(unknown)}))
    return replies


def product_card(product: Product) -> Reply:
    return Reply(
        "product.card",
        {"product": product.title, "price": yuan(product.price_fen), "material": product.material,
         "fit": library(product.shop_id).render(f"product.fit.{product.fit}"), "washing": product.washing},
    )  # fmt: skip
