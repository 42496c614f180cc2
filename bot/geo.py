"""Places buyers name → the province that freight and transit times are keyed by."""
from __future__ import annotations

from typing import Optional

CITY_PROVINCE = {
    "杭州": "浙江", "宁波": "浙江", "温州": "浙江", "苏州": "江苏", "南京": "江苏", "无锡": "江苏",
    "广州": "广东", "深圳": "广东", "东莞": "广东", "佛山": "广东", "成都": "四川", "武汉": "湖北",
    "西安": "陕西", "郑州": "河南", "长沙": "湖南", "济南": "山东", "青岛": "山东", "合肥": "安徽",
    "福州": "福建", "厦门": "福建", "南昌": "江西", "昆明": "云南", "贵阳": "贵州", "南宁": "广西",
    "海口": "海南", "三亚": "海南", "沈阳": "辽宁", "大连": "辽宁", "长春": "吉林", "哈尔滨": "黑龙江",
    "石家庄": "河北", "太原": "山西", "呼和浩特": "内蒙古", "兰州": "甘肃", "西宁": "青海",
    "银川": "宁夏", "乌鲁木齐": "新疆", "喀什": "新疆", "伊犁": "新疆", "拉萨": "西藏",
}


def province_of(place: Optional[str]) -> Optional[str]:
    """广东省 → 广东, 深圳 → 广东, 新疆 → 新疆; None stays None."""
    if not place:
        return None
    place = place.strip()
    for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "特别行政区", "自治区", "省", "市"):
        if place.endswith(suffix) and len(place) > len(suffix):
            place = place[: -len(suffix)]
            break
    return CITY_PROVINCE.get(place, place)
