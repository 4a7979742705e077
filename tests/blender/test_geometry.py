"""The photo object's evaluated geometry: unprojection through the camera, UVs, tearing, live inputs."""

import math

import numpy as np
import pytest

bpy = pytest.importorskip("bpy")

from geometry_helpers import depth_result, evaluated_mesh, smooth_depth, write_photo

from addon import node_group, photo_object
from addon.photo_object import PhotoObjectSettings

pytestmark = pytest.mark.blender

TOLERANCE = 1e-4  # relative; positions come from float32 image samples and node maths


def image_rows(depth):
    return depth[::-1].astype(np.float64)  # Blender rows start at the bottom


def bilinear(depth, u, v):
    """Bilinear between pixel centres at photo coordinates (u, v), edges extended, v = 0 at the bottom."""
    image = image_rows(depth)
    height, width = image.shape
    x = np.clip(u * width - 0.5, 0, width - 1)
    y = np.clip(v * height - 0.5, 0, height - 1)
    x0 = np.minimum(np.floor(x).astype(int), width - 2)
    y0 = np.minimum(np.floor(y).astype(int), height - 2)
    fx, fy = x - x0, y - y0
    top = image[y0, x0] * (1 - fx) + image[y0, x0 + 1] * fx
    bottom = image[y0 + 1, x0] * (1 - fx) + image[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def nearest(depth, u, v):
    """The pixel that photo coordinates (u, v) fall in, edges extended."""
    image = image_rows(depth)
    height, width = image.shape
    x = np.clip(np.floor(u * width).astype(int), 0, width - 1)
    y = np.clip(np.floor(v * height).astype(int), 0, height - 1)
    return image[y, x]


def sampled(depth, u, v, resolution):
    """What the group reads from the depth image for a vertex at (u, v): the nearest pixel while the grid is
    no finer than the image, bilinear beyond."""
    return (nearest if resolution <= max(depth.shape) else bilinear)(depth, u, v)


def grid_size(resolution, width, height):
    longer = max(width, height)
    # Blender's Math node rounds halves up (numpy's round would round them to even).
    return tuple(max(2, math.floor(resolution * side / longer + 0.5)) for side in (width, height))


def lattice_line(count):
    """Photo coordinates of the grid's vertices along one side: the photo plus the frame margin."""
    return np.linspace(-node_group.FRAME_MARGIN, 1 + node_group.FRAME_MARGIN, count)


def distance(depth_values, settings, kind="INVERSE"):
    if kind == "DEPTH":
        return depth_values
    inverse = 1.0 / settings.far + depth_values * (1.0 / settings.near - 1.0 / settings.far)
    return 1.0 / inverse


def expected_positions(depth, settings, u, v, kind="INVERSE"):
    """Unprojection of frame positions (u, v) through the photo's camera."""
    height, width = depth.shape
    longer = max(width, height)
    z = distance(sampled(depth, u, v, settings.resolution), settings, kind)
    z = settings.near + (z - settings.near) * settings.depth_scale
    ray_length = np.full_like(z, settings.near) if settings.relief else z
    sensor_over_focal = settings.sensor_width / settings.focal_length
    x = (u - 0.5) * sensor_over_focal * width / longer * ray_length
    y = (v - 0.5) * sensor_over_focal * height / longer * ray_length
    return np.stack([x, y, -z], axis=-1)


def add_photo_object(tmp_path, depth, kind="INVERSE", **settings):
    height, width = depth.shape
    photo_path = tmp_path / "photo.png"
    write_photo(photo_path, max(width, 8), max(height, 8))  # the photo's pixels do not matter here
    settings = PhotoObjectSettings(**settings)
    return photo_object.create_photo_object(bpy.context, photo_path, depth_result(depth, kind), settings), settings


@pytest.mark.parametrize("relief", [False, True])
@pytest.mark.parametrize(("resolution", "grid"), [(12, (12, 9)), (28, (28, 21))])  # coarser, finer than the image
def test_vertices_are_the_unprojected_depth_map(factory_scene, tmp_path, relief, resolution, grid):
    depth = smooth_depth(20, 15)
    obj, settings = add_photo_object(
        tmp_path,
        depth,
        resolution=resolution,
        focal_length=30.0,
        sensor_width=24.0,
        near=2.0,
        far=20.0,
        depth_scale=1.5,
        tear_threshold=0.0,
        relief=relief,
    )
    positions, uvs, faces, _ = evaluated_mesh(obj)

    columns, rows = grid_size(resolution, 20, 15)
    assert (columns, rows) == grid
    assert len(positions) == columns * rows and len(faces) == (columns - 1) * (rows - 1)
    # Each vertex carries the UV of its own frame position; the lattice covers the photo and the frame margin.
    lattice = np.stack(np.meshgrid(lattice_line(columns), lattice_line(rows)), axis=-1).reshape(-1, 2)
    np.testing.assert_allclose(np.array(sorted(map(tuple, uvs))), np.array(sorted(map(tuple, lattice))), atol=1e-6)
    expected = expected_positions(depth, settings, uvs[:, 0], uvs[:, 1])
    np.testing.assert_allclose(positions, expected, rtol=TOLERANCE, atol=TOLERANCE)


def frame_positions(positions, settings, width, height):
    """Where the camera (sensor fit AUTO: the longer side spans the sensor width) sees each position, 0..1."""
    longer = max(width, height)
    scale = settings.focal_length / settings.sensor_width / -positions[:, 2]
    return np.stack([positions[:, 0] * scale * longer / width, positions[:, 1] * scale * longer / height], -1) + 0.5


def test_each_vertex_projects_to_its_uv(factory_scene, tmp_path):
    depth = smooth_depth(16, 24)  # portrait: the sensor width spans the height
    obj, settings = add_photo_object(
        tmp_path, depth, resolution=10, focal_length=50.0, sensor_width=36.0, tear_threshold=0.0
    )
    positions, uvs, _, _ = evaluated_mesh(obj)
    np.testing.assert_allclose(frame_positions(positions, settings, 16, 24), uvs, atol=1e-5)


def test_metric_depth_is_taken_as_is(factory_scene, tmp_path):
    depth = 3.0 + 2.0 * smooth_depth(12, 9)
    obj, settings = add_photo_object(
        tmp_path, depth, kind="DEPTH", resolution=12, near=100.0, far=200.0, tear_threshold=0.0
    )
    positions, uvs, _, _ = evaluated_mesh(obj)
    np.testing.assert_allclose(
        -positions[:, 2], sampled(depth, uvs[:, 0], uvs[:, 1], settings.resolution), rtol=TOLERANCE
    )
    np.testing.assert_allclose(
        positions, expected_positions(depth, settings, uvs[:, 0], uvs[:, 1], "DEPTH"), rtol=TOLERANCE, atol=TOLERANCE
    )


def test_faces_across_the_threshold_are_torn_into_flat_patches(factory_scene, tmp_path):
    depth = smooth_depth(24, 16) * 0.2 + 0.2
    depth[4:12, 8:16] = 0.95  # a near block in front of the background
    threshold = 0.25
    obj, settings = add_photo_object(tmp_path, depth, resolution=24, near=1.0, far=10.0, tear_threshold=threshold)
    positions, uvs, faces, _ = evaluated_mesh(obj)

    columns, rows = grid_size(24, 24, 16)
    lattice_u, lattice_v = np.meshgrid(lattice_line(columns), lattice_line(rows))
    z = distance(sampled(depth, lattice_u, lattice_v, settings.resolution), settings)
    corners = np.stack([z[:-1, :-1], z[:-1, 1:], z[1:, :-1], z[1:, 1:]])
    expected_torn = corners.max(axis=0) > corners.min(axis=0) * (1 + threshold)
    assert 0 < expected_torn.sum() < expected_torn.size

    # Classify the evaluated faces by the grid cell their UV centre falls in and by whether they span it.
    steps = np.array([columns - 1, rows - 1])
    torn = np.zeros_like(expected_torn)
    patches_per_cell = np.zeros(expected_torn.shape, dtype=int)
    for face in faces:
        face_uvs = (uvs[face] + node_group.FRAME_MARGIN) / (1 + 2 * node_group.FRAME_MARGIN) * steps
        column, row = np.floor(face_uvs.mean(axis=0)).astype(int)
        spans_cell = np.allclose(face_uvs.max(axis=0) - face_uvs.min(axis=0), 1.0)
        if not spans_cell:
            torn[row, column] = True
            patches_per_cell[row, column] += 1
            # A patch is fronto-parallel at the distance of the grid corner it touches.
            corner = np.rint(face_uvs.mean(axis=0)).astype(int)
            np.testing.assert_allclose(positions[face, 2], -z[corner[1], corner[0]], rtol=TOLERANCE)
    np.testing.assert_array_equal(torn, expected_torn)
    assert set(patches_per_cell[expected_torn]) == {4}
    assert len(faces) == (~expected_torn).sum() + 4 * expected_torn.sum()
    # Patches and intact faces sit on the camera rays of their UVs: from the camera the photo stays whole.
    np.testing.assert_allclose(frame_positions(positions, settings, 24, 16), uvs, atol=1e-5)

    # Threshold 0 turns tearing off: back to the plain grid.
    photo_object.set_modifier_inputs(photo_object.photo_modifier(obj), {node_group.TEAR_THRESHOLD: 0.0})
    assert len(evaluated_mesh(obj)[2]) == expected_torn.size


def test_intact_faces_and_patches_are_smooth_shaded_for_the_lit_material(factory_scene, tmp_path):
    depth = np.full((12, 18), 0.1, dtype=np.float32)
    depth[:, 9] = 0.9
    obj, _ = add_photo_object(tmp_path, depth, resolution=18, tear_threshold=0.25, lit=True)
    mesh = obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).data
    assert len(mesh.polygons) > 17 * 11  # the patches are there
    assert all(polygon.use_smooth for polygon in mesh.polygons)


