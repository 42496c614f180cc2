"""What every action needs: the shop, the buyer, and a way to send a quick-phrase."""
from __future__ import annotations

import random
from typing import Any, Dict, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.phrases import library
from bot.shop import shop


def shop_id(tracker: Tracker) -> str:
    metadata = tracker.latest_message.get("metadata") or {}
    return metadata.get("shop_id") or shop().shop_id


def buyer_id(tracker: Tracker) -> str:
    return tracker.sender_id


def latest_intent(tracker: Tracker) -> Optional[str]:
    return (tracker.latest_message.get("intent") or {}).get("name")


def say(dispatcher: CollectingDispatcher, tracker: Tracker, phrase_id: str, slots: Optional[Dict[str, Any]] = None) -> None:
    """Send a phrase; the variant rotates per buyer and turn so repeats read differently."""
    rng = random.Random(f"{tracker.sender_id}:{len(tracker.events)}:{phrase_id}")
    dispatcher.utter_message(text=library().render(phrase_id, slots, rng=rng))
