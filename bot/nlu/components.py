"""Rasa NLU graph components of the shop (referenced from config.yml)."""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot import settings
from bot.nlu.classifier import NgramSvm, wordless_intent
from bot.nlu.entities import extract
from bot.nlu.intents import CONSOLE_EVENTS
from bot.nlu.priors import shop_mix

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR], is_trainable=False)
class ShopEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Adds the shop's entities (bot/nlu/entities.py) with values already normalised:
    height in cm, weight in kg, size codes, courier codes, int quantities."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "ShopEntityExtractor":
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            found = [e.as_rasa() for e in extract(message.get(TEXT) or "")]
            found = self.add_extractor_name(found)
            message.set(ENTITIES, message.get(ENTITIES, []) + found, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


RANKING_LENGTH = 10


def _tokens(message: Message) -> List[str]:
    return [t.text for t in message.get(TOKENS_NAMES[TEXT]) or []]


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=True)
class ShopIntentClassifier(GraphComponent, IntentClassifier):
    """Rasa wrapper around NgramSvm. Needs a tokenizer before it (JiebaTokenizer); brings
    its own features, so no featurizer is needed. Learns the contract's intents only: the
    console's event intents arrive as triggers (bot/nlu/intents.py). Expects the intents in
    the shop's mix of real traffic (bot/nlu/priors.py), `prior_strength` 0 to 1; `shop_config`
    (relative to the project) names the shop.yml whose mix a shop's own model expects."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {
            "char_max_ngram": 2,
            "word_max_ngram": 2,
            "pinyin_max_ngram": 2,
            "c": 0.7,
            "prior_strength": 0.0,
            "shop_config": None,
        }

    def __init__(
        self, config: Dict[Text, Any], storage: ModelStorage, resource: Resource, model: Optional[NgramSvm] = None
    ) -> None:
        self.config = {**self.get_default_config(), **config}
        self._storage = storage
        self._resource = resource
        self.model = model
        if model is not None:
            model.expect(self._mix(), self.config["prior_strength"])

    def _mix(self) -> Dict[str, float]:
        own = self.config["shop_config"]
        return shop_mix(settings.ROOT / own if own else None)

    @classmethod
    def create(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> "ShopIntentClassifier":
        return cls(config, model_storage, resource)

    def train(self, training_data: TrainingData) -> Resource:
        examples = [
            m
            for m in training_data.intent_examples
            if m.get(INTENT) and m.get(TEXT) and m.get(INTENT) not in CONSOLE_EVENTS
        ]
        if not examples:
            logger.warning("ShopIntentClassifier: no intent examples, nothing to train.")
            return self._resource
        self.model = NgramSvm(
            self.config["char_max_ngram"],
            self.config["word_max_ngram"],
            self.config["pinyin_max_ngram"],
            self.config["c"],
        )
        self.model.fit(
            [m.get(TEXT) for m in examples], [_tokens(m) for m in examples], [m.get(INTENT) for m in examples]
        )
        with self._storage.write_to(self._resource) as directory:
            self.model.save(directory)
        self.model.expect(self._mix(), self.config["prior_strength"])
        return self._resource

    @classmethod
    def load(
        cls,
        config: Dict[Text, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "ShopIntentClassifier":
        try:
            with model_storage.read_from(resource) as directory:
                model = NgramSvm.load(directory)
        except (ValueError, FileNotFoundError):  # trained without intent examples: nothing written
            model = None
        return cls(config, model_storage, resource, model)

    def process(self, messages: List[Message]) -> List[Message]:
        if self.model is None or not messages:
            return messages
        probabilities = self.model.predict_proba([m.get(TEXT) or "" for m in messages], [_tokens(m) for m in messages])
        for message, row in zip(messages, probabilities):
            by_rule = wordless_intent(message.get(TEXT) or "")
            if by_rule:
                message.set(INTENT, {"name": by_rule, "confidence": 1.0}, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [{"name": by_rule, "confidence": 1.0}], add_to_output=True)
                continue
            ranking = sorted(
                ({"name": n, "confidence": float(p)} for n, p in zip(self.model.classes, row)),
                key=lambda r: -r["confidence"],
            )[:RANKING_LENGTH]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
