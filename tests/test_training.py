"""The model is retrained exactly when its inputs change."""

import shutil

from bot.nlu.training import model_path, pipeline_sources


def _copy_project(src, dst):
    for name in ["config.yml", "domain.yml", *pipeline_sources(src)]:
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src / name, dst / name)
    shutil.copytree(src / "data", dst / "data")


def test_model_name_follows_training_inputs(tmp_path):
    from bot.settings import ROOT

    _copy_project(ROOT, tmp_path)
    first = model_path(tmp_path, models_dir=tmp_path / "models")
    assert model_path(tmp_path, models_dir=tmp_path / "models") == first

    (tmp_path / "responses").mkdir()  # phrases are not a training input
    (tmp_path / "responses" / "x.yml").write_text("category: closing\n", encoding="utf-8")
    assert model_path(tmp_path, models_dir=tmp_path / "models") == first

    nlu = tmp_path / "data" / "nlu" / "dialogue" / "greet.yml"
    nlu.write_text(nlu.read_text(encoding="utf-8") + "    - 哈喽哈喽\n", encoding="utf-8")
    assert model_path(tmp_path, models_dir=tmp_path / "models") != first


def test_config_change_means_a_new_model(tmp_path):
    from bot.settings import ROOT

    _copy_project(ROOT, tmp_path)
    first = model_path(tmp_path, models_dir=tmp_path / "models")
    cfg = tmp_path / "config.yml"
    cfg.write_text(cfg.read_text(encoding="utf-8") + "\n# tuned\n", encoding="utf-8")
    assert model_path(tmp_path, models_dir=tmp_path / "models") != first


def test_component_code_change_means_a_new_model(tmp_path):
    from bot.settings import ROOT

    _copy_project(ROOT, tmp_path)
    first = model_path(tmp_path, models_dir=tmp_path / "models")
    source = tmp_path / "bot" / "nlu" / "classifier.py"
    source.write_text(source.read_text(encoding="utf-8") + "\n# tuned\n", encoding="utf-8")
    assert model_path(tmp_path, models_dir=tmp_path / "models") != first