def test_a_thin_foreground_tears_off_whole_and_leaves_no_stray_faces(factory_scene, tmp_path):
    depth = np.full((12, 18), 0.1, dtype=np.float32)
    depth[:, 9] = 0.9  # a foreground column one pixel wide: every face touching it tears
    obj, settings = add_photo_object(tmp_path, depth, resolution=18, tear_threshold=0.25)
    positions, uvs, faces, _ = evaluated_mesh(obj)

    used = np.unique(np.concatenate(faces))
    loose = np.setdiff1d(np.arange(len(positions)), used)
    # The column's own vertices lost every face; they stay behind loose, on the camera rays of their pixels.
    assert len(loose) == 12
    # No face stretches between the foreground and the background any more.
    for face in faces:
        distances = -positions[face, 2]
        assert distances.max() <= distances.min() * (1 + settings.tear_threshold)
    # The foreground column is still shown, by the patches at its depth, and the camera sees the photo whole.
    column_distance = distance(np.float64(0.9), settings)
    near_patches = [face for face in faces if np.allclose(-positions[face, 2], column_distance, rtol=1e-4)]
    assert len(near_patches) == 11 * 2 * 2  # 11 segments, a torn face each side, two column corners each
    np.testing.assert_allclose(frame_positions(positions[used], settings, 18, 12), uvs[used], atol=1e-5)


