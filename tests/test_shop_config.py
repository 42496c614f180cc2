"""shop.yml: the shop's facts, checked at start-up with errors naming the field."""

import pytest
import yaml

from bot.settings import SHOP_CONFIG
from bot.shop.config import ShopConfigError, load_shop, shop
from bot.shop.freight import freight_fee, shipping_fee_reply


def test_demo_shop_loads():
    cfg = shop()
    assert cfg.cutoff == "16:00" and cfg.freight.free_shipping_threshold == 99
    assert cfg.default_express in cfg.couriers


def _write(tmp_path, mutate):
    raw = yaml.safe_load(SHOP_CONFIG.read_text(encoding="utf-8"))
    mutate(raw)
    path = tmp_path / "shop.yml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_bad_cutoff_names_the_field(tmp_path):
    path = _write(tmp_path, lambda raw: raw.update(cutoff="4pm"))
    with pytest.raises(ShopConfigError, match="cutoff: expected a time as HH:MM"):
        load_shop(path)


def test_unknown_default_courier_is_rejected(tmp_path):
    path = _write(tmp_path, lambda raw: raw.update(default_express="XYZ"))
    with pytest.raises(ShopConfigError, match="default_express"):
        load_shop(path)


def test_missing_field_is_rejected(tmp_path):
    path = _write(tmp_path, lambda raw: raw.pop("freight"))
    with pytest.raises(ShopConfigError, match="freight: field required"):
        load_shop(path)


@pytest.mark.parametrize(
    "province,amount,fee",
    [
        ("浙江", 98.9, 8),
        ("浙江", 99, 0),
        ("广东省", 150, 0),
        ("新疆", 500, 20),
        ("乌鲁木齐", 500, 20),
    ],
)
def test_freight(province, amount, fee):
    assert freight_fee(shop(), province, amount) == fee


def test_shipping_fee_reply_for_remote_region():
    assert shipping_fee_reply(shop(), "西藏") == ("logistics.remote_fee", {"location": "西藏", "fee": 25})
    assert shipping_fee_reply(shop(), None) == ("logistics.free_shipping", {})
