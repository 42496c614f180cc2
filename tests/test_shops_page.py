"""The operator's shops page (/shops, bot/console/shops.py): only a supervisor of the default
shop may list and add shops; a shop added there is served at once — its webhook takes events.

Shops are added to the project's shops/ (the servers read it): each test removes what it added.
"""

from __future__ import annotations

import shutil
import uuid

import pytest
import requests
from sqlalchemy import select

from bot.shop.config import shop, shop_dir
from bot.store.db import session_scope
from bot.store.models import Shop
from tests.helpers import console_event, console_post
from tests.test_workbench import browser, log_in  # noqa: F401  (the browser fixture)

pytestmark = pytest.mark.servers


def _agent(login: str, servers) -> requests.Session:
    http = requests.Session()
    resp = http.post(servers.urls["console"] + "/api/login", json={"login": login, "password": "xiaoer123"}, timeout=30)
    assert resp.ok, resp.text
    return http


@pytest.fixture()
def new_shop_id():
    """An id sorting after the seeded shops; its folder is removed afterwards."""
    shop_id = "zz" + uuid.uuid4().hex[:8]
    yield shop_id
    shutil.rmtree(shop_dir(shop_id), ignore_errors=True)
    shop.cache_clear()


def test_only_the_operators_supervisor_may_see_or_add_shops(servers, new_shop_id):
    base = servers.urls["console"]
    tea = _agent("chaye", servers)  # the tea shop's supervisor: a tenant, not the operator
    assert tea.get(base + "/api/shops", timeout=30).status_code == 403
    refused = tea.post(base + "/api/shops", json={"shop_id": new_shop_id, "name": "偷开的店"}, timeout=30)
    assert refused.status_code == 403 and "默认店铺" in refused.json()["error"]
    assert tea.get(base + "/shops", timeout=30, allow_redirects=False).status_code == 403
    assert _agent("xiaomei", servers).get(base + "/api/shops", timeout=30).status_code == 403  # an agent
    assert requests.get(base + "/api/shops", timeout=30).status_code == 401
    assert not shop_dir(new_shop_id).exists()


def test_the_operator_adds_a_shop_that_answers_at_once(servers, new_shop_id):
    base = servers.urls["console"]
    boss = _agent("laowang", servers)
    listed = boss.get(base + "/api/shops", timeout=30).json()["shops"]
    assert [s["id"] for s in listed][:2] == ["qingshan", "shiye"] and listed[0]["default"]
    for body, status, words in [
        ({"name": "没有编号"}, 400, "请填写店铺编号"),
        ({"shop_id": "Bad Id", "name": "x"}, 400, "小写字母"),
        ({"shop_id": "shiye", "name": "重名"}, 409, "已经有了"),
        ({"shop_id": new_shop_id, "name": " "}, 400, "请填写店铺名称"),
        ({"shop_id": new_shop_id, "name": ["x"]}, 400, "须是文字"),
    ]:
        resp = boss.post(base + "/api/shops", json=body, timeout=30)
        assert resp.status_code == status and words in resp.json()["error"], (body, resp.status_code, resp.text)
    added = boss.post(base + "/api/shops", json={"shop_id": new_shop_id, "name": "山茶小铺", "short_name": "山茶"},
                      timeout=60)  # fmt: skip
    assert added.status_code == 201, added.text
    assert added.json() == {"id": new_shop_id, "name": "山茶小铺", "short_name": "山茶",
                            "config": f"shops/{new_shop_id}/shop.yml"}  # fmt: skip
    assert (shop_dir(new_shop_id) / "shop.yml").is_file() and (shop_dir(new_shop_id) / "responses").is_dir()
    with session_scope() as s:
        assert s.execute(select(Shop.name).where(Shop.id == new_shop_id)).scalar_one() == "山茶小铺"
    again = boss.post(base + "/api/shops", json={"shop_id": new_shop_id, "name": "山茶小铺"}, timeout=30)
    assert again.status_code == 409
    assert new_shop_id in {s["id"] for s in boss.get(base + "/api/shops", timeout=30).json()["shops"]}
    # no restart: the webhook takes the new shop's buyers, in a chat of the new shop's own
    hello = console_post(servers, console_event("tb_regular", "你好", shop_id=new_shop_id))
    assert hello.status_code == 200, hello.text
    assert "山茶小铺" in " ".join(r["text"] for r in hello.json()["replies"])
    assert shop(new_shop_id).name == "山茶小铺"


@pytest.mark.browser
def test_the_shops_page_adds_a_shop_and_says_what_is_wrong(servers, browser, new_shop_id):  # noqa: F811
    page = log_in(browser, servers, "laowang")
    page.goto(servers.urls["console"] + "/shops")
    page.wait_for_selector("body[data-ready='1']")
    assert page.locator("#shops tr[data-shop='shiye']").count() == 1
    page.fill("#shop_id", "shiye")
    page.fill("#name", "拾叶茶舍")
    page.click("#add")
    page.wait_for_function("document.getElementById('form-error').textContent !== ''")
    assert "已经有了" in page.inner_text("#form-error")
    page.fill("#shop_id", new_shop_id)
    page.fill("#name", "山茶小铺")
    page.click("#add")
    page.wait_for_selector(f"#shops tr[data-shop='{new_shop_id}']")
    assert "山茶小铺" in page.inner_text(f"#shops tr[data-shop='{new_shop_id}']")
    assert page.inner_text("#form-error") == ""
