from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import say
from bot.freight import shipping_fee_reply
from bot.shop import shop


class ActionShippingFee(Action):
    def name(self) -> Text:
        return "action_shipping_fee"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        location = next(tracker.get_latest_entity_values("location"), None)
        phrase_id, slots = shipping_fee_reply(shop(), location)
        say(dispatcher, tracker, phrase_id, slots)
        return []
