"""Entity extraction with normalised values, by rules: the shop's entities are patterns.

Order ids, heights, weights, sizes and quantities are number patterns; colours, couriers
and places are a closed vocabulary. Rules find them reliably from a handful of examples,
where a learned extractor would need thousands of annotated messages and would still
misread 一米七五. The vocabulary lives in data/nlu/lexicon.yml (whose synonyms Rasa's
EntitySynonymMapper also reads); spaCy's PhraseMatcher finds it on a blank Chinese pipeline
segmented by character, so a term matches wherever it appears, whatever jieba would do with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from bot import settings
from bot.nlu.chatlog import MARKUP
from bot.nlu.numbers import NUM, height_cm, parse_number, quantity, weight_kg


@dataclass(frozen=True)
class Entity:
    entity: str
    value: object
    start: int
    end: int
    text: str

    def as_rasa(self) -> Dict:
        return {"entity": self.entity, "value": self.value, "start": self.start, "end": self.end}


ORDER_ID = re.compile(r"(?<![\d=/.])\d{12,20}(?![\d])")
# Spans cover the value and its unit, not a 身高/体重 prefix (as the training data marks them).
WEIGHT = re.compile(rf"({NUM})\s*(?:斤|kg|KG|Kg|公斤|千克)|体重\s*(\d{{2,3}})(?![\d.]|\s*(?:斤|kg|KG|Kg|公斤|千克))")
HEIGHT_UNIT = re.compile(
    rf"(?:{NUM})\s*(?:米|m|M)\s*(?:{NUM})?|\d{{3}}\s*(?:cm|CM|厘米|公分)|身高\s*(\d{{3}})(?![\d.米mMcC厘公])"
)
# A bare 145–199 is a height only in a message about fit: "170 130斤穿多大", "175的穿什么码".
BARE_HEIGHT = re.compile(r"(?<![\d.a-zA-Z*])(1[4-9]\d)(?![\d.*]|\s*(?:元|块|件|个|斤|kg|公斤|号|天|ml|g|克|块钱))")
FIT_CONTEXT = re.compile(r"码|穿|多大|身高|个子|高|尺|size|合适|偏大|偏小|号", re.I)
# "175 140" / "175/70kg": a weight right after a bare height.
PAIR_WEIGHT = re.compile(r"^\s*[,，/、\s]\s*(\d{2,3})(?![\d.])(?!\s*(?:斤|kg|公斤|元|块|件|cm|厘米))")
# Money the buyer names: 补我30块, 三十元, 15.5块钱.
AMOUNT = re.compile(rf"({NUM})\s*(?:块钱|块|元|rmb)", re.IGNORECASE)
QUANTITY = re.compile(rf"({NUM})\s*(?:件|个|套|条|只|箱|打|张|双)(?!月|小时|星期|礼拜|工作日)")
# 一个 is mostly "a": 一个包裹, 同一个色, 一个夏天 — not a count of goods.
NOT_QUANTITY = {"一个"}
SIZE = re.compile(r"(?<![a-zA-Z0-9.])(xxxxxl|xxxxl|xxxl|xxl|xl|[2-6]xl|s|m|l)(?:码|号|碼|號)?(?![a-zA-Z0-9])", re.I)
_SIZE_CANON = {"xxl": "2XL", "xxxl": "3XL", "xxxxl": "4XL", "xxxxxl": "5XL"}
# 明白的/坦白的 are not colours.
NOT_COLOR_BEFORE = set("明坦表告空自对网走")
# "按钮是灰的": a greyed-out button or page option, not a grey shirt.
GREYED_OUT = re.compile(r"按钮|页面|选项|点不了|按不了|点不动|点不开")


def _canonical_size(raw: str) -> str:
    key = raw.lower().rstrip("码号碼號")
    return _SIZE_CANON.get(key, key.upper())


@lru_cache(maxsize=4)
def _lexicon(path: Path) -> Tuple[Dict[str, str], Dict[str, str]]:
    """term → entity type, and term → canonical value, read from the Rasa lexicon file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    term_type: Dict[str, str] = {}
    canonical: Dict[str, str] = {}
    for block in data.get("nlu", []):
        items = [line.strip()[2:].strip() for line in block.get("examples", "").splitlines() if line.strip()]
        if "lookup" in block:
            for term in items:
                term_type[term.lower()] = block["lookup"]
        elif "synonym" in block:
            for term in items:
                canonical[term.lower()] = str(block["synonym"])
    return term_type, canonical


