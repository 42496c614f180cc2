"""The trainer page, through the real page in headless Chromium and the real servers: a
misread buyer message shows up for review, the trainer picks the right intent, and it lands
in the trainers' NLU file; the page and its API need a login. Retrain and compare reports
the job's real progress, read from the children's output (real captured Rasa output in
tests/fixtures/rasa_train_*.txt), and after 启用新模型 the panel names the model in service."""

import ast
import asyncio
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from sqlalchemy import select

from bot import settings
from bot.console import rasa_client, trainer
from bot.nlu import curation, training
from bot.nlu import evaluation as ev
from bot.nlu.curation import read_examples
from bot.nlu.evaluation import SPLITS
from bot.shop.config import shop
from bot.store.db import session_scope
from bot.store.models import Message
from tests.helpers import console_event, console_post, new_buyer, rasa_api
from tests.test_workbench import browser, log_in  # noqa: F401  (the browser fixture)

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.servers
def test_trainer_pages_need_a_login(servers):
    base = servers.urls["console"]
    assert requests.get(base + "/api/trainer/review", timeout=10).status_code == 401
    assert (
        requests.post(base + "/api/trainer/label", json={"message_id": 1, "intent": "thank"}, timeout=10).status_code
        == 401
    )
    page = requests.get(base + "/trainer", timeout=10, allow_redirects=False)
    assert page.status_code == 302 and page.headers["Location"] == "/login"


@pytest.mark.servers
@pytest.mark.browser
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
    # Intents read in Chinese; the codes are only the options' values.
    assert "闲聊/无关" in row.locator("select.intent").inner_text() and "out_of_scope" not in row.inner_text()
    row.locator("select.intent").select_option("out_of_scope")
    row.locator("button.save").click()
    page.wait_for_selector(f"tr[data-id='{message_id}'] td.done")
    assert row.locator("td.done").inner_text() == "已标为「闲聊/无关」"

    labelled = read_examples(settings.TRAINER_FILE)["out_of_scope"]
    assert labelled == ["ppppppppppppppppppppppppp[电话x]"]

    # The same message again is refused with the reason, and nothing is written twice.
    http = requests.Session()
    http.cookies.update({c["name"]: c["value"] for c in page.context.cookies()})
    again = http.post(
        servers.urls["console"] + "/api/trainer/label", json={"message_id": message_id, "intent": "thank"}, timeout=10
    )
    assert again.status_code == 409 and again.json()["error"] == "这条消息已经标为「闲聊/无关」，不用再标"
    assert read_examples(settings.TRAINER_FILE) == {"out_of_scope": labelled}


@pytest.mark.servers
@pytest.mark.browser
def test_retrain_compares_on_both_splits_and_puts_the_model_in_service(servers, browser):  # noqa: F811
    base = servers.urls["console"]
    page = log_in(browser, servers, "ajie")
    http = requests.Session()
    http.cookies.update({c["name"]: c["value"] for c in page.context.cookies()})
    assert http.post(base + "/api/trainer/activate", timeout=10).status_code == 409  # nothing compared yet

    page.goto(base + "/trainer")
    page.wait_for_function("document.getElementById('serving').textContent.includes('当前线上模型')")
    assert servers.model.name in page.inner_text("#serving")
    page.click("#retrain")
    # The labels of this test session go to a scratch file, so the candidate is the model in
    # service: training is skipped and the comparison must show the same figures. Meanwhile
    # the bar follows the comparison child, forward only, beside what it is doing.
    seen, deadline = [], time.monotonic() + 180
    while not page.locator("#job table").count():
        assert time.monotonic() < deadline, seen[-3:]
        seen.append(page.evaluate("[+document.getElementById('job-bar').getAttribute('aria-valuenow'), "
                                  "document.getElementById('job-step').textContent]"))  # fmt: skip
        page.wait_for_timeout(300)
    percents = [p for p, _ in seen]
    assert percents == sorted(percents) and all(p < 100 for p, step in seen if step != "完成")
    steps = {step for _, step in seen}
    assert any(re.match(r"评估留出集 [123]/3「.+」：(线上|新)模型已读 \d+/\d+ 条（\d+%）", s) for s in steps), steps
    assert page.inner_text("#job-step") == "完成" and page.get_attribute("#job-bar", "aria-valuenow") == "100"
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
    # The panel names the model Rasa now serves, and says it was put in service.
    page.reload()
    page.wait_for_function("document.getElementById('serving').textContent.startsWith('已启用')")
    assert page.inner_text("#serving").startswith("已启用：当前线上模型为 " + servers.model.name + "（训练于 ")
    assert "已重新载入模型" in page.inner_text("#job-note")


