from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import latest_intent, say
from bot import clock
from bot.peak import in_rush
from bot.phrases import library
from bot.shop import shop


class ActionAnswer(Action):
    """Answers an intent with its quick-phrase; during the peak rush a peak script wins."""

    def name(self) -> Text:
        return "action_answer"

    def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        intent = latest_intent(tracker) or "out_of_scope"
        phrases = library().for_intent(intent) or library().for_intent("out_of_scope")
        if in_rush(clock.now(), shop()):
            phrases = sorted(phrases, key=lambda p: p.category != "peak")
        say(dispatcher, tracker, phrases[0].id)
        return []