@lru_cache(maxsize=4)
def _matcher(path: Path):
    import spacy
    from spacy.matcher import PhraseMatcher

    nlp = spacy.blank("zh")  # default segmenter is per character: no download, no jieba
    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    term_type, _ = _lexicon(path)
    by_type: Dict[str, list] = {}
    for term, kind in term_type.items():
        by_type.setdefault(kind, []).append(nlp.make_doc(term))
    for kind, docs in by_type.items():
        matcher.add(kind, docs)
    return nlp, matcher


def _lexicon_entities(text: str, path: Path) -> List[Entity]:
    nlp, matcher = _matcher(path)
    _, canonical = _lexicon(path)
    doc = nlp.make_doc(text)
    found = []
    for match_id, start, end in matcher(doc):
        span = doc[start:end]
        kind = nlp.vocab.strings[match_id]
        if kind == "color" and span.start_char > 0 and text[span.start_char - 1] in NOT_COLOR_BEFORE:
            continue
        if kind == "color" and span.text.startswith("灰") and GREYED_OUT.search(text):
            continue
        value = canonical.get(span.text.lower(), span.text)
        found.append(Entity(kind, value, span.start_char, span.end_char, span.text))
    return found


def _pattern_entities(text: str) -> List[Entity]:
    found: List[Entity] = []
    for m in ORDER_ID.finditer(text):
        found.append(Entity("order_id", m.group(0), m.start(), m.end(), m.group(0)))
    for m in WEIGHT.finditer(text):
        if m.group(2):  # 体重65 / 体重130 without a unit
            start, end, kg = m.start(2), m.end(2), weight_kg(m.group(2))
        else:
            start, end, kg = m.start(), m.end(), weight_kg(m.group(0))
        if kg and 30 <= kg <= 200:
            found.append(Entity("weight", kg, start, end, text[start:end]))
    for m in HEIGHT_UNIT.finditer(text):
        start, end = (m.start(1), m.end(1)) if m.group(1) else (m.start(), m.end())
        cm = height_cm(text[start:end].replace(" ", ""))
        if cm and 100 <= cm <= 230:
            found.append(Entity("height", cm, start, end, text[start:end]))
    if FIT_CONTEXT.search(text) or WEIGHT.search(text):
        for m in BARE_HEIGHT.finditer(text):
            found.append(Entity("height", int(m.group(1)), m.start(), m.end(), m.group(0)))
            pair = PAIR_WEIGHT.match(text[m.end() :])
            if pair:
                kg = weight_kg(pair.group(1))
                if kg and 35 <= kg <= 150:
                    start = m.end() + pair.start(1)
                    found.append(Entity("weight", kg, start, start + len(pair.group(1)), pair.group(1)))
    for m in QUANTITY.finditer(text):
        if m.group(0) in NOT_QUANTITY:
            continue
        n = quantity(m.group(0))
        if n:
            found.append(Entity("quantity", n, m.start(), m.end(), m.group(0)))
    for m in SIZE.finditer(text):
        found.append(Entity("size", _canonical_size(m.group(1)), m.start(), m.end(), m.group(0)))
    for m in AMOUNT.finditer(text):
        yuan = parse_number(m.group(1))
        if yuan is not None and 0 < yuan < 100000:
            found.append(Entity("amount", yuan, m.start(), m.end(), m.group(0)))
    return found


# When spans overlap the longer one wins; at equal length, the earlier type in this list.
_PRIORITY = ["order_id", "weight", "height", "quantity", "amount", "size", "express", "color", "location"]


def extract(text: str, lexicon_path: Optional[Path] = None) -> List[Entity]:
    """All entities in a buyer message, non-overlapping, in reading order."""
    if not text:
        return []
    # Chat-log masks and emoticon codes are not the buyer's words. Blanked, not removed,
    # so spans still point into the original text.
    text = MARKUP.sub(lambda m: " " * len(m.group()), text)
    candidates = _pattern_entities(text) + _lexicon_entities(text, Path(lexicon_path or settings.LEXICON_FILE))
    candidates.sort(key=lambda e: (-(e.end - e.start), _PRIORITY.index(e.entity), e.start))
    chosen: List[Entity] = []
    for cand in candidates:
        if all(cand.end <= c.start or cand.start >= c.end for c in chosen):
            chosen.append(cand)
    return sorted(chosen, key=lambda e: e.start)
