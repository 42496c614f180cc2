"""The quick-phrase library (快捷短语): every sentence the bot or an agent sends.

Phrases live in responses/<prefix>.yml, named after the ids they hold (stock.yml holds
stock.*), each file in one handbook category. Each phrase has an id,
2–4 variants (so a returning buyer doesn't read the same robot line twice) and named
slots like {shop_name} that are filled from shop.yml and the database. The library is
loaded and checked once at start-up: an unknown slot, a missing category or a duplicate id
is an error naming the file and line, so a shop editing its phrases finds the typo at once.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable, Dict, List, Mapping, Optional, Sequence

import yaml

from bot import settings
from bot.shop.config import shop, shop_dir

# Handbook order (§1): the library is organised, and shown to agents, in this order.
CATEGORIES: Dict[str, str] = {
    "welcome": "欢迎语",
    "dialogue": "对话语",
    "bargaining": "议价语",
    "payment": "支付用语",
    "logistics": "物流用语",
    "aftersales": "售后语",
    "closing": "欢送语",
    "review": "好评用语",
    "peak": "双11高峰话术",
}

# The Double 11 scripts: during the rush they come before an intent's other phrases.
PEAK_CATEGORY = "peak"

# Slots every phrase may use, and what fills them. Shop slots come from shop.yml (see
# shop_slots); the others are passed by the action that sends the phrase. A phrase file can
# declare more under a top-level `slots:` mapping (name: what fills it), next to its phrases.
KNOWN_SLOTS: Dict[str, str] = {
    "shop_name": "the shop's name (shop.yml name)",
    "short_name": "the shop's short name",
    "cutoff": "same-day shipping cut-off, e.g. 16:00",
    "ship_limit_hours": "hours after payment within which every order ships (72)",
    "free_shipping_threshold": "order amount for free shipping, in yuan",
    "base_fee": "freight below the threshold, in yuan",
    "remote_regions": "provinces outside free shipping with their freight",
    "couriers": "the couriers the shop uses",
    "default_courier": "the shop's default courier",
    "service_hours": "agents' working hours, e.g. 08:00–23:00",
    "no_reason_days": "days for a no-reason return, counted from signing",
    "quality_days": "days after completion to report a quality problem",
    "refund_hours": "hours within which after-sales tickets are handled",
    "gift_rules": "the gift thresholds, e.g. 满199送…",
    "max_compensation": "the most compensation without a supervisor, in yuan",
    "buyer_nick": "the buyer's nickname",
    "location": "the province or city the buyer named",
    "fee": "a freight amount in yuan",
    "courier": "a courier's name",
    "order_id": "the order number",
    "position": "the buyer's place in the agent queue",
    "wait_minutes": "estimated wait for an agent, in minutes",
    "reason": "why the bot handed the chat to a person",
}


class PhraseError(Exception):
    """The phrase library is invalid; the message names the file and line."""


@dataclass(frozen=True)
class Phrase:
    id: str
    category: str
    variants: Sequence[str]
    intents: Sequence[str] = ()
    title: str = ""
    source: str = ""  # file:line, for error messages and the agents' library view

    @property
    def slots(self) -> List[str]:
        return sorted({name for v in self.variants for name in _slot_names(v)})


@dataclass
class Library:
    phrases: Dict[str, Phrase] = field(default_factory=dict)
    # Whose library: its shop slots ({shop_name} …) are filled from this shop's config.
    shop_id: Optional[str] = None

    def get(self, phrase_id: str) -> Phrase:
        try:
            return self.phrases[phrase_id]
        except KeyError:
            raise PhraseError(f"no phrase with id {phrase_id!r} in {settings.RESPONSES_DIR}") from None

    def for_intent(self, intent: str) -> List[Phrase]:
        """Phrases that answer an intent, in library order (the first is the default)."""
        return [p for p in self.phrases.values() if intent in p.intents]

    def render(
        self,
        phrase_id: str,
        slots: Optional[Mapping[str, object]] = None,
        rng: Optional[random.Random] = None,
        keep: Optional[Callable[[str], bool]] = None,
    ) -> str:
        """One variant, filled; `keep` narrows the variants (PhraseError if none is left)."""
        phrase = self.get(phrase_id)
        variants = [v for v in phrase.variants if keep is None or keep(v)]
        if not variants:
            raise PhraseError(f"phrase {phrase_id} ({phrase.source}) has no variant to use here")
        variant = (rng or random).choice(variants)
        values = {**shop_slots(self.shop_id), **(slots or {})}
        missing = [name for name in _slot_names(variant) if values.get(name) in (None, "")]
        if missing:
            raise PhraseError(f"phrase {phrase_id} ({phrase.source}) needs slot(s) {', '.join(missing)}")
        return variant.format_map({k: _fmt(v) for k, v in values.items()})


def _fmt(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _slot_names(text: str) -> List[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(text) if name]
    except ValueError as exc:  # an unbalanced brace
        raise PhraseError(str(exc)) from None


class _LineLoader(yaml.SafeLoader):
    """Keeps each mapping's line number under the key '__line__'."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> dict:
    mapping = loader.construct_mapping(node, deep=True)
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_library(
    directory: Optional[Path] = None, overrides: Optional[Path] = None, shop_id: Optional[str] = None
) -> Library:
    """The shared library in `directory` (responses/), with a shop's own phrases from
    `overrides` (shops/<shop_id>/responses/) over it: a phrase there with the id of a shared
    one replaces its variants (keeping its intents unless it names its own); a new id adds a
    phrase."""
    directory = Path(directory or settings.RESPONSES_DIR)
    files = sorted(directory.glob("*.yml"))
    if not files:
        raise PhraseError(f"{directory}: no phrase files (*.yml)")
    library = Library(shop_id=shop_id)
    known_slots = set(KNOWN_SLOTS)
    _read_files(library, files, known_slots, replacing=False)
    if overrides is not None and Path(overrides).is_dir():
        _read_files(library, sorted(Path(overrides).glob("*.yml")), known_slots, replacing=True)
    return library


