from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import buyer_id, latest_intent, say, shop_id
from bot import clock
from bot.handoff import INTENT_REASONS, Reason, hand_off, in_service_hours
from bot.shop import shop

# The phrase that acknowledges the buyer before the handoff message, by reason.
_OPENING = {Reason.ANGRY: "dialogue.complain_service", Reason.BULK: "dialogue.bulk_order"}


def _hand_off(dispatcher: CollectingDispatcher, tracker: Tracker, reason: Reason) -> None:
    hand_off(shop_id(tracker), buyer_id(tracker), reason)
    if not in_service_hours(shop(), clock.now()):
        say(dispatcher, tracker, "dialogue.handoff_closed")
    elif reason in _OPENING:
        say(dispatcher, tracker, _OPENING[reason])
    else:
        say(dispatcher, tracker, "dialogue.handoff")


class ActionHandoff(Action):
    def name(self) -> Text:
        return "action_handoff"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        _hand_off(dispatcher, tracker, INTENT_REASONS.get(latest_intent(tracker), Reason.ASKED))
        return []


class ActionFallback(Action):
    """The NLU is unsure: ask the buyer to rephrase; the second miss in a row goes to a person."""

    def name(self) -> Text:
        return "action_fallback"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        user_intents = [e.get("parse_data", {}).get("intent", {}).get("name")
                        for e in tracker.events if e.get("event") == "user"]
        if len(user_intents) >= 2 and user_intents[-2] == "nlu_fallback":
            _hand_off(dispatcher, tracker, Reason.NOT_UNDERSTOOD)
            return []
        say(dispatcher, tracker, "dialogue.fallback")
        return []