# --- progress of retrain and compare, from real captured output -----------------------------


def _lines(name, chunk=97):
    """A fixture's output as the console reads it from a pipe: in chunks (cutting UTF-8
    characters in two), split at newlines and at tqdm's carriage returns."""
    raw, splitter, lines = (FIXTURES / name).read_bytes(), trainer.LineSplitter(), []
    for at in range(0, len(raw), chunk):
        lines += splitter.feed(raw[at : at + chunk])
    return lines + splitter.close()


def test_output_is_split_into_lines_at_newlines_and_carriage_returns():
    splitter = trainer.LineSplitter()
    data = "训练\r\nEpochs:   8%| 1/12\rEpochs:  17%| 2/12\n尾".encode()
    got = splitter.feed(data[:1]) + splitter.feed(data[1:5]) + splitter.feed(data[5:]) + splitter.close()
    assert got == ["训练", "Epochs:   8%| 1/12", "Epochs:  17%| 2/12", "尾"]
    assert [line for line in _lines("rasa_train_diet.txt") if line.startswith("Epochs:")][3].startswith(
        "Epochs:  17%|█▋        | 2/12 [00:35<02:40"
    )


def test_the_components_rasa_trains_are_read_from_the_config():
    components = training.trained_components()
    # ShopEntityExtractor and FallbackClassifier are not trainable: Rasa never logs them.
    assert components == [
        "JiebaTokenizer",
        "ShopIntentClassifier",
        "EntitySynonymMapper",
        "MemoizationPolicy",
        "RulePolicy",
    ]
    logged = {
        m[1] for line in _lines("rasa_train_project.txt") for m in [re.search(r"train component '(\w+)'", line)] if m
    }
    assert logged == set(components)


def test_the_untrained_builtins_are_those_rasa_registers_untrainable():
    import rasa

    untrainable = set()
    for path in (Path(rasa.__file__).parent / "nlu").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                kw.arg == "is_trainable" and getattr(kw.value, "value", None) is False
                for d in node.decorator_list
                for kw in getattr(d, "keywords", [])
            ):
                untrainable.add(node.name)
    assert untrainable == training.UNTRAINED_BUILTINS


def _follow(progress, lines):
    seen = []
    for line in lines:
        if progress.feed(line):
            seen.append((progress.stage, progress.preparing, progress.training, trainer.describe_training(progress)))
    return seen


def test_training_progress_follows_the_real_project_training():
    progress = training.TrainingProgress(training.trained_components())
    seen = _follow(progress, _lines("rasa_train_project.txt"))
    stages = [stage for stage, *_ in seen]
    assert stages[0] == "preparing" and stages[-1] == "saved"
    assert [p for _, p, _, _ in seen] == sorted(p for _, p, _, _ in seen)
    assert [t for _, _, t, _ in seen] == sorted(t for _, _, t, _ in seen)
    assert all(t < 1 for stage, _, t, _ in seen if stage != "saved") and seen[-1][2] == 1.0
    texts = [text for *_, text in seen]
    assert texts[:3] == ["准备训练数据：启动 Rasa 训练程序", "准备训练数据：校验训练数据", "准备训练数据：校验训练数据"]
    assert "准备训练数据：读取对话和规则" in texts
    assert "训练模型：第 1/5 个组件（对话记忆策略）" in texts
    assert "训练模型：第 5/5 个组件（意图分类器）" in texts
    assert texts[-2:] == ["训练模型：保存模型文件", "训练模型：已保存"]