def test_live_inputs_change_the_geometry(factory_scene, tmp_path):
    depth = smooth_depth(20, 10)
    obj, settings = add_photo_object(tmp_path, depth, resolution=8, tear_threshold=0.0)
    modifier = photo_object.photo_modifier(obj)
    positions, *_ = evaluated_mesh(obj)
    assert len(positions) == 8 * 4

    photo_object.set_modifier_inputs(modifier, {node_group.RESOLUTION: 20})
    assert len(evaluated_mesh(obj)[0]) == 20 * 10

    before, *_ = evaluated_mesh(obj)
    photo_object.set_modifier_inputs(modifier, {node_group.DEPTH_SCALE: 2.0})
    after, *_ = evaluated_mesh(obj)
    assert not np.allclose(before, after)
    # Depth scale stretches distances along the rays away from Near: the camera sees every vertex unchanged.
    np.testing.assert_allclose(-after[:, 2] - settings.near, 2.0 * (-before[:, 2] - settings.near), rtol=TOLERANCE)
    np.testing.assert_allclose(
        frame_positions(after, settings, 20, 10), frame_positions(before, settings, 20, 10), atol=1e-6
    )

    photo_object.set_modifier_inputs(modifier, {node_group.FAR: 50.0})
    assert evaluated_mesh(obj)[0][:, 2].min() < after[:, 2].min()


def test_material_is_set_and_shows_the_photo_through_the_uv_map(factory_scene, tmp_path):
    obj, _ = add_photo_object(tmp_path, smooth_depth(10, 10), resolution=4)
    *_, face_materials = evaluated_mesh(obj)
    assert len(face_materials) == 1
    evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get()).data
    assert [material.original for material in evaluated.materials] == [obj.active_material]
    nodes = face_materials.pop().node_tree.nodes
    assert {node.bl_idname for node in nodes} >= {"ShaderNodeUVMap", "ShaderNodeTexImage", "ShaderNodeEmission"}
    assert next(node for node in nodes if node.bl_idname == "ShaderNodeUVMap").uv_map == node_group.UV_MAP_NAME
    assert next(node for node in nodes if node.bl_idname == "ShaderNodeTexImage").image.filepath.endswith("photo.png")
