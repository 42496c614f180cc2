"""The quick-phrase library is checked at start-up, with errors that name file and line."""

import shutil
from pathlib import Path

import pytest

from bot.settings import RESPONSES_DIR
from bot.shop.phrases import CATEGORIES, PhraseError, library, load_library


def test_library_covers_every_category_and_intent():
    lib = library()
    assert {p.category for p in lib.phrases.values()} == set(CATEGORIES)
    intents = Path(__file__).resolve().parent.parent / "domain.yml"
    import yaml

    for intent in yaml.safe_load(intents.read_text(encoding="utf-8"))["intents"]:
        assert lib.for_intent(intent), f"no phrase answers {intent}"


def test_every_variant_renders_with_shop_facts():
    """Shop slots are filled from shop.yml; the rest get a stand-in value here."""
    from bot.shop.phrases import shop_slots

    for phrase in library().phrases.values():
        for variant in phrase.variants:
            values = {name: "<%s>" % name for name in phrase.slots}
            values.update(shop_slots())
            text = variant.format_map(values)
            assert "{" not in text and "}" not in text and text.strip()


def test_free_shipping_phrase_is_filled_from_shop_config():
    text = library().render("logistics.free_shipping")
    assert "99" in text and "8" in text


@pytest.fixture()
def phrase_dir(tmp_path):
    target = tmp_path / "responses"
    shutil.copytree(RESPONSES_DIR, target)
    return target


def test_unknown_slot_is_reported_with_file_and_line(phrase_dir):
    path = phrase_dir / "closing.yml"
    text = path.read_text(encoding="utf-8").replace("{short_name}", "{shop_nmae}")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PhraseError) as err:
        load_library(phrase_dir)
    assert "closing.yml:" in str(err.value) and "shop_nmae" in str(err.value)
    assert str(err.value).split("closing.yml:")[1].split(":")[0].isdigit()


def test_missing_category_is_reported(phrase_dir):
    (phrase_dir / "review.yml").unlink()
    with pytest.raises(PhraseError, match="review"):
        load_library(phrase_dir)


def test_duplicate_id_is_reported(phrase_dir):
    (phrase_dir / "extra.yml").write_text(
        "category: closing\nphrases:\n  - id: closing.goodbye\n    variants: [再见]\n", encoding="utf-8"
    )
    with pytest.raises(PhraseError, match="duplicate phrase id 'closing.goodbye'"):
        load_library(phrase_dir)


def test_a_phrase_lives_in_the_file_named_after_its_id(phrase_dir):
    (phrase_dir / "extra.yml").write_text(
        "category: closing\nphrases:\n  - id: closing.see_you\n    variants: [再见]\n", encoding="utf-8"
    )
    with pytest.raises(PhraseError, match=r"extra.yml:3: .*move it to closing.yml"):
        load_library(phrase_dir)
