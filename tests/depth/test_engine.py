"""estimate_depth end to end with the tiny test models: known outputs, working resolution, devices,
progress/cancel, run counting, and every broken model refused with an error naming the file."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from addon.depth import (
    CancelledError,
    DepthEstimator,
    ImageError,
    ModelError,
    estimate_depth,
    inference,
    inference_run_count,
    models,
)
from addon.depth.engine import WORKING_MAX_SIZE

from .helpers import REPO_ROOT, save_jpeg, split_photo


def test_split_photo_gives_far_left_near_right(split_jpeg, tiny_model_path):
    result = estimate_depth(split_jpeg, model_path=tiny_model_path)
    assert result.depth.dtype == np.float32 and result.depth.shape == (300, 400)
    assert result.kind == "INVERSE" and result.model_id == "tiny_fixed.onnx"
    assert result.photo_size == (400, 300) and result.provider == "CPUExecutionProvider"
    assert result.depth.min() == 0.0 and result.depth.max() == 1.0
    assert np.all(result.depth[:, :180] < 0.05) and np.all(result.depth[:, 220:] > 0.95)


def test_depth_is_upsampled_to_the_working_resolution_at_the_photos_aspect(tmp_path, tiny_model_path):
    photo = save_jpeg(tmp_path / "wide.jpg", split_photo(3000, 1000), orientation=6, focal_35mm=35)
    result = estimate_depth(photo, model_path=tiny_model_path)
    # Oriented: the 3000x1000 sensor image stands upright as 1000x3000.
    assert result.photo_size == (1000, 3000)
    assert result.depth.shape == (WORKING_MAX_SIZE, round(1000 * WORKING_MAX_SIZE / 3000))
    assert result.focal_length_35mm == 35.0
    assert result.exif_orientation == 6  # handed on, so that Blender's copy of the photo is turned too
    # Rotated 90 degrees clockwise, the bright right half of the sensor is now the bottom half.
    assert result.depth[-50:].mean() > 0.95 and result.depth[:50].mean() < 0.05


def test_dynamic_model_keeps_aspect_and_multiple_of(test_models_dir):
    estimator = DepthEstimator(model_path=test_models_dir / "tiny_dynamic.onnx")
    prepared = estimator.prepare(split_photo(400, 190))
    assert prepared.tensor.shape == (1, 3, 70, 140)  # longer side 140; 190/400 * 140 = 66.5 -> nearest x14 = 70
    assert prepared.tensor.dtype == np.float32
    result = estimator.finish(prepared, estimator.infer(prepared))
    assert result.depth.shape == (190, 400)
    assert result.depth[:, :150].mean() < 0.05 and result.depth[:, 250:].mean() > 0.95


def test_array_sources_uint8_and_float(tiny_model_path):
    pixels = split_photo(64, 48)
    from_uint8 = estimate_depth(pixels, model_path=tiny_model_path)
    from_float = estimate_depth(pixels.astype(np.float32) / 255.0, model_path=tiny_model_path)
    assert from_uint8.photo_size == (64, 48) and from_uint8.focal_length_35mm is None
    np.testing.assert_allclose(from_uint8.depth, from_float.depth, atol=1e-6)
    with pytest.raises(ImageError, match="HxWx3"):
        estimate_depth(np.zeros((10, 10)), model_path=tiny_model_path)


def test_each_estimate_runs_the_network_once(split_jpeg, tiny_model_path):
    before = inference_run_count()
    estimate_depth(split_jpeg, model_path=tiny_model_path)
    estimate_depth(split_jpeg, model_path=tiny_model_path)
    assert inference_run_count() == before + 2


def test_progress_reports_up_to_one_and_cancel_stops_before_the_network(split_jpeg, tiny_model_path):
    fractions = []
    estimate_depth(split_jpeg, model_path=tiny_model_path, progress=lambda fraction, text: fractions.append(fraction))
    assert fractions == sorted(fractions) and fractions[-1] == 1.0

    before = inference_run_count()
    with pytest.raises(CancelledError, match="split.jpg"):
        estimate_depth(split_jpeg, model_path=tiny_model_path, cancel=lambda: True)
    assert inference_run_count() == before


def test_cuda_request_without_cuda_falls_back_with_a_reason(split_jpeg, tiny_model_path):
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA; the fallback is what is being tested")
    result = estimate_depth(split_jpeg, model_path=tiny_model_path, device="CUDA")
    assert result.provider == "CPUExecutionProvider"
    assert "CUDA" in result.warning and result.warning.endswith(".")
    assert estimate_depth(split_jpeg, model_path=tiny_model_path, device="CPU").warning == ""
    with pytest.raises(ModelError, match="Unknown device"):
        estimate_depth(split_jpeg, model_path=tiny_model_path, device="TPU")


@pytest.mark.parametrize(
    ("file_name", "reason"),
    [
        ("nan_output.onnx", "no finite depth values"),
        ("constant_output.onnx", "the same depth everywhere"),
        ("bad_input_shape.onnx", "takes input of shape [1, 1, 64, 64]"),
        ("bad_output_shape.onnx", "returns output of shape [1, 3, 64, 64]"),
    ],
)
def test_broken_models_are_refused_naming_the_file(split_jpeg, test_models_dir, file_name, reason):
    with pytest.raises(ModelError) as caught:
        estimate_depth(split_jpeg, model_path=test_models_dir / file_name)
    assert file_name in str(caught.value) and reason in str(caught.value)


def test_model_file_that_is_not_onnx_is_refused(tmp_path, split_jpeg):
    fake = tmp_path / "not_a_model.onnx"
    fake.write_bytes(b"this is not a protobuf" * 10)
    with pytest.raises(ModelError, match='"not_a_model.onnx" is not a usable ONNX model'):
        estimate_depth(split_jpeg, model_path=fake)
    with pytest.raises(ModelError, match="does not exist"):
        estimate_depth(split_jpeg, model_path=tmp_path / "missing.onnx")


def test_partly_non_finite_output_is_cleaned_to_far(tiny_model_path):
    estimator = DepthEstimator(model_path=tiny_model_path)
    prepared = estimator.prepare(split_photo(64, 64))
    raw = np.linspace(1.0, 2.0, 64 * 64, dtype=np.float32).reshape(64, 64)
    raw[0, 0], raw[0, 1], raw[0, 2] = np.nan, np.inf, -np.inf
    depth = estimator.finish(prepared, raw).depth
    assert np.isfinite(depth).all() and depth.min() == 0.0 and depth.max() == 1.0
    assert depth[0, 0] < 0.01


def test_custom_normalisation_from_metadata_sidecar_and_defaults(tmp_path, test_models_dir):
    assert DepthEstimator(model_path=test_models_dir / "tiny_fixed.onnx").spec.mean == (0.0, 0.0, 0.0)
    unlabelled = DepthEstimator(model_path=test_models_dir / "constant_output.onnx").spec
    assert unlabelled.mean == models.IMAGENET_MEAN and unlabelled.std == models.IMAGENET_STD

    copy = shutil.copy(test_models_dir / "tiny_fixed.onnx", tmp_path / "with_sidecar.onnx")
    (tmp_path / "with_sidecar.onnx.json").write_text(json.dumps({"mean": [0.5, 0.5, 0.5], "std": "0.25 0.25 0.25"}))
    estimator = DepthEstimator(model_path=copy)
    assert estimator.spec.mean == (0.5, 0.5, 0.5) and estimator.spec.std == (0.25, 0.25, 0.25)
    white = estimator.prepare(np.full((64, 64, 3), 255, np.uint8)).tensor
    np.testing.assert_allclose(white, 2.0)  # (1 - 0.5) / 0.25

    (tmp_path / "with_sidecar.onnx.json").write_text('{"mean": [1, 2]}')
    with pytest.raises(ModelError, match="three numbers"):
        DepthEstimator(model_path=copy)


def test_importing_the_engine_loads_neither_onnxruntime_nor_bpy():
    code = "import sys, addon.depth; print(sorted({'onnxruntime', 'bpy', 'onnx'} & set(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, check=True)
    assert run.stdout.strip() == "[]"


def test_sessions_are_cached_until_the_model_file_changes(tmp_path, tiny_model_path):
    copy = shutil.copy(tiny_model_path, tmp_path / "cached.onnx")
    first = inference.load_session(copy)
    assert inference.load_session(copy) is first
    assert inference.load_session(copy, "CPU") is not first  # cached per device too
    os.utime(copy, ns=(1, 1))
    assert inference.load_session(copy) is not first
    assert not inference.accelerator_available("CPU")
