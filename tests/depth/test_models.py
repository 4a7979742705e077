"""The model registry: its entries, and the rule that a registry model file is used only when its hash matches."""

import dataclasses
import os
import shutil

import pytest

from addon.depth import DEFAULT_MODEL_ID, ModelError, estimate_depth, list_models, models
from addon.depth.models import file_sha256

REQUIRED_MODELS = {
    "midas_v21_small_256": "MIT",
    "dpt_hybrid_384": "MIT",
    "dpt_large_384": "MIT",
    "depth_anything_v2_small": "Apache-2.0",
}


def test_registry_lists_the_required_models_default_first():
    specs = list_models()
    assert specs[0].id == DEFAULT_MODEL_ID == "midas_v21_small_256"
    by_id = {spec.id: spec for spec in specs}
    for model_id, licence in REQUIRED_MODELS.items():
        spec = by_id[model_id]
        assert spec.license == licence
        assert spec.url.startswith("https://") and spec.file_name.endswith(".onnx")
        assert spec.output_kind == "INVERSE" and len(spec.mean) == len(spec.std) == 3
        assert spec.sha256 is None or (len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0)
    assert by_id["midas_v21_small_256"].input_size == (256, 256)
    assert by_id["midas_v21_small_256"].pinned
    assert by_id["depth_anything_v2_small"].multiple_of == 14


def test_unknown_and_missing_models_say_what_to_do(tmp_path):
    with pytest.raises(ModelError, match='no model "nope".*midas_v21_small_256'):
        models.get_model("nope")
    spec = models.get_model(DEFAULT_MODEL_ID)
    with pytest.raises(ModelError, match="not installed; download it from https://github.com/isl-org/MiDaS"):
        spec.locate([tmp_path])
    assert spec.find_file([tmp_path]) is None
    with pytest.raises(ModelError) as missing:
        spec.locate([tmp_path, models.MODELS_DIR])  # a caller passing the bundled folder too
    assert str(missing.value).count(str(models.MODELS_DIR)) == 1


def test_registry_file_with_wrong_hash_is_never_used(tmp_path, split_jpeg, tiny_model_path):
    shutil.copy(tiny_model_path, tmp_path / "midas_v21_small_256.onnx")  # a valid model, but not MiDaS
    with pytest.raises(ModelError, match='"midas_v21_small_256.onnx".*does not match the SHA-256'):
        estimate_depth(split_jpeg, search_dirs=[tmp_path])
    assert models.get_model(DEFAULT_MODEL_ID).find_file([tmp_path]) is None


def test_matching_hash_is_found_after_mismatching_copies(tmp_path, tiny_model_path):
    bad_dir, good_dir = tmp_path / "bad", tmp_path / "good"
    bad_dir.mkdir(), good_dir.mkdir()
    (bad_dir / "tiny.onnx").write_bytes(b"tampered")
    shutil.copy(tiny_model_path, good_dir / "tiny.onnx")
    spec = dataclasses.replace(
        models.get_model(DEFAULT_MODEL_ID), id="tiny", file_name="tiny.onnx", sha256=file_sha256(tiny_model_path)
    )
    assert spec.locate([bad_dir, good_dir]) == good_dir / "tiny.onnx"
    with pytest.raises(ModelError, match="does not match"):
        spec.locate([bad_dir])


def test_unpinned_registry_model_runs_with_a_warning(tmp_path, split_jpeg, test_models_dir):
    spec = models.get_model("dpt_large_384")
    assert not spec.pinned
    shutil.copy(test_models_dir / "tiny_dynamic.onnx", tmp_path / spec.file_name)
    result = estimate_depth(split_jpeg, model="dpt_large_384", search_dirs=[tmp_path])
    assert result.model_id == "dpt_large_384"
    assert "no pinned SHA-256" in result.warning
    assert result.depth.shape == (300, 400)


def test_hash_is_cached_per_path_mtime_and_size(tmp_path):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"first version")
    first = file_sha256(path)
    assert file_sha256(path) == first
    path.write_bytes(b"second, longer version")
    os.utime(path, ns=(1, 1))
    assert file_sha256(path) != first


def test_registry_errors_name_the_file(tmp_path):
    broken = tmp_path / "registry.toml"
    broken.write_text("[[model]]\nid = 'x'\n")
    with pytest.raises(ModelError, match="registry.toml.*lacks the required key"):
        models.load_registry(broken)
    broken.write_text("not = [valid")
    with pytest.raises(ModelError, match='"registry.toml" cannot be read'):
        models.load_registry(broken)
