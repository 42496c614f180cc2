"""The shop's intent classifier: a linear SVM on TF-IDF character, word and pinyin n-grams.

Plain scikit-learn, so it can be tuned and tested without Rasa; the Rasa component that
wraps it is bot.nlu.components.ShopIntentClassifier.

Why not DIET: trained on the same data, this scored accuracy 0.935 on the held-back split
where DIET (one transformer layer, 40 epochs) scored 0.883, and it trains in seconds instead
of minutes on two cores (README, "NLU"). Buyers' messages are short and their intent sits in
a few telling words (包邮, 退, 换, 几天到), which is what n-gram weights capture; with ~14k
examples and no pretrained Chinese model on the machine, a transformer has too little to
learn from.

Confidence: the SVM's decision scores go through a softmax whose temperature is fitted on
cross-validated scores of the training data, so FallbackClassifier's threshold means the
same thing from one training run to the next.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from bot.nlu.chatlog import MASKS
from bot.nlu.intents import FALLBACK
from bot.nlu.priors import prior_factors

# 12+ digits are order or item ids (the entity extractor's order-number shape); shorter
# numbers keep up to three digits of length, so "175" and "65" look alike but differ from
# an order number.
_LONG_DIGITS = re.compile(r"\d{12,}")
_DIGITS = re.compile(r"\d+")
# A pasted link says "this product" whatever its address; its characters say nothing more.
# (ASCII only: buyers paste a link and type straight on, "…id=6123这个有货吗".)
_URL = re.compile(r"https?://[\x21-\x7e]+")
# Some exported chat logs are word-segmented ("发 什么 快递"). A buyer's own spaces separate
# clauses, a few characters apart; segmentation puts one after nearly every word.
_CJK = re.compile(r"[\u4e00-\u9fff]")
_CJK_SPACE = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")
SEGMENTED_RATIO = 0.4  # spaces between Chinese characters per Chinese character


# A greeting that opens a message ("你好 这个有货吗") is manners, not the request: a message
# read as a greeting is read again without it, when something substantial follows. (Thanks
# stay: "谢谢你帮我查" is thanks, and measured, re-reading after 谢谢 lost more than it won.)
OPENING_WORDS = (
    "您好",
    "你好",
    "在吗",
    "在么",
    "在嘛",
    "在不",
    "亲亲",
    "亲",
    "哈喽",
    "hello",
    "hi",
    "嗨",
    "老板",
    "客服",
    "美女",
    "小姐姐",
)
_OPENING = re.compile(r"^(?:(?:%s)[\s\W_]*)+" % "|".join(OPENING_WORDS), re.IGNORECASE)
_PUNCTUATION = re.compile(r"^[\s\W_]+$")
MIN_REQUEST_CJK = 3  # what must follow the opening for it to be set aside
OPENING_INTENTS = ("greet",)


def without_opening(text: str, words: Sequence[str]) -> Tuple[str, List[str]]:
    """The message and its words without an opening greeting or thanks, if a request follows."""
    match = _OPENING.match(text)
    rest = text[match.end() :] if match else text
    if not match or len(_CJK.findall(rest)) < MIN_REQUEST_CJK:
        return text, list(words)
    kept = list(words)
    while kept and (kept[0].lower() in OPENING_WORDS or _PUNCTUATION.match(kept[0])):
        kept.pop(0)
    return rest, kept


# Messages without words are read by rule, not by the classifier (which has nothing to go on):
# a friendly emoji alone is a yes or an acknowledgement; a pasted order number alone asks
# nothing yet (the fallback shows that order, and a "which order?" question takes it).
_EMOJI_OR_CODE = re.compile(r"\[[^\[\]]{1,6}\]|[\U0001F000-\U0001FAFF\u2600-\u27BF\uFE0F\u200D\s~～!！。.,，]")
UNFRIENDLY_EMOJI = set("😭😢😡😠👎💔😤😞😔😒🙄😓😩😫🤬😑")
_BARE_ORDER_ID = re.compile(r"^\s*\d{12,20}\s*$")


def wordless_intent(text: str) -> str | None:
    """The reading of a message made only of emoji or of an order number, else None."""
    if _BARE_ORDER_ID.match(text):
        return FALLBACK
    if text.strip() and not _EMOJI_OR_CODE.sub("", text) and not (set(text) & UNFRIENDLY_EMOJI):
        return "affirm"
    return None


@lru_cache(maxsize=1)
def _to_simplified():
    from opencc import OpenCC

    return OpenCC("t2s")


def normalise(text: str) -> str:
    """Fold the spellings that mean the same thing: full-width letters and digits (NFKC),
    upper/lower case, traditional characters, chat-log masks, links, word-segmented logs,
    and digit values."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _to_simplified().convert(text)
    for mask, replacement in MASKS:
        text = mask.sub(replacement, text)
    text = _URL.sub("http://#", text)
    if len(_CJK_SPACE.findall(text)) >= SEGMENTED_RATIO * len(_CJK.findall(text)) > 0:
        text = _CJK_SPACE.sub("", text)
    text = _LONG_DIGITS.sub("#", text)
    return _DIGITS.sub(lambda m: "0" * min(len(m.group()), 3), text).strip()


