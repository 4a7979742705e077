"""tools/bench_views.py: its metrics on known inputs, and its core on a tiny size (camera conversion checked by
the photo object reproducing the photo from the photo camera)."""

import math

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from tests.tool_scripts import load_tool

pytestmark = pytest.mark.blender


@pytest.fixture(scope="module")
def bench():
    return load_tool("bench_views")


def textured_image(height=48, width=64):
    y, x = np.mgrid[0:height, 0:width]
    return np.stack([127 + 100 * np.sin(x / 3.0), 127 + 100 * np.cos(y / 4.0), (x * y) % 256], axis=-1).astype(float)


def test_metrics_on_known_inputs(bench):
    image = textured_image()
    assert bench.psnr(image, image) == math.inf
    assert bench.ssim(bench.luminance(image), bench.luminance(image)) == pytest.approx(1.0)
    assert bench.psnr(image + 1.0, image) == pytest.approx(20 * math.log10(255.0))
    noisy = image + np.random.default_rng(0).normal(0, 20, image.shape)
    assert bench.ssim(bench.luminance(noisy), bench.luminance(image)) < 0.9

    # A hole (alpha 0) is black and counted where the truth has geometry; the mask limits "visible" PSNR.
    rgba = np.concatenate([image, np.full((*image.shape[:2], 1), 255.0)], axis=-1)
    rgba[:, :16, 3] = 0.0
    has_geometry = np.ones(image.shape[:2], bool)
    visible = np.zeros(image.shape[:2], bool)
    visible[:, 16:] = True
    metrics = bench.measure(rgba, image, has_geometry, visible)
    assert metrics["holes"] == pytest.approx(25.0)
    assert metrics["psnr_visible"] == math.inf
    assert metrics["psnr"] == pytest.approx(bench.psnr(np.where(visible[..., None], image, 0.0), image))


def test_scene_sees_its_own_photo_points(bench):
    camera = bench.synthetic.Camera(48, 36)
    traced = bench.synthetic.trace(camera, 1)
    assert np.isfinite(traced.depth).all() and traced.depth.min() > 1.0
    assert bench.synthetic.seen_from(camera, traced.points).all()
    # Trucked sideways, part of what the moved camera sees was hidden behind foreground or outside the frame.
    moved = bench.camera_moves(camera)["truck-left"]
    seen = bench.synthetic.seen_from(camera, bench.synthetic.trace(moved, 1).points)
    assert 0.8 < seen.mean() < 1.0


def test_tiny_run_reproduces_the_photo_and_renders_moves(bench, factory_scene):
    results = bench.run_bench((64, 48), ["truck-left"], ["old", "exact", "quarter-refined"], log=lambda line: None)

    exact = results["exact"]
    assert exact["photo camera"]["psnr"] > 40.0
    assert exact["photo camera"]["holes"] == 0.0
    truck = exact["truck-left"]
    assert truck["psnr_visible"] > 25.0 and 0.5 < truck["ssim"] < 1.0
    assert 0.0 < truck["holes"] < 10.0  # tears and the frame's border open holes
    # The old recipe displaces parallel to the view axis: it cannot reproduce the photo from its camera.
    assert results["old"]["photo camera"]["psnr"] < exact["photo camera"]["psnr"] - 10.0
    refined = results["quarter-refined"]
    has_refine = "refine_edges" in bpy.ops.mesh.monocular_photo_add.get_rna_type().properties
    assert isinstance(refined, dict) if has_refine else refined == "n/a (operator has no refine_edges)"
    assert "n/a" in bench.table(results) or has_refine


def test_variant_options_follow_the_operators_properties(bench, factory_scene):
    assert bench.operator_options({"builder": "operator", "depth": "exact", "tear_threshold": 0.2}) == {
        "tear_threshold": 0.2
    }
    assert bench.operator_options({"builder": "operator", "depth": "exact", "no_such_switch": False}) == {}
    with pytest.raises(bench.NotAvailable, match=r"n/a \(operator has no no_such_switch\)"):
        bench.operator_options({"builder": "operator", "depth": "exact", "no_such_switch": True})
