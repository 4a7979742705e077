"""Helpers shared by the geometry tests: synthetic photos and depth maps, evaluated meshes, renders."""

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")

from addon import node_group
from addon.depth import DepthResult


def smooth_depth(width, height):
    """Relative inverse depth in 0..1 without jumps (row 0 = top)."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return (0.5 + 0.3 * np.sin(x / width * 5.0) * np.cos(y / height * 3.0) + 0.1 * x / width).astype(np.float32)


def write_photo(path, width, height):
    y, x = np.mgrid[0:height, 0:width]
    pixels = np.stack([x * 255 // (width - 1), y * 255 // (height - 1), (x + y) * 255 // (width + height - 2)], axis=-1)
    Image.fromarray(pixels.astype(np.uint8)).save(path)
    return pixels.astype(np.uint8)


def depth_result(depth, kind="INVERSE"):
    height, width = depth.shape
    return DepthResult(depth=depth, kind=kind, model_id="test", photo_size=(width, height), focal_length_35mm=None)


# Every kind of datablock the add-on creates: a refused or failed build must leave all these counts unchanged.
COUNTED_DATA = ("objects", "meshes", "images", "materials", "node_groups", "cameras", "libraries")


def datablock_counts():
    return {name: len(getattr(bpy.data, name)) for name in COUNTED_DATA}


def evaluated_positions(obj) -> np.ndarray:
    """The evaluated mesh's vertex positions, (V, 3) float32, in the object's space."""
    evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.to_mesh()
    try:
        positions = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
        mesh.vertices.foreach_get("co", positions)
        return positions.reshape(-1, 3)
    finally:
        evaluated.to_mesh_clear()


def evaluated_mesh(obj):
    """Positions (V, 3), per-vertex UVs (V, 2), faces as vertex index lists and the set of face materials."""
    evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.to_mesh()
    try:
        positions = np.empty(len(mesh.vertices) * 3)
        mesh.vertices.foreach_get("co", positions)
        corner_uvs = np.empty(len(mesh.loops) * 2)
        mesh.uv_layers[node_group.UV_MAP_NAME].data.foreach_get("uv", corner_uvs)
        corner_vertices = np.empty(len(mesh.loops), dtype=np.int64)
        mesh.loops.foreach_get("vertex_index", corner_vertices)
        uvs = np.zeros((len(mesh.vertices), 2))
        uvs[corner_vertices] = corner_uvs.reshape(-1, 2)
        faces = [list(polygon.vertices) for polygon in mesh.polygons]
        face_materials = {mesh.materials[polygon.material_index].original for polygon in mesh.polygons}
        return positions.reshape(-1, 3), uvs, faces, face_materials
    finally:
        evaluated.to_mesh_clear()


def psnr(a, b) -> float:
    """PSNR in dB between two 8-bit images (inf when equal)."""
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255.0**2 / mse)


def render_from_scene_camera(scene, width, height, folder) -> np.ndarray:
    """A Cycles render (HxWx3 uint8) of the scene from its camera, each pixel sampled at its centre, against a
    magenta world: any pixel the mesh leaves uncovered shows, even in the photo's dark areas."""
    scene.world = bpy.data.worlds.new("Magenta")
    scene.world.color = (1.0, 0.0, 1.0)
    if scene.world.node_tree is not None:  # from Blender 5.0 every world uses nodes
        scene.world.node_tree.nodes["Background"].inputs["Color"].default_value = (1.0, 0.0, 1.0, 1.0)
    scene.render.engine = "CYCLES"
    scene.cycles.device = "CPU"
    scene.cycles.samples = 4
    scene.cycles.use_adaptive_sampling = False
    scene.cycles.use_denoising = False
    scene.cycles.filter_width = 0.01  # every sample at the pixel centre: no blur across pixels
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = width, height, 100
    scene.render.dither_intensity = 0.0  # the view transform is the add-on's: it set up this camera
    scene.render.image_settings.file_format = "PNG"
    scene.render.image_settings.color_mode = "RGB"
    scene.render.filepath = str(Path(folder) / "render.png")
    bpy.ops.render.render(write_still=True)
    return np.asarray(Image.open(scene.render.filepath).convert("RGB"))