def test_training_progress_counts_the_epochs_of_diet(tmp_path):
    (tmp_path / "config.yml").write_text(
        "pipeline:\n- name: JiebaTokenizer\n- name: CountVectorsFeaturizer\n- name: DIETClassifier\n  epochs: 12\n"
        "- name: FallbackClassifier\npolicies: []\n",
        encoding="utf-8",
    )
    progress = training.TrainingProgress(training.trained_components(tmp_path, "config.yml"))
    assert progress.components == ["JiebaTokenizer", "CountVectorsFeaturizer", "DIETClassifier"]
    seen = _follow(progress, _lines("rasa_train_diet.txt"))
    fractions = [t for _, _, t, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    texts = [text for *_, text in seen]
    assert "训练模型：第 3/3 个组件（DIET 意图模型），第 0/12 轮" in texts
    assert "训练模型：第 3/3 个组件（DIET 意图模型），第 2/12 轮，本组件约剩 160 秒" in texts
    # Each epoch moves the bar: two components done and 5 of 12 epochs of the third.
    five = next(t for _, _, t, text in seen if "第 5/12 轮" in text)
    assert five == pytest.approx((2 + 5 / 12) / 3)


def test_a_model_that_is_up_to_date_skips_training():
    progress = training.TrainingProgress(["ShopIntentClassifier"])
    assert progress.feed("model is up to date: models/xiaoer-0123456789abcdef.tar.gz")
    assert progress.training == 1.0 and trainer.describe_training(progress) == "训练数据没有变化，沿用已训练的模型"


def _fake_holdout(split):
    sizes = {"held-back": 60, "writer2": 45, "situations": 90}
    name = next(name for name, glob in ev.SPLITS.items() if glob == split)
    return [ev.Example(f"{name} {i}", "greet" if i % 3 else "thank", []) for i in range(sizes[name])]


def _fake_parse(model, examples, progress=True):
    """Parses with "the model": the live one reads everything as greet, the new one is right."""
    out = []
    for ex in examples:  # as ev.predict does: one at a time, in order
        time.sleep(0.0005)
        out.append(ev.Prediction("greet" if "live" in str(model) else ex.intent, 0.9, [], 0.001))
    return out


@pytest.fixture()
def fake_compare(monkeypatch):
    """The comparison child's progress lines and result, with its models and splits faked."""
    monkeypatch.setattr(ev, "load_holdout", lambda root=None, split=ev.HOLDOUT_GLOB: _fake_holdout(split))
    monkeypatch.setattr(ev, "predict", _fake_parse)
    monkeypatch.setattr(trainer, "ANNOUNCE_EVERY", 0.01)
    lines = []
    result = trainer.compare_with_progress(
        {"live": Path("live.tar.gz"), "candidate": Path("new.tar.gz")},
        emit=lambda data: lines.append(trainer.PROGRESS_MARK + json.dumps(data, ensure_ascii=False)),
    )
    assert ev.predict is _fake_parse  # put back
    return lines, result


def test_the_comparison_child_reports_its_progress_and_the_same_figures(fake_compare):
    lines, result = fake_compare
    assert result == ev.compare({"live": Path("live.tar.gz"), "candidate": Path("new.tar.gz")})
    assert result["writer2"]["candidate"]["accuracy"] == 1.0 and result["writer2"]["live"]["accuracy"] < 1
    assert lines[0] == trainer.PROGRESS_MARK + '{"splits": [["held-back", 60], ["writer2", 45], ["situations", 90]]}'
    assert lines[1] == trainer.PROGRESS_MARK + '{"model": 0}'
    assert trainer.PROGRESS_MARK + '{"model": 0, "parsed": 195}' in lines
    assert lines[-1] == trainer.PROGRESS_MARK + '{"model": 1, "parsed": 195}'
    assert len(lines) > 10  # parsing is reported as it goes, not only at the ends

    progress, texts, fractions = trainer.ComparisonProgress(), [], []
    for line in lines:
        assert progress.feed(line)
        texts.append(progress.describe())
        fractions.append(progress.fraction)
    assert fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)
    assert texts[1] == "评估留出集：载入线上模型"
    assert any(re.fullmatch(r"评估留出集 2/3「第二作者集」：线上模型已读 \d+/45 条", t) for t in texts)
    assert any(re.fullmatch(r"评估留出集 1/3「基础留出集」：新模型已读 \d+/60 条", t) for t in texts)
    assert texts[-1] == "评估留出集 3/3「真实场景集（按真实咨询比例）」：新模型已读 90/90 条"


