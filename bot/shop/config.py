"""The shop's facts (shop.yml): schema, loading and the checks run at start-up.

A wrong or missing field is reported with its path in the file, so a shop owner editing
shop.yml sees exactly what to fix instead of a stack trace from deep inside an action.
"""

from __future__ import annotations

import re
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml
from pydantic import BaseModel, Field, ValidationError, root_validator, validator

from bot import settings

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def parse_hhmm(value: str) -> time:
    if not isinstance(value, str) or not _HHMM.match(value):
        raise ValueError(f"expected a time as HH:MM, got {value!r}")
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class ServiceHours(BaseModel):
    start: str
    end: str

    @validator("start", "end")
    def is_time(cls, v: str) -> str:
        parse_hhmm(v)
        return v


class Courier(BaseModel):
    name: str
    extra_fee: float = 0
    transit_days: Dict[str, int]

    @validator("transit_days")
    def needs_default(cls, v: Dict[str, int]) -> Dict[str, int]:
        if "default" not in v:
            raise ValueError("transit_days needs a 'default' entry")
        return v

    def days_to(self, province: Optional[str]) -> int:
        return self.transit_days.get(province or "", self.transit_days["default"])


class Freight(BaseModel):
    base_fee: float
    free_shipping_threshold: float
    remote_regions: Dict[str, float] = {}


class GiftRule(BaseModel):
    min_amount: float
    gift: str


class Coupon(BaseModel):
    amount: float
    min_spend: float

    @property
    def label(self) -> str:
        """满159减10: how a coupon reads."""
        return f"满{self.min_spend:g}减{self.amount:g}"


class Compensation(BaseModel):
    max_without_approval: float


class Returns(BaseModel):
    no_reason_days: int = 7
    quality_days: int = 15
    refund_hours: int = 24
    info_change_hours: int = 1


class Handoff(BaseModel):
    dispute_words: List[str] = []
    # Words that ask for a person whatever else the message asks ("转人工 我要退款"): the
    # buyer goes to a person, and the message keeps the intent of its request.
    person_words: List[str] = [
        "转人工",
        "人工客服",
        "人工服务",
        "找人工",
        "我要人工",
        "叫人工",
        "转接人工",
        "真人客服",
        "找真人",
        "叫个真人",
        "找个真人",
        "活人",
    ]
    low_confidence: float = 0.6
    low_confidence_streak: int = 3
    fallback_streak: int = 2


class AutoPeak(BaseModel):
    """Peak by load, besides the dates (bot/service/peak_watch.py): on when the queue is longer
    than the online agents' free places or the oldest waiting buyer waits longer than
    on_oldest_wait_seconds; off again only after off_hold_seconds with the queue within the
    free places and nobody waiting longer than off_oldest_wait_seconds (no flapping)."""

    on_oldest_wait_seconds: int = 120
    off_oldest_wait_seconds: int = 30
    off_hold_seconds: int = 300
    check_seconds: int = 15


# The night's inquiries by hour, from the rise on the 10th at 18:00 through the top from 20:00
# into the small hours (handbook §6); shares of the night, normalised by the staffing plan.
DEFAULT_HOURLY_CURVE = [
    ("18:00", 0.05), ("19:00", 0.08), ("20:00", 0.14), ("21:00", 0.15), ("22:00", 0.15),
    ("23:00", 0.15), ("00:00", 0.16), ("01:00", 0.08), ("02:00", 0.04),
]  # fmt: skip


class Peak(BaseModel):
    rush_start: str
    rush_end: str
    ship_within_days: int = 3
    hourly_curve: List[Tuple[str, float]] = DEFAULT_HOURLY_CURVE
    auto: AutoPeak = Field(default_factory=AutoPeak)
    # While agents are saturated (peak on), these are answered by the bot even in assist mode.
    bot_safe_intents: List[str] = [
        "ask_ship_time", "ask_arrival_time", "ask_express", "track_package", "ask_shipping_fee",
        "ask_size", "ask_stock", "ask_invoice", "ask_promotion", "ask_gift", "ask_payment",
    ]  # fmt: skip


class Reminders(BaseModel):
    """催付 and late-shipping notices (handbook §3; bot/shop/outreach.py)."""

    unpaid_hours: int = 3  # an order is reminded once it has waited this long unpaid
    times: List[str] = ["10:00", "16:00"]  # at most these, once each a day
    grace_minutes: int = 30  # a reminder time missed (server down) is made up within this
    # A buyer who said one of these after ordering is not reminded (不要了).
    declined_words: List[str] = ["不要了", "不买了", "不想要了", "取消订单", "不要这单", "先不买"]
    delay_watch_hours: int = 48  # unshipped orders this close to the shipping limit are on the watch list


class Workbench(BaseModel):
    """The agents' workbench: a buyer's wait turns orange at half the platform's response-time
    target and red near it (bot/console/static/workbench.js)."""

    response_target_seconds: int = Field(30, ge=5, le=3600)


class Console(BaseModel):
    """The shop's console (Qianniu-style): where agent replies are pushed. Unset: the server's
    XIAOER_CONSOLE_CALLBACK, or none (bot/service/delivery.py)."""

    callback_url: Optional[str] = Field(None, regex=r"^https?://")


