"""A receiver's details as buyers paste them into a chat:

    张伟 13912345678 江苏省南京市鼓楼区中山北路100号
    收货人：李娜，电话：13800001111，地址：上海市浦东新区张杨路500号3栋
    改成 广东深圳南山区科技园路1号 王强 137 1234 5678

Read into name, phone, province, city and street so the order can be changed without
asking again. Nothing here is ever logged (bot/privacy.py masks what is shown back).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional

from bot.privacy import PHONE
from bot.shop.geo import CITY_PROVINCE

PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建",
    "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海",
    "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
)  # fmt: skip
MUNICIPALITIES = {"北京", "天津", "上海", "重庆"}
_PROVINCE = re.compile(r"(%s)(?:省|市|维吾尔自治区|壮族自治区|回族自治区|自治区|特别行政区)?" % "|".join(PROVINCES))
_CITY = re.compile(r"^([\u4e00-\u9fff]{2,4}?)(?:市|地区|自治州|盟)")
_LABELS = re.compile(
    r"(?:新的?|改成|改为|换成|麻烦|帮我)?(?:收货人|收件人|联系人|姓名|名字|手机号码?|电话号码?|电话|手机|联系方式"
    r"|详细地址|收货地址|新地址|地址)\s*(?:是|为)?\s*[:：]?"
)
_ADDRESS_MARK = re.compile(r"[省市区县镇乡路街道巷号栋幢楼室村]|小区|大厦|公寓|花园|单元")
_NAME = re.compile(r"^[\u4e00-\u9fff]{2,4}$")
_NOT_A_NAME = re.compile(r"地址|电话|手机|收货|改|换|麻烦|谢谢|一下|帮|新的|号码|发货|订单|不变|一样|照旧")


@dataclass
class Contact:
    name: Optional[str]
    phone: Optional[str]
    province: Optional[str]
    city: Optional[str]
    street: Optional[str]  # what follows the city: district, road, number, building

    @property
    def has_address(self) -> bool:
        return bool(self.street and (self.province or self.city))


def parse_contact(text: str) -> Optional[Contact]:
    """The receiver details in a message, or None when it holds neither a phone nor an address."""
    phone_match = PHONE.search(text)
    phone = re.sub(r"\D", "", phone_match.group(0)) if phone_match else None
    rest = PHONE.sub(" ", text)
    rest = _LABELS.sub(" ", rest)
    tokens: List[str] = [t for t in re.split(r"[\s,，;；、。/|]+", rest) if t]
    address_token = max((t for t in tokens if _PROVINCE.search(t) or _ADDRESS_MARK.search(t)), key=len, default=None)
    name = next((t for t in tokens if t != address_token and _NAME.match(t) and not _NOT_A_NAME.search(t)), None)
    province = city = street = None
    if address_token:
        province, city, street = _split_address(address_token)
    if not phone and not (street and (province or city)):
        return None
    return Contact(name, phone, province, city, street)


def _split_address(address: str) -> tuple:
    """浙江省杭州市西湖区文三路88号 → 浙江, 杭州, 西湖区文三路88号."""
    province = city = None
    rest = address
    match = _PROVINCE.search(rest)
    if match and match.start() <= 2:
        province, rest = match.group(1), rest[match.end() :]
        if province in MUNICIPALITIES:
            city = province
    if city is None:
        known = next((c for c in CITY_PROVINCE if rest.startswith(c)), None)
        if known:
            city, rest = known, rest[len(known) :]
            rest = rest[1:] if rest.startswith("市") else rest
            province = province or CITY_PROVINCE[known]
        else:
            named = _CITY.match(rest)
            if named and province:
                city, rest = named.group(1), rest[named.end() :]
    return province, city, rest or None