def test_the_time_left_is_measured_from_the_pace_of_parsing():
    progress = trainer.ComparisonProgress()
    mark = trainer.PROGRESS_MARK
    progress.feed(mark + '{"splits": [["held-back", 100], ["writer2", 100]]}', now=0)
    progress.feed(mark + '{"model": 0}', now=0)
    assert progress.seconds_left(now=1) is None  # no pace yet: no guess
    progress.feed(mark + '{"model": 0, "parsed": 0}', now=8)  # the first model took 8 s to load
    progress.feed(mark + '{"model": 0, "parsed": 50}', now=13)  # 0.1 s a message
    # 150 messages of this model, then the next loads (0.4 of 8 s) and parses 200.
    assert progress.seconds_left(now=13) == pytest.approx(15 + 3.2 + 20)
    assert progress.seconds_left(now=16) == pytest.approx(35.2)
    progress.feed(mark + '{"model": 1}', now=28)
    progress.feed(mark + '{"model": 1, "parsed": 0}', now=30)
    progress.feed(mark + '{"model": 1, "parsed": 100}', now=35)
    assert progress.seconds_left(now=35) == pytest.approx(5)
    # Lines out of order move nothing back.
    assert not progress.feed(mark + '{"model": 0, "parsed": 190}', now=36)
    assert progress.parsed == 100 and progress.model == 1


def test_the_job_moves_forward_only_and_reaches_the_end_only_when_done(fake_compare):
    job = trainer.RetrainJob()
    job.start()
    job.train_progress = training.TrainingProgress(training.trained_components())
    progress = [job.progress]
    for line in _lines("rasa_train_project.txt"):
        job.on_training_line(line)
        progress.append(job.progress)
        assert job.progress <= trainer.BANDS["training"][1]
    assert job.state == "training" and job.step == "训练模型：已保存" and job.progress == trainer.BANDS["training"][1]
    # A line that would go back (a second bar from the start, an earlier stage) changes nothing.
    job.on_training_line("Epochs:   0%|          | 0/12 [00:00<?, ?it/s]")
    job.on_training_line(
        "2026-12-03 11:50:48 INFO     rasa.cli.train  - Started validating domain and training data..."
    )
    assert job.progress == progress[-1] and job.state == "training"
    job.compare_progress = trainer.ComparisonProgress()
    job.advance("comparing", 0.0, job.compare_progress.describe())
    for line in fake_compare[0]:
        job.on_comparison_line(line)
        progress.append(job.progress)
        assert job.progress < 1
    job.advance("preparing", 0.5, "准备训练数据：启动训练程序")  # never back to an earlier stretch
    assert job.state == "comparing"
    assert progress == sorted(progress) and progress[-1] == pytest.approx(trainer.BANDS["comparing"][1])
    job.finish({"held-back": {}})
    assert job.as_json()["progress"] == 1.0 and job.as_json()["step"] == "完成"


class FakeRasa:
    def __init__(self, serving):
        self.serving = serving
        self.loaded = []

    async def live_model(self, app):
        return settings.MODELS_DIR / self.serving

    async def load_model(self, app, model):
        self.loaded.append(Path(model).name)
        self.serving = Path(model).name