class ShopConfig(BaseModel):
    shop_id: str
    name: str
    short_name: str
    service_hours: ServiceHours
    cutoff: str
    ship_limit_hours: int = 72
    warehouse: str
    default_express: str
    couriers: Dict[str, Courier]
    freight: Freight
    gifts: List[GiftRule] = []
    coupons: List[Coupon] = []
    compensation: Compensation
    returns: Returns = Field(default_factory=Returns)
    reminders: Reminders = Field(default_factory=Reminders)
    bulk_order_min_quantity: int = 20
    handoff: Handoff = Field(default_factory=Handoff)
    peak: Peak
    workbench: Workbench = Field(default_factory=Workbench)
    console: Console = Field(default_factory=Console)

    @validator("cutoff")
    def cutoff_is_time(cls, v: str) -> str:
        parse_hhmm(v)
        return v

    @root_validator(skip_on_failure=True)
    def default_express_known(cls, values: dict) -> dict:
        if values["default_express"] not in values["couriers"]:
            raise ValueError(f"default_express {values['default_express']!r} is not one of the couriers")
        return values

    @property
    def cutoff_time(self) -> time:
        return parse_hhmm(self.cutoff)

    @property
    def courier_names(self) -> str:
        """The couriers as a buyer reads them: 圆通速递、中通快递…"""
        return "、".join(c.name for c in self.couriers.values())


class ShopConfigError(Exception):
    """shop.yml is missing, unreadable or does not match the schema."""


def load_shop(path: Path | None = None) -> ShopConfig:
    path = Path(path or settings.SHOP_CONFIG)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ShopConfigError(f"{path}: shop config not found") from None
    except yaml.YAMLError as exc:
        raise ShopConfigError(f"{path}: not valid YAML: {exc}") from None
    try:
        return ShopConfig.parse_obj(raw or {})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ShopConfigError(f"{path}: {problems}") from None


class UnknownShop(ShopConfigError, KeyError):
    """No shop with this id is configured on this server."""

    def __init__(self, shop_id: object) -> None:
        # In Chinese: `xiaoer report/staffing/rehearse --shop` print it to the shop's people as it is.
        super().__init__(f"没有这个店铺：{str(shop_id)[:40]}（xiaoer shop list 列出本服务器的店铺）")

    __str__ = Exception.__str__  # the message, not KeyError's quoted repr of it


_SHOP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


def valid_shop_id(shop_id: str) -> bool:
    """A shop id: lower-case letters, digits, _ and -, at most 32 (it names a directory)."""
    return isinstance(shop_id, str) and bool(_SHOP_ID.match(shop_id))


def shop_dir(shop_id: str) -> Path:
    """Where a tenant shop's own files live: shops/<shop_id>/ (shop.yml, responses/)."""
    return settings.SHOPS_DIR / shop_id


def shop_file(shop_id: str) -> Path:
    """A shop's shop.yml: the top-level one for the default shop, shops/<shop_id>/shop.yml for
    the others (what is not in the schema is read from it too: `intent_mix`)."""
    if shop_id == _default_shop().shop_id:
        return Path(settings.SHOP_CONFIG)
    return shop_dir(shop_id) / "shop.yml"


@lru_cache(maxsize=1)
def _default_shop() -> ShopConfig:
    return load_shop()


@lru_cache(maxsize=64)
def _tenant_shop(shop_id: str) -> ShopConfig:
    path = shop_file(shop_id)
    if not path.is_file():
        raise UnknownShop(shop_id)
    cfg = load_shop(path)
    if cfg.shop_id != shop_id:
        raise ShopConfigError(f"{path}: shop_id is {cfg.shop_id!r}, but the file is in shops/{shop_id}/")
    return cfg


def shop(shop_id: str | None = None) -> ShopConfig:
    """A shop's config, loaded once per process: the default shop (shop.yml) without an id or
    with its own, else shops/<shop_id>/shop.yml. Raises UnknownShop for any other id."""
    default = _default_shop()
    if shop_id is None or shop_id == default.shop_id:
        return default
    if not valid_shop_id(shop_id):
        raise UnknownShop(shop_id)
    return _tenant_shop(shop_id)


def shop_ids() -> List[str]:
    """Every shop this server serves: the default shop first, then shops/*/shop.yml."""
    ids = [_default_shop().shop_id]
    if settings.SHOPS_DIR.is_dir():
        for path in sorted(settings.SHOPS_DIR.glob("*/shop.yml")):
            if valid_shop_id(path.parent.name) and path.parent.name not in ids:
                ids.append(path.parent.name)
    return ids


def is_shop(shop_id: str) -> bool:
    """Is this a shop configured on this server?"""
    try:
        shop(shop_id)
    except UnknownShop:
        return False
    return True


def _clear_cache() -> None:
    _default_shop.cache_clear()
    _tenant_shop.cache_clear()


shop.cache_clear = _clear_cache  # type: ignore[attr-defined]  # as when shop() was an lru_cache
