"""What chat logs put into buyers' text that the buyer did not type.

Logs exported from JD and Taobao mask private data ([ORDERID_10358477], [金额x], [电话x])
and store emoticons as codes (#E-s[数字x], /:^_^). The intent classifier turns each mask into
what it stands for; the entity extractor skips them all (the "s" in #E-s is no size S).
"""

import re

# (pattern on lower-cased text, what the masked thing looks like after normalisation)
MASKS = [
    (re.compile(r"\[orderid_\d+\]"), "#"),
    (re.compile(r"#e-[a-z]\[数字x\]|#e-[a-z]\d+|/:[^\s/]{1,6}"), " "),  # emoticon codes carry no request
    (re.compile(r"\[(?:数字|金额)x\]"), "0"),
    (re.compile(r"\[日期x\]"), "0月0日"),
    (re.compile(r"\[时间x\]"), "0点"),
    (re.compile(r"\[链接x\]"), "http://#"),
    (re.compile(r"\[电话x\]"), "0"),
    (re.compile(r"\[(?:姓名|地址|站点|组织机构)x\]"), "某"),
]

# Any of them, in text of any case.
MARKUP = re.compile("|".join(f"(?:{pattern.pattern})" for pattern, _ in MASKS), re.IGNORECASE)
