"""Blender fixtures shared by the tests in tests/blender/."""

import pytest

bpy = pytest.importorskip("bpy")

import addon


@pytest.fixture
def factory_scene():
    """An empty factory-settings file with the add-on registered; unregistered again afterwards."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    yield bpy.context.scene
    addon.unregister()