def _run(coro):
    """Runs a coroutine on its own loop, in a thread: the browser fixture's Playwright keeps
    an event loop running in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result(timeout=60)


def test_the_job_reports_its_phases_and_activation_names_the_new_live_model(monkeypatch, fake_compare):
    """The API's states, in process, with the children and Rasa faked: the training child
    replays the real captured output, the comparison child the progress lines it prints."""
    _run(_phases_and_activation(monkeypatch, fake_compare))


async def _phases_and_activation(monkeypatch, fake_compare):
    rasa = FakeRasa("xiaoer-1111111111111111.tar.gz")
    monkeypatch.setattr(rasa_client, "live_model", rasa.live_model)
    monkeypatch.setattr(rasa_client, "load_model", rasa.load_model)
    monkeypatch.setattr(trainer, "require_agent", lambda request, role=None: 1)
    compared = []

    async def child(args, on_line):
        if args[1] == "bot.cli":
            for line in ["Training the model (config.yml) …"] + _lines("rasa_train_project.txt"):
                on_line(line)
                await asyncio.sleep(0)
            return ["Training the model (config.yml) …", "trained models/xiaoer-2222222222222222.tar.gz in 99s"]
        compared.append((Path(args[args.index("--live") + 1]).name, Path(args[args.index("--candidate") + 1]).name))
        for line in fake_compare[0]:
            on_line(line)
            await asyncio.sleep(0)
        return fake_compare[0] + [json.dumps(fake_compare[1])]

    monkeypatch.setattr(trainer, "_child", child)
    app = web.Application()
    app[trainer.RETRAIN] = trainer.RetrainJob()

    async def call(handler, method="GET"):
        resp = await handler(make_mocked_request(method, "/api/trainer/x", app=app))
        return resp.status, json.loads(resp.body)

    status, job = await call(trainer.activate, "POST")
    assert status == 409 and job["error"] == "请先重新训练并对比，对比完成后再启用新模型"
    status, job = await call(trainer.retrain, "POST")
    assert status == 202 and job["state"] == "preparing" and job["progress"] == 0
    status, again = await call(trainer.retrain, "POST")
    assert status == 409 and again["error"] == "已经有一次重新训练在进行中，请等它完成"
    seen = []
    while job["state"] not in ("done", "failed"):
        await asyncio.sleep(0)
        job = (await call(trainer.retrain_status))[1]
        seen.append(job)
    assert job["state"] == "done", job["error_detail"]
    states = [j["state"] for j in seen]
    assert states.index("preparing") < states.index("training") < states.index("comparing") < states.index("done")
    progress = [j["progress"] for j in seen]
    assert progress == sorted(progress) and all(p < 1 for p in progress[:-1]) and progress[-1] == 1
    steps = {j["step"] for j in seen}
    assert {"训练模型：第 5/5 个组件（意图分类器）", "训练模型：保存模型文件", "评估留出集：载入线上模型"} <= steps
    assert any(s.startswith("评估留出集 2/3「第二作者集」：新模型已读 ") for s in steps)
    assert any(j["eta_seconds"] is not None for j in seen if j["state"] == "comparing")
    assert compared == [("xiaoer-1111111111111111.tar.gz", "xiaoer-2222222222222222.tar.gz")]
    assert job["live"] == job["serving"]["name"] == "xiaoer-1111111111111111.tar.gz" and not job["activated"]

    status, job = await call(trainer.activate, "POST")
    assert status == 200 and rasa.loaded == ["xiaoer-2222222222222222.tar.gz"]
    assert job["activated"] and job["serving"]["name"] == "xiaoer-2222222222222222.tar.gz"
    assert job["live"] == "xiaoer-1111111111111111.tar.gz"  # the comparison's "live" stays what it was
    assert (await call(trainer.retrain_status))[1]["serving"]["name"] == "xiaoer-2222222222222222.tar.gz"

    # The next comparison is against the model now in service.
    await call(trainer.retrain, "POST")
    await app[trainer.RETRAIN].task
    assert compared[-1][0] == "xiaoer-2222222222222222.tar.gz"
    assert app[trainer.RETRAIN].as_json()["live"] == "xiaoer-2222222222222222.tar.gz"

    # Rasa refusing a model leaves it as it was, said in Chinese.
    async def refuse(app, model):
        raise RuntimeError('{"status": "failure", "reason": "BadRequest"}')

    monkeypatch.setattr(rasa_client, "load_model", refuse)
    status, job = await call(trainer.activate, "POST")
    assert status == 502 and job["error"] == "Rasa 没有接受新模型，线上模型没有变化。" and "BadRequest" in job["detail"]


def test_a_failed_training_is_said_in_chinese(monkeypatch):
    _run(_failed_training(monkeypatch))


async def _failed_training(monkeypatch):
    rasa = FakeRasa("xiaoer-1111111111111111.tar.gz")
    monkeypatch.setattr(rasa_client, "live_model", rasa.live_model)

    async def child(args, on_line):
        on_line("Training the model (config.yml) …")
        raise trainer.ChildFailed("RuntimeError: rasa train failed (exit 1)")

    monkeypatch.setattr(trainer, "_child", child)
    job = trainer.RetrainJob()
    job.start()
    await trainer._retrain(web.Application(), job)
    shown = job.as_json()
    assert shown["state"] == "failed" and shown["step"] == "失败" and shown["progress"] < 1
    assert shown["error"] == "训练失败，线上模型没有变化。" and "exit 1" in shown["error_detail"]


def test_curation_refusals_are_said_in_chinese(tmp_path):
    path = tmp_path / "trainer.yml"
    curation.add_example(path, "这个能便宜吗", "bargain", {"bargain", "thank"}, {})
    refusals = {}
    for text, intent, others in [
        ("这个能便宜吗", "thank", {}),
        ("谢谢老板", "thank", {"谢谢老板": "thank"}),
        ("谢谢", "no_such_intent", {}),
        ("   ", "thank", {}),
        ("啊" * 2000, "thank", {}),
    ]:
        with pytest.raises(curation.LabelError) as err:
            curation.add_example(path, text, intent, {"bargain", "thank"}, others)
        refusals[str(err.value)] = trainer.in_chinese(err.value)
    path.write_text("nlu:\n- intent: thank\n  examples: |\n    - 谢谢\n   bad: [\n", encoding="utf-8")
    with pytest.raises(curation.TrainerFileError) as err:
        curation.read_examples(path)
    refusals[str(err.value)] = trainer.in_chinese(err.value)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(curation.TrainerFileError) as err:
        curation.read_examples(path)
    refusals[str(err.value)] = trainer.in_chinese(err.value)
    said = list(refusals.values())
    assert said[0] == "这条消息已经标为「议价」，不用再标"
    assert said[1] == "训练数据里已有一模一样的话，意图是「道谢」，不用再标"
    assert said[2] == "没有这个意图，请从列表里选"
    assert said[3] == "这条消息去掉电话号码等内容后是空的，不能作为样例"
    assert re.fullmatch(r"这条消息超过 \d+ 个字，太长，不能作为样例", said[4])
    assert re.fullmatch(r"训练者样例文件 .+trainer\.yml 第 \d 行格式有误，请修正或删除这一行", said[5])
    assert said[6].endswith("trainer.yml 不是 UTF-8 文本")


# --- the panel, with the job's states served by the test -----------------------------------

_RESULT = {
    split: {
        "live": {"accuracy": 0.9, "real_mix_accuracy": 0.92, "macro_f1": 0.88, "fallback_rate": 0.02,
                 "messages": 100, "f1": {"ask_shipping_fee": 0.8, "bargain": 0.9}},
        "candidate": {"accuracy": 0.93, "real_mix_accuracy": 0.94, "macro_f1": 0.9, "fallback_rate": 0.01,
                      "messages": 100, "f1": {"ask_shipping_fee": 0.9, "bargain": 0.9}},
    }
    for split in SPLITS
}  # fmt: skip
_OLD, _NEW = "xiaoer-aaaaaaaaaaaaaaaa.tar.gz", "xiaoer-bbbbbbbbbbbbbbbb.tar.gz"


def _job(**changes):
    job = {"state": "comparing", "run": 7, "step": "评估留出集 2/3「第二作者集」：新模型已读 120/450 条",
           "progress": 0.83, "elapsed_seconds": 95, "eta_seconds": 21, "live": _OLD, "candidate": _NEW,
           "serving": {"name": _OLD, "trained_at": "2026-12-01T09:30"}, "result": None, "error": None,
           "error_detail": None, "activated": False, "split_names": trainer.SPLIT_NAMES}  # fmt: skip
    return {**job, **changes}


@pytest.mark.servers
@pytest.mark.browser
def test_the_panel_shows_the_phase_and_after_activation_the_new_live_model(servers, browser):  # noqa: F811
    page = log_in(browser, servers, "ajie")
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    state = {"job": _job(), "activate": []}
    page.route("**/api/trainer/retrain", lambda route: route.fulfill(json=state["job"]))
    page.route(
        "**/api/trainer/activate",
        lambda route: route.fulfill(status=state["activate"][0][0], json=state["activate"].pop(0)[1]),
    )
    page.goto(servers.urls["console"] + "/trainer")

    # Running: what it does beside the bar, how far, how long so far and how long still.
    page.wait_for_selector("#job-progress:not([hidden])")
    assert page.inner_text("#job-step") == "评估留出集 2/3「第二作者集」：新模型已读 120/450 条（83%）"
    assert page.inner_text("#job-time") == "已用 1 分 35 秒，预计还需约 21 秒"
    assert page.get_attribute("#job-bar", "aria-valuenow") == "83" and page.is_disabled("#retrain")
    assert page.inner_text("#serving") == "当前线上模型：" + _OLD + "（训练于 12月1日 09:30）"
    state["job"] = _job(progress=0.8, step="评估留出集 2/3「第二作者集」：新模型已读 121/450 条")  # a stale answer
    page.wait_for_function("document.getElementById('job-step').textContent.includes('121/450')")
    assert page.get_attribute("#job-bar", "aria-valuenow") == "83"  # the bar does not go back

    # Done: 100 %, the comparison, and the button to put the new model in service.
    state["job"] = _job(state="done", step="完成", progress=1.0, eta_seconds=None, elapsed_seconds=150, result=_RESULT)
    page.wait_for_selector("#job table")
    assert page.get_attribute("#job-bar", "aria-valuenow") == "100" and page.inner_text("#job-step") == "完成"
    assert page.inner_text("#job-note") == f"线上 {_OLD} → 新 {_NEW}"
    assert "运费/包邮 +10" in page.inner_text("#job table")

    # Rasa refuses: said inline, in Chinese, and the button can be pressed again.
    state["activate"].append((502, {"error": "Rasa 没有接受新模型，线上模型没有变化。", "detail": "BadRequest"}))
    page.click("#activate")
    page.wait_for_selector("#job-error:not([hidden])")
    assert page.inner_text("#job-error").startswith("Rasa 没有接受新模型，线上模型没有变化。")
    assert page.is_visible("#activate") and page.is_enabled("#activate")

    # Put in service: the panel names the new live model, not "the same as the live one".
    activated = _job(state="done", step="完成", progress=1.0, eta_seconds=None, elapsed_seconds=150, result=_RESULT,
                     activated=True, serving={"name": _NEW, "trained_at": "2026-12-03T11:52"})  # fmt: skip
    state["activate"].append((200, activated))
    page.click("#activate")
    page.wait_for_function("document.getElementById('serving').textContent.startsWith('已启用')")
    assert page.inner_text("#serving") == f"已启用：当前线上模型为 {_NEW}（训练于 12月3日 11:52）"
    assert page.inner_text("#job-note").startswith(f"新模型 {_NEW} 已启用，下次对比将以它为线上模型")
    assert "相同" not in page.inner_text("#job-note") and page.is_hidden("#activate") and page.is_hidden("#job-error")
    assert "原线上 → 新" in page.inner_text("#job thead")
    state["job"] = activated
    page.reload()
    page.wait_for_function("document.getElementById('serving').textContent.startsWith('已启用')")
    assert page.inner_text("#serving") == f"已启用：当前线上模型为 {_NEW}（训练于 12月3日 11:52）"

    # Everything the trainer reads is Chinese: no intent codes, no English words (what buyers
    # wrote, model names and file names are not the page's words).
    text = page.inner_text("body")
    for said in page.locator("#items td.text, #gaps td:nth-child(4)").all_inner_texts() + [_OLD, _NEW]:
        text = text.replace(said, "")
    text = re.sub(r"[\w./-]+\.yml", "", text)
    assert set(re.findall(r"[A-Za-z_]{2,}", text)) <= {"F1"}, text
    assert not dialogs