def _read_files(library: Library, files: List[Path], known_slots: set, replacing: bool) -> None:
    directory = files[0].parent if files else None
    seen_categories = set()
    docs = []
    for path in files:
        try:
            doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader) or {}
        except yaml.YAMLError as exc:
            raise PhraseError(f"{path}: not valid YAML: {exc}") from None
        declared = doc.get("slots") or {}
        if not isinstance(declared, dict):
            raise PhraseError(f"{path}: 'slots' must map slot names to what fills them")
        known_slots.update(name for name in declared if name != "__line__")
        docs.append((path, doc))
    for path, doc in docs:
        category = doc.get("category")
        if category not in CATEGORIES:
            raise PhraseError(
                f"{path}:{doc.get('__line__', 1)}: category {category!r} is not one of {', '.join(CATEGORIES)}"
            )
        seen_categories.add(category)
        for entry in doc.get("phrases") or []:
            where = f"{path}:{entry.get('__line__', '?')}"
            phrase_id = entry.get("id")
            if not phrase_id:
                raise PhraseError(f"{where}: phrase without an id")
            base = library.phrases.get(phrase_id) if replacing else None
            if phrase_id in library.phrases and base is None:
                raise PhraseError(
                    f"{where}: duplicate phrase id {phrase_id!r} (first at {library.phrases[phrase_id].source})"
                )
            if phrase_id.split(".")[0] != path.stem:
                raise PhraseError(
                    f"{where}: phrase {phrase_id!r} is in {path.name}, which holds {path.stem}.* only: "
                    f"move it to {phrase_id.split('.')[0]}.yml"
                )
            variants = entry.get("variants") or []
            if not variants or not all(isinstance(v, str) and v.strip() for v in variants):
                raise PhraseError(f"{where}: phrase {phrase_id!r} needs at least one non-empty variant")
            for variant in variants:
                unknown = [name for name in _slot_names(variant) if name not in known_slots]
                if unknown:
                    raise PhraseError(f"{where}: phrase {phrase_id!r} uses unknown slot(s) {', '.join(unknown)}")
            intents = entry.get("intents") or (base.intents if base is not None else [])
            library.phrases[phrase_id] = Phrase(
                id=phrase_id,
                category=category,
                variants=tuple(v.strip() for v in variants),
                intents=tuple(intents),
                title=entry.get("title", "") or (base.title if base is not None else ""),
                source=where,
            )
    missing = [c for c in CATEGORIES if c not in seen_categories]
    if missing and not replacing:
        raise PhraseError(f"{directory}: no phrases for categor(ies) {', '.join(missing)}")


def library(shop_id: Optional[str] = None) -> Library:
    """A shop's library (the default shop's without an id), loaded once per process: the
    shared phrases with the shop's own over them, its slots filled from its config."""
    return _library(shop(shop_id).shop_id)


@lru_cache(maxsize=64)
def _library(shop_id: str) -> Library:
    return load_library(overrides=shop_dir(shop_id) / "responses", shop_id=shop_id)


library.cache_clear = _library.cache_clear  # type: ignore[attr-defined]


def shop_slots(shop_id: Optional[str] = None) -> Dict[str, object]:
    """Slots every phrase can use, filled from the shop's config (shop.yml)."""
    cfg = shop(shop_id)
    return {
        "shop_name": cfg.name,
        "short_name": cfg.short_name,
        "cutoff": cfg.cutoff,
        "ship_limit_hours": cfg.ship_limit_hours,
        "free_shipping_threshold": cfg.freight.free_shipping_threshold,
        "base_fee": cfg.freight.base_fee,
        "remote_regions": "、".join(f"{p}{_fmt(fee)}元" for p, fee in cfg.freight.remote_regions.items()),
        "couriers": cfg.courier_names,
        "default_courier": cfg.couriers[cfg.default_express].name,
        "service_hours": f"{cfg.service_hours.start}–{cfg.service_hours.end}",
        "no_reason_days": cfg.returns.no_reason_days,
        "quality_days": cfg.returns.quality_days,
        "refund_hours": cfg.returns.refund_hours,
        "gift_rules": "；".join(f"满{_fmt(g.min_amount)}元送{g.gift}" for g in cfg.gifts),
        "max_compensation": cfg.compensation.max_without_approval,
    }
