"""Size advice: a form that collects height and weight, then one concrete size."""

import re
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from sqlalchemy import select

from actions.common import ShopAction
from actions.context import Context
from bot.nlu.numbers import height_cm, weight_kg
from bot.shop.replies import Reply
from bot.shop.sizing import fit_reply, size_reply
from bot.store.models import Product

# "偏大吗 / 标准码吗": a question about the cut, answered before asking for body data.
_FIT_QUESTION = re.compile(r"偏大|偏小|正码|标准码|标码|宽松|修身|版型")


def _product(ctx: Context) -> Product:
    """The product asked about (named, discussed, or the buyer's order's); without one, the
    flagship (the first in the catalogue)."""
    product = ctx.product(ctx.order_for("ask_gift").order)
    return product or ctx.session.execute(select(Product).order_by(Product.id).limit(1)).scalar_one()


class ActionSizeAdvice(ShopAction):
    action_name = "action_size_advice"

    def answer(self, ctx: Context) -> List[Reply]:
        height, weight = ctx.slot("height"), ctx.slot("weight")
        return size_reply(_product(ctx), int(float(height)) if height else None, weight, ctx.entity("size"))


class ActionAskHeight(ShopAction):
    """The size form's question; a fit question gets its answer along with it."""

    action_name = "action_ask_height"

    def answer(self, ctx: Context) -> List[Reply]:
        if _FIT_QUESTION.search(ctx.text):
            product = _product(ctx)
            return [Reply("product.named", {"product": product.title}), *fit_reply(product)]
        weight = ctx.slot("weight")
        return size_reply(_product(ctx), None, weight)


class ActionAskWeight(ShopAction):
    action_name = "action_ask_weight"

    def answer(self, ctx: Context) -> List[Reply]:
        height = ctx.slot("height")
        return size_reply(_product(ctx), int(float(height)) if height else None, None)


class ValidateSizeForm(FormValidationAction):
    """Reads a bare answer to the form's question: "175" for height, "140" for weight."""

    def name(self) -> Text:
        return "validate_size_form"

    async def extract_height(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        return _bare_answer(tracker, "height", height_cm)

    async def extract_weight(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Dict[Text, Any]:
        return _bare_answer(tracker, "weight", weight_kg)


def _bare_answer(tracker: Tracker, slot: str, parse) -> Dict[Text, Any]:
    """The slot from a reply to its own question with no entity in it ("175", "140")."""
    if tracker.get_slot("requested_slot") != slot or next(tracker.get_latest_entity_values(slot), None):
        return {}
    value = _bare_number(tracker, parse)
    return {slot: value} if value else {}


def _bare_number(tracker: Tracker, parse) -> Optional[float]:
    text = (tracker.latest_message.get("text") or "").strip()
    text = re.sub(r"^(我|身高|体重|大概|差不多)+", "", text)
    return parse(text) if text else None
