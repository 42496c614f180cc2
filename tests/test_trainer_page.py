"""The trainer page, through the real page in headless Chromium and the real servers: a
misread buyer message shows up for review, the trainer picks the right intent, and it lands
in the trainers' NLU file; the page and its API need a login."""

import pytest
import requests
from sqlalchemy import select

from bot import settings
from bot.nlu.curation import read_examples
from bot.nlu.evaluation import SPLITS
from bot.shop.config import shop
from bot.store.db import session_scope
from bot.store.models import Message
from tests.helpers import console_event, console_post, new_buyer, rasa_api
from tests.test_workbench import browser, log_in  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.servers, pytest.mark.browser]


def test_trainer_pages_need_a_login(servers):
    base = servers.urls["console"]
    assert requests.get(base + "/api/trainer/review", timeout=10).status_code == 401
    assert (
        requests.post(base + "/api/trainer/label", json={"message_id": 1, "intent": "thank"}, timeout=10).status_code
        == 401
    )
    page = requests.get(base + "/trainer", timeout=10, allow_redirects=False)
    assert page.status_code == 302 and page.headers["Location"] == "/login"


def test_a_misread_message_is_labelled_into_training_data(servers, browser):  # noqa: F811
    text = "ppppppppppppppppppppppppp13912345678"  # keys mashed, then a phone number
    assert console_post(servers, console_event(new_buyer(), text)).status_code == 200
    with session_scope() as s:
        stored = s.execute(select(Message).where(Message.text == text)).scalar_one()
        # The NLU had no idea: it fell back, or guessed below the review threshold.
        assert stored.intent == "nlu_fallback" or stored.confidence < shop().handoff.low_confidence
        message_id = stored.id

    page = log_in(browser, servers, "ajie")  # a trainer
    page.goto(servers.urls["console"] + "/trainer")
    row = page.locator(f"tr[data-id='{message_id}']")
    row.wait_for()
    assert "13912345678" not in page.content()  # trainers never see a buyer's phone number
    assert "[电话x]" in row.inner_text()
    row.locator("select.intent").select_option("out_of_scope")
    row.locator("button.save").click()
    page.wait_for_selector(f"tr[data-id='{message_id}'] td.done")

    labelled = read_examples(settings.TRAINER_FILE)["out_of_scope"]
    assert labelled == ["ppppppppppppppppppppppppp[电话x]"]

    # The same message again is refused with the reason, and nothing is written twice.
    http = requests.Session()
    http.cookies.update({c["name"]: c["value"] for c in page.context.cookies()})
    again = http.post(
        servers.urls["console"] + "/api/trainer/label", json={"message_id": message_id, "intent": "thank"}, timeout=10
    )
    assert again.status_code == 409 and "already labelled" in again.json()["error"]
    assert read_examples(settings.TRAINER_FILE) == {"out_of_scope": labelled}


def test_retrain_compares_on_both_splits_and_puts_the_model_in_service(servers, browser):  # noqa: F811
    base = servers.urls["console"]
    page = log_in(browser, servers, "ajie")
    http = requests.Session()
    http.cookies.update({c["name"]: c["value"] for c in page.context.cookies()})
    assert http.post(base + "/api/trainer/activate", timeout=10).status_code == 409  # nothing compared yet

    page.goto(base + "/trainer")
    page.click("#retrain")
    # The labels of this test session go to a scratch file, so the candidate is the model in
    # service: training is skipped and the comparison must show the same figures.
    page.wait_for_selector("#job table", timeout=180_000)
    job = http.get(base + "/api/trainer/retrain", timeout=10).json()
    assert job["state"] == "done" and job["candidate"] == job["live"] == servers.model.name
    for split in SPLITS:
        live, candidate = job["result"][split]["live"], job["result"][split]["candidate"]
        assert live == candidate and live["accuracy"] >= 0.93
    assert page.locator("#job tbody tr").count() == len(SPLITS)
    assert page.locator("#activate").is_hidden()  # nothing new to put in service

    # Putting a model in service swaps it in Rasa without a restart.
    assert http.post(base + "/api/trainer/activate", timeout=120).status_code == 200
    status = requests.get(rasa_api(servers, "/status"), timeout=10).json()
    assert status["model_file"].endswith(servers.model.name)
    parsed = requests.post(rasa_api(servers, "/model/parse"), json={"text": "包邮吗"}, timeout=30).json()
    assert parsed["intent"]["name"] == "ask_shipping_fee"
