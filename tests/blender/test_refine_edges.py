"""Edge refinement seen in Blender: a coarse depth map of a square in front of a background builds a mesh
whose torn silhouette leaves nothing floating between them, which still shows the photo whole from its own
camera; the add operator and Re-estimate take `refine_edges` and record it."""

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")

from geometry_helpers import evaluated_mesh

from addon import photo_object
from addon.depth.jobs import DepthRequest
from addon.photo_object import PhotoObjectSettings

pytestmark = pytest.mark.blender

WIDTH, HEIGHT = 128, 96
NEAR_DEPTH, FAR_DEPTH = 0.8, 0.2  # relative inverse depth of the square and the background


def square_scene(tmp_path):
    """The photo (an orange square on a blue background, sensor noise) and its exact depth box-averaged to a
    quarter of the photo's resolution, the coarse map a network gives, written as files."""
    y, x = np.mgrid[0:HEIGHT, 0:WIDTH]
    square = (x >= 45) & (x < 86) & (y >= 30) & (y < 63)  # edges at every offset within a coarse pixel
    noise = np.random.default_rng(0).normal(0.0, 5.0, (HEIGHT, WIDTH, 3))
    pixels = np.where(square[:, :, None], (205.0, 150.0, 60.0), (40.0, 90.0, 160.0)) + noise
    photo = tmp_path / "square.png"
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(photo)
    exact = np.where(square, NEAR_DEPTH, FAR_DEPTH).astype(np.float32)
    coarse = exact.reshape(HEIGHT // 4, 4, WIDTH // 4, 4).mean(axis=(1, 3))
    depth = tmp_path / "square_depth.npy"
    np.save(depth, coarse)
    return photo, depth


def distance(inverse_depth, settings):
    return 1.0 / (1.0 / settings.far + inverse_depth * (1.0 / settings.near - 1.0 / settings.far))


def build(tmp_path, refine_edges):
    photo, depth = square_scene(tmp_path)
    # The front layer alone: the background layer lies behind it on purpose (tests/blender/test_background_layer.py).
    result = DepthRequest(str(photo), depth_path=str(depth), refine_edges=refine_edges, background_layer=False).run()
    settings = PhotoObjectSettings(resolution=WIDTH, add_camera=False)  # a vertex per photo pixel
    return photo_object.create_photo_object(bpy.context, photo, result, settings), settings


def floating_vertices(positions, faces, settings):
    """Vertices of faces that lie at neither the square's nor the background's distance."""
    used = np.unique(np.concatenate(faces))
    distances = -positions[used, 2]
    sides = np.array([distance(NEAR_DEPTH, settings), distance(FAR_DEPTH, settings)])
    off = np.min(np.abs(distances[:, None] - sides) / sides, axis=1)
    return used[off > 1e-3]


def test_refined_silhouette_leaves_no_floating_fragments(factory_scene, tmp_path):
    obj, settings = build(tmp_path, refine_edges=True)
    assert obj.monocular_photo.refined_edges
    positions, _uvs, faces, _ = evaluated_mesh(obj)
    assert len(floating_vertices(positions, faces, settings)) == 0
    # Every face, torn patch or intact, lies wholly on one side: no face bridges square and background.
    for face in faces:
        distances = -positions[face, 2]
        assert distances.max() <= distances.min() * (1 + 1e-4)


def test_without_refinement_the_silhouette_has_floating_fragments(factory_scene, tmp_path):
    obj, settings = build(tmp_path, refine_edges=False)
    assert not obj.monocular_photo.refined_edges
    positions, _uvs, faces, _ = evaluated_mesh(obj)
    assert len(floating_vertices(positions, faces, settings)) > 50  # the ramps' in-between depths


def covered_pixels(positions, faces, settings, columns, rows):
    """Which photo pixels' centres the faces cover, seen from the photo's camera: every vertex lies on the
    camera ray of a grid point, so each face projects to an axis-aligned rectangle of the frame."""
    frame = settings.sensor_width / settings.focal_length  # the longer side at distance 1
    u = (positions[:, 0] / -positions[:, 2]) / frame + 0.5
    v = (positions[:, 1] / -positions[:, 2]) / (frame * rows / columns) + 0.5
    centres_u = (np.arange(columns) + 0.5) / columns
    centres_v = (np.arange(rows) + 0.5) / rows
    covered = np.zeros((rows, columns), dtype=bool)
    tolerance = 1e-6
    for face in faces:
        us, vs = u[face], v[face]
        inside_u = (centres_u >= us.min() - tolerance) & (centres_u <= us.max() + tolerance)
        inside_v = (centres_v >= vs.min() - tolerance) & (centres_v <= vs.max() + tolerance)
        covered[np.ix_(inside_v, inside_u)] = True
    return covered


def test_refined_photo_object_still_covers_every_pixel_from_its_camera(factory_scene, tmp_path):
    obj, settings = build(tmp_path, refine_edges=True)
    positions, uvs, faces, _ = evaluated_mesh(obj)
    assert covered_pixels(positions, faces, settings, WIDTH, HEIGHT).all()
    # And each point shows its own pixel: its UV is where it projects.
    used = np.unique(np.concatenate(faces))
    frame = settings.sensor_width / settings.focal_length
    projected_u = (positions[used, 0] / -positions[used, 2]) / frame + 0.5
    np.testing.assert_allclose(projected_u, uvs[used, 0], atol=1e-5)


@pytest.mark.parametrize("refine_edges", [True, False])
def test_add_operator_takes_refine_edges_and_records_it(factory_scene, tmp_path, refine_edges):
    photo, depth = square_scene(tmp_path)
    result = bpy.ops.mesh.monocular_photo_add(filepath=str(photo), depth_filepath=str(depth), refine_edges=refine_edges)
    assert result == {'FINISHED'}
    obj = bpy.context.active_object
    assert obj.monocular_photo.refined_edges == refine_edges
    image = photo_object.depth_image(obj)
    assert tuple(image.size) == ((WIDTH, HEIGHT) if refine_edges else (WIDTH // 4, HEIGHT // 4))


def test_add_operator_reports_a_depth_file_of_another_aspect(factory_scene, tmp_path):
    photo, _ = square_scene(tmp_path)
    square_depth = tmp_path / "square_map.npy"
    np.save(square_depth, np.full((32, 32), 0.5, dtype=np.float32))
    bpy.ops.mesh.monocular_photo_add(filepath=str(photo), depth_filepath=str(square_depth), refine_edges=False)
    width, height = photo_object.depth_image(bpy.context.active_object).size
    assert (width, height) == (32, 24)  # the photo's 4:3, not the file's 1:1


def test_reestimate_takes_refine_edges_and_records_it(factory_scene, tmp_path, tiny_model_path):
    photo, depth = square_scene(tmp_path)
    bpy.ops.mesh.monocular_photo_add(filepath=str(photo), depth_filepath=str(depth), refine_edges=False)
    obj = bpy.context.active_object
    assert not obj.monocular_photo.refined_edges
    assert bpy.ops.object.monocular_photo_reestimate(model_filepath=str(tiny_model_path)) == {'FINISHED'}
    assert obj.monocular_photo.refined_edges
    assert bpy.ops.object.monocular_photo_reestimate(model_filepath=str(tiny_model_path), refine_edges=False) == {
        'FINISHED'
    }
    assert not obj.monocular_photo.refined_edges
