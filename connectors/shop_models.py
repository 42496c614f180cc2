"""Shops with a model of their own, answered by the same Rasa server.

One model serves every shop by default. A shop with examples of its own (shops/<id>/data/nlu,
trained by `xiaoer train --shop`, bot/nlu/training.py) gets its own model; `xiaoer run` names
them in XIAOER_SHOP_MODELS ("shiye=/…/models/xiaoer-shiye-….tar.gz;…", bot/servers.py) and the console channel
hands that shop's buyers to a second Rasa agent holding it. The agents share the tracker store,
the lock store and the actions: only the reading of messages differs.

jieba keeps one dictionary per process, and Rasa's JiebaTokenizer loads a model's words into
it: a shop's words (龙井, 受潮, 冲泡…) would change how the other shops' messages are cut. Here
each loaded tokenizer keeps a jieba of its own with its model's words, so each model reads as
it was trained.
"""

from __future__ import annotations

import glob
import logging
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Text

import jieba
from rasa.core.agent import Agent
from rasa.nlu.tokenizers.jieba_tokenizer import JiebaTokenizer
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.training_data.message import Message

from bot import settings

logger = logging.getLogger(__name__)
SHOP_MODELS_ENV = "XIAOER_SHOP_MODELS"


def configured() -> Dict[str, Path]:
    """The shops' own models this server was started with (a relative path: to the project)."""
    models = {}
    for item in filter(None, os.environ.get(SHOP_MODELS_ENV, "").split(";")):
        shop_id, _, path = item.partition("=")
        models[shop_id] = settings.ROOT / path
    return models


def load_agents(main: Agent) -> Dict[str, Agent]:
    """An agent per shop model, sharing the main agent's stores and actions. A missing model
    stops the start: a shop that has its own model must not be served by the wrong one."""
    agents = {}
    for shop_id, path in configured().items():
        if not path.is_file():
            raise FileNotFoundError(f"{shop_id}'s own model is missing: {path} (xiaoer train --shop {shop_id})")
        agents[shop_id] = Agent.load(
            str(path),
            generator=main.nlg,
            tracker_store=main.tracker_store,
            lock_store=main.lock_store,
            action_endpoint=main.action_endpoint,
        )
        logger.info("%s answered with its own model %s", shop_id, path.name)
    return agents


# --- a jieba per tokenizer ----------------------------------------------------------------------
rasa_tokenize = JiebaTokenizer.tokenize


def _load(cls: Any, config: Dict[Text, Any], model_storage: Any, resource: Any, execution_context: Any, **kwargs: Any):
    """Rasa's load, but the model's dictionaries go into the tokenizer's own jieba."""
    tokenizer = cls(config, model_storage, resource)
    own: Optional[jieba.Tokenizer] = None
    if config["dictionary_path"] is not None:
        try:
            with model_storage.read_from(resource) as directory:
                own = jieba.Tokenizer()
                for words in sorted(glob.glob(f"{directory}/*")):
                    own.load_userdict(words)
        except ValueError:  # saved without dictionaries (as Rasa's own load allows)
            own = None
    tokenizer.own_jieba = own
    return tokenizer


def _tokenize(self: JiebaTokenizer, message: Message, attribute: Text) -> List[Token]:
    own = getattr(self, "own_jieba", None)
    if own is None:
        return rasa_tokenize(self, message, attribute)
    tokens = [Token(word, start) for (word, start, _end) in own.tokenize(message.get(attribute))]
    return self._apply_token_pattern(tokens)


def apply() -> None:
    JiebaTokenizer.load = classmethod(_load)
    JiebaTokenizer.tokenize = _tokenize