class FastTfidf:
    """The fitted vectorizers' `transform`, side by side, for the few messages Rasa reads at a
    time: the same numbers (tests/test_intent_classifier.py compares them with sklearn's), built
    directly instead of through sklearn's per-call checks and sparse-matrix steps, which cost
    more than the arithmetic for one message (a tenth of the Rasa server's CPU per message)."""

    def __init__(self, vectorizers: Sequence[Any]) -> None:
        self.views = []
        offset = 0
        for v in vectorizers:
            if not (v.sublinear_tf and v.norm == "l2" and v.use_idf and v.binary is False):
                raise ValueError("FastTfidf reproduces sublinear, l2-normalised tf-idf only")
            self.views.append((v.build_analyzer(), v.vocabulary_, v.idf_, offset))
            offset += len(v.vocabulary_)
        self.width = offset

    def matrix(self, views: Sequence[Sequence[str]]):
        from scipy.sparse import csr_matrix

        data: List[float] = []
        indices: List[int] = []
        indptr = [0]
        for docs in zip(*views):
            for doc, (analyze, vocabulary, idf, offset) in zip(docs, self.views):
                counts: Dict[int, int] = {}
                for gram in analyze(doc):
                    column = vocabulary.get(gram)
                    if column is not None:
                        counts[column] = counts.get(column, 0) + 1
                columns = sorted(counts)
                weights = np.array([(1.0 + math.log(counts[c])) * idf[c] for c in columns])
                norm = math.sqrt(float(weights @ weights)) if len(columns) else 0.0
                data.extend((weights / norm) if norm else weights)
                indices.extend(c + offset for c in columns)
            indptr.append(len(indices))
        return csr_matrix((np.asarray(data, dtype=np.float64), indices, indptr), shape=(len(indptr) - 1, self.width))


