from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import buyer_id, say
from bot import clock
from bot.shop import shop
from bot.welcome import welcome_reply


class ActionWelcome(Action):
    def name(self) -> Text:
        return "action_welcome"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        phrase_id, slots = welcome_reply(shop(), buyer_id(tracker), clock.now())
        say(dispatcher, tracker, phrase_id, slots)
        return []
