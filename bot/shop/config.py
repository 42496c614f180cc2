"""The shop's facts (shop.yml): schema, loading and the checks run at start-up.

A wrong or missing field is reported with its path in the file, so a shop owner editing
shop.yml sees exactly what to fix instead of a stack trace from deep inside an action.
"""

from __future__ import annotations

import re
from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional

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


class Peak(BaseModel):
    rush_start: str
    rush_end: str
    ship_within_days: int = 3


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
    bulk_order_min_quantity: int = 20
    handoff: Handoff = Field(default_factory=Handoff)
    peak: Peak

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


@lru_cache(maxsize=1)
def shop() -> ShopConfig:
    """The shop config, loaded once per process."""
    return load_shop()