class NgramSvm:
    """Text features and the classifier, apart from Rasa so they can be tuned and tested alone.

    `texts` are whole messages; `words` are the same messages segmented (jieba tokens).
    Three views of each message: its characters, its words, and its sound (toneless pinyin
    syllables), so a homophone typo (包油, 发或) still looks like what the buyer meant.
    """

    def __init__(
        self, char_max_ngram: int = 2, word_max_ngram: int = 2, pinyin_max_ngram: int = 2, c: float = 0.7
    ) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.svm import LinearSVC

        def tokens(max_ngram: int) -> TfidfVectorizer:
            return TfidfVectorizer(analyzer="word", token_pattern=r"\S+", ngram_range=(1, max_ngram), sublinear_tf=True)

        self.chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, char_max_ngram), sublinear_tf=True)
        self.words = tokens(word_max_ngram)
        self.sounds = tokens(pinyin_max_ngram)
        self.svm = LinearSVC(C=c, random_state=0)
        self.temperature = 1.0
        self.training_share: Dict[str, float] = {}  # each class's share of the training examples
        self.prior = None  # per class, the factor that turns the training shares into real traffic's

    def _views(self, texts: Sequence[str], words: Sequence[Sequence[str]]) -> List[List[str]]:
        """Each message as the three documents the vectorizers read: characters, words, sound."""
        from pypinyin import lazy_pinyin

        chars = [normalise(t) for t in texts]
        return [
            chars,
            [" ".join(normalise(w).replace(" ", "") or "_" for w in ws) for ws in words],
            [" ".join(s.strip() for s in lazy_pinyin(t) if s.strip()) for t in chars],
        ]

    def _matrix(self, texts: Sequence[str], words: Sequence[Sequence[str]], fit: bool = False):
        from scipy.sparse import hstack

        vectorizers = (self.chars, self.words, self.sounds)
        views = self._views(texts, words)
        if not fit:
            return self._fast_tfidf().matrix(views)
        return hstack([v.fit_transform(docs) for v, docs in zip(vectorizers, views)]).tocsr()

    def _fast_tfidf(self) -> "FastTfidf":
        if getattr(self, "_fast", None) is None:
            self._fast = FastTfidf((self.chars, self.words, self.sounds))
        return self._fast

    def fit(self, texts: Sequence[str], words: Sequence[Sequence[str]], labels: Sequence[str]) -> "NgramSvm":
        x = self._matrix(texts, words, fit=True)
        y = np.asarray(labels)
        classes, counts = np.unique(y, return_counts=True)
        self.training_share = {str(c): n / len(y) for c, n in zip(classes, counts)}
        self.temperature = self._fit_temperature(x, y)
        self.svm.fit(x, y)
        return self

    def _fit_temperature(self, x, y: np.ndarray) -> float:
        """The softmax temperature that best predicts held-out labels from decision scores
        (minimum negative log-likelihood over 5 folds)."""
        from scipy.optimize import minimize_scalar
        from sklearn.base import clone
        from sklearn.model_selection import StratifiedKFold, cross_val_predict

        folds = min(5, int(np.min(np.unique(y, return_counts=True)[1])))
        if folds < 2:
            return 1.0
        cv = StratifiedKFold(folds, shuffle=True, random_state=0)
        scores = cross_val_predict(clone(self.svm), x, y, cv=cv, method="decision_function")
        classes = np.unique(y)
        gold = np.searchsorted(classes, y)

        def nll(log_t: float) -> float:
            z = scores * np.exp(log_t)
            z = z - z.max(axis=1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
            return -float(logp[np.arange(len(gold)), gold].mean())

        best = minimize_scalar(nll, bounds=(-3.0, 5.0), method="bounded")
        return float(np.exp(best.x))

    def predict_proba(self, texts: Sequence[str], words: Sequence[Sequence[str]]) -> np.ndarray:
        """Each message's probability per class (self.classes). A message read as a greeting that
        only opens a request is read again without the greeting: the request decides."""
        probabilities = self._probabilities(texts, words)
        classes = self.classes
        for i, (text, ws) in enumerate(zip(texts, words)):
            if classes[int(np.argmax(probabilities[i]))] in OPENING_INTENTS:
                rest, rest_words = without_opening(text, ws)
                if rest != text:
                    probabilities[i] = self._probabilities([rest], [rest_words])[0]
        return probabilities

    def expect(self, mix: Dict[str, float], strength: float = 1.0) -> None:
        """From now on, expect the intents in `mix` (shares) rather than in the training data's
        (bot/nlu/priors.py); strength 0 turns the correction off."""
        self.prior = prior_factors(self.classes, self.training_share, mix, strength) if strength else None

    def _probabilities(self, texts: Sequence[str], words: Sequence[Sequence[str]]) -> np.ndarray:
        scores = self.svm.decision_function(self._matrix(texts, words)) * self.temperature
        scores = scores - scores.max(axis=1, keepdims=True)
        p = np.exp(scores)
        if self.prior is not None:
            p = p * self.prior
        return p / p.sum(axis=1, keepdims=True)

    @property
    def classes(self) -> List[str]:
        return list(self.svm.classes_)

    def save(self, directory: Path) -> None:
        """skops, not pickle: loading runs no code beyond the library types it holds."""
        import skops.io as sio

        parts = {"chars": self.chars, "words": self.words, "sounds": self.sounds, "svm": self.svm}
        sio.dump(parts, directory / "ngram_svm.skops")
        calibration = {"temperature": self.temperature, "training_share": self.training_share}
        (directory / "calibration.json").write_text(json.dumps(calibration))

    @classmethod
    def load(cls, directory: Path) -> "NgramSvm":
        import skops.io as sio

        path = directory / "ngram_svm.skops"
        untrusted = sio.get_untrusted_types(file=path)
        foreign = [t for t in untrusted if not t.startswith(("sklearn.", "numpy.", "scipy."))]
        if foreign:
            raise RuntimeError(f"{path} holds types outside sklearn/numpy/scipy: {foreign}")
        parts = sio.load(path, trusted=untrusted)
        model = cls()
        model.chars, model.words, model.sounds, model.svm = (
            parts["chars"],
            parts["words"],
            parts["sounds"],
            parts["svm"],
        )
        calibration = json.loads((directory / "calibration.json").read_text())
        model.temperature, model.training_share = calibration["temperature"], calibration["training_share"]
        return model
