"""Camera-move paths as plain maths: start at the photo's viewpoint, smooth, loop, scale with the scene."""

import numpy as np
import pytest

from addon.depth.camera_paths import (
    LOOP_PRESETS,
    ONE_SHOT_PRESETS,
    PRESETS,
    SHIFT_PER_INTENSITY,
    SceneScale,
    camera_path,
    fill_extent,
    nearest_and_subject,
)

FRAMES = 150
PORTRAIT = SceneScale(nearest=1.0, subject=1.5, frame_width_per_distance=36.0 / 35.0)


def scaled(scale: SceneScale, factor: float) -> SceneScale:
    return SceneScale(scale.nearest * factor, scale.subject * factor, scale.frame_width_per_distance)


def travel(path) -> float:
    return float(np.abs(path.position).max())


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_starts_at_the_photo_viewpoint(preset):
    path = camera_path(preset, FRAMES, PORTRAIT)
    assert np.allclose(path.position[0], 0.0)
    assert path.yaw[0] == pytest.approx(0.0) and path.pitch[0] == pytest.approx(0.0)
    assert path.lens_factor[0] == pytest.approx(1.0)
    assert travel(path) > 0.01 * PORTRAIT.nearest  # it does move


@pytest.mark.parametrize("preset", PRESETS)
def test_paths_are_smooth(preset):
    """Second differences (acceleration per frame squared) stay a small fraction of the whole travel."""
    path = camera_path(preset, FRAMES, PORTRAIT)
    values = np.column_stack([path.position, path.yaw, path.lens_factor])
    if path.loops:  # across the loop's seam too
        values = np.vstack([values, values[:2]])
    acceleration = np.abs(np.diff(values, n=2, axis=0)).max()
    assert acceleration <= 50.0 / FRAMES**2 * max(np.ptp(values, axis=0).max(), 1e-9)


@pytest.mark.parametrize("preset", ONE_SHOT_PRESETS)
def test_one_shot_moves_ease_in_and_out(preset):
    path = camera_path(preset, FRAMES, PORTRAIT)
    step = np.abs(np.diff(path.position, axis=0)).max(axis=1)
    assert step[0] < 0.01 * step.max() and step[-1] < 0.01 * step.max()


@pytest.mark.parametrize("preset", LOOP_PRESETS)
def test_loops_return_to_the_start_with_matching_velocity(preset):
    path = camera_path(preset, FRAMES, PORTRAIT)
    # Frame N+1 would be frame 1: the step from the last frame to the first is like its neighbours'.
    closing = -path.position[-1]
    first, last = path.position[1] - path.position[0], path.position[-1] - path.position[-2]
    scale = travel(path)
    assert np.allclose(closing, first, atol=0.05 * scale) and np.allclose(closing, last, atol=0.05 * scale)


@pytest.mark.parametrize("preset", PRESETS)
def test_moves_scale_with_the_scene_depth(preset):
    near = camera_path(preset, FRAMES, scaled(PORTRAIT, 2.0))
    far = camera_path(preset, FRAMES, scaled(PORTRAIT, 200.0))
    assert np.allclose(far.position, 100.0 * near.position)
    assert np.allclose(far.yaw, near.yaw) and np.allclose(far.lens_factor, near.lens_factor)


@pytest.mark.parametrize("preset", ("HORIZONTAL", "VERTICAL", "CIRCLE"))
def test_sway_shifts_the_nearest_point_by_the_intensity(preset):
    for intensity in (0.5, 1.0, 2.0):
        path = camera_path(preset, FRAMES, PORTRAIT, intensity)
        sideways = np.abs(path.position[:, :2]).max()  # a sideways step t shifts a point at d by t / d
        shift = sideways / PORTRAIT.nearest / PORTRAIT.frame_width_per_distance
        expected = SHIFT_PER_INTENSITY * intensity * (2.0 if preset == "CIRCLE" else 1.0)
        assert shift == pytest.approx(expected, rel=0.01)


def test_zoom_in_shifts_the_frame_edge_by_the_intensity():
    path = camera_path("ZOOM_IN", FRAMES, PORTRAIT, 1.0)
    push = -path.position[-1, 2]
    edge_shift = 0.5 * PORTRAIT.nearest / (PORTRAIT.nearest - push) - 0.5  # a point at the edge, in frame widths
    assert edge_shift == pytest.approx(SHIFT_PER_INTENSITY)
    assert camera_path("ZOOM_OUT", FRAMES, PORTRAIT).position[-1, 2] > 0.0


def test_dolly_zoom_keeps_the_nearest_plane_size():
    path = camera_path("DOLLY_ZOOM", FRAMES, PORTRAIT, 2.0)
    distance = PORTRAIT.nearest + path.position[:, 2]  # the camera moves along -Z toward the plane
    assert np.allclose(path.lens_factor / distance, 1.0 / PORTRAIT.nearest)
    assert path.lens_factor[-1] < 0.9


def test_orbit_keeps_looking_at_the_subject():
    path = camera_path("ORBIT", FRAMES, PORTRAIT, 1.0)
    pivot = np.array([0.0, 0.0, -PORTRAIT.subject])
    to_pivot = pivot - path.position
    view = np.column_stack([-np.sin(path.yaw), np.zeros(FRAMES), -np.cos(path.yaw)])  # -Z turned by yaw about Y
    assert np.allclose(np.cross(view, to_pivot), 0.0, atol=1e-9)
    assert np.allclose(np.linalg.norm(to_pivot, axis=1), PORTRAIT.subject)


def test_unknown_preset_and_too_few_frames_are_refused():
    with pytest.raises(ValueError, match="Unknown camera move"):
        camera_path("SPIN", FRAMES, PORTRAIT)
    with pytest.raises(ValueError, match="at least 2 frames"):
        camera_path("ZOOM_IN", 1, PORTRAIT)


def test_nearest_and_subject_ignore_stray_points():
    distances = np.concatenate([np.full(1000, 5.0), np.linspace(2.0, 3.0, 1000), [0.001, -1.0, np.nan]])
    nearest, subject = nearest_and_subject(distances)
    assert 2.0 <= nearest < 2.1 and subject == pytest.approx(np.median(distances[np.isfinite(distances)][:-1]), 0.1)
    with pytest.raises(ValueError, match="no geometry"):
        nearest_and_subject(np.array([-1.0]))


def test_fill_crops_and_fit_letterboxes():
    photo = (1.5, 1.0)  # a 3:2 photo's half extents
    assert fill_extent(photo, 9 / 16, fit=False) == pytest.approx((9 / 16, 1.0))  # portrait crop: full height
    assert fill_extent(photo, 9 / 16, fit=True) == pytest.approx((1.5, 1.5 * 16 / 9))  # full width, bars
    assert fill_extent(photo, 2.0, fit=False) == pytest.approx((1.5, 0.75))
    assert fill_extent(photo, 2.0, fit=True) == pytest.approx((2.0, 1.0))
    assert fill_extent(photo, 1.5, fit=False) == pytest.approx(photo)
