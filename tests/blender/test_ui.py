"""Registration, preferences, the N-panel's inputs and the menu entry, with real bpy."""

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")
import addon_utils

import addon
from addon import node_group, preferences
from addon.depth import (
    DEFAULT_MODEL_ID,
    models,
    paths,
)
from addon.registration import classes
from addon.ui import menus, sidebar

pytestmark = pytest.mark.blender


def add_mesh_menu_entries():
    """Our draw functions currently appended to Add > Mesh."""
    return [draw for draw in bpy.types.VIEW3D_MT_mesh_add._dyn_ui_initialize() if draw is menus.draw_add_mesh_entry]


def handler_counts():
    """How many functions each bpy.app.handlers list holds."""
    handlers = {name: getattr(bpy.app.handlers, name) for name in dir(bpy.app.handlers)}
    return {name: len(functions) for name, functions in handlers.items() if isinstance(functions, list)}


def node_asset_libraries():
    """Asset libraries (user preferences) that list the bundled node-group folder."""
    libraries = bpy.context.preferences.filepaths.asset_libraries
    return [library for library in libraries if Path(library.path) == paths.NODE_ASSETS_DIR]


def assert_unregistered():
    for cls in classes:
        assert not cls.is_registered, cls.__name__
    assert not hasattr(bpy.types, "MESH_OT_monocular_photo_add")
    assert "monocular_photo" not in bpy.types.Object.bl_rna.properties
    assert add_mesh_menu_entries() == []
    assert node_asset_libraries() == []


def test_the_users_installed_extensions_are_out_of_reach():
    """tests/conftest.py gives Blender an empty extensions folder: an installed copy cannot shadow the checkout."""
    user_extensions = Path(os.environ["BLENDER_USER_EXTENSIONS"])
    assert user_extensions.name.startswith("monocular-photo-test-extensions-")
    assert Path(bpy.utils.user_resource('EXTENSIONS')).resolve() == user_extensions.resolve()
    assert Path(addon.__file__).resolve().parent == Path(__file__).resolve().parents[2] / "addon"


def test_register_unregister_five_times_leaks_nothing():
    assert_unregistered()
    handlers = handler_counts()
    for _ in range(5):
        addon.register()
        try:
            assert all(cls.is_registered for cls in classes)
            assert "monocular_photo" in bpy.types.Object.bl_rna.properties
            assert len(add_mesh_menu_entries()) == 1
            assert len(node_asset_libraries()) == 1
            assert hasattr(bpy.types, "MESH_OT_monocular_photo_add")
        finally:
            addon.unregister()
        assert_unregistered()
    assert handler_counts() == handlers


def test_node_group_is_an_asset_in_a_library_while_enabled():
    addon.register()
    try:
        (library,) = node_asset_libraries()
        assert library.name == "Monocular Photo"
        assert library.import_method in {'APPEND_REUSE', 'PACK'}  # reuse, not duplicate (4.x / 5.x names)
        with bpy.data.libraries.load(str(paths.NODE_ASSET_BLEND), assets_only=True) as (data_from, _data_to):
            assert node_group.GROUP_NAME in data_from.node_groups
    finally:
        addon.unregister()
    assert node_asset_libraries() == []


def test_a_library_the_user_made_for_the_folder_is_left_alone():
    libraries = bpy.context.preferences.filepaths.asset_libraries
    user_library = libraries.new(name="My Nodes", directory=str(paths.NODE_ASSETS_DIR))
    try:
        addon.register()
        addon.unregister()
        assert [library.name for library in node_asset_libraries()] == ["My Nodes"]
    finally:
        libraries.remove(user_library)


def test_preferences_defaults_when_not_enabled():
    addon.register()
    try:
        assert preferences.MonocularPhotoPreferences.bl_idname == "addon"
        values = preferences.get_preferences()
        assert values == preferences.PreferenceValues()
        # Not an installed extension: no user folder, the checkout's onnx_models/ is the place.
        assert preferences.user_models_dir(values) is None
    finally:
        addon.unregister()


def test_user_models_dir_setting(tmp_path):
    values = preferences.PreferenceValues(models_directory=str(tmp_path))
    assert preferences.user_models_dir(values) == tmp_path


def test_model_enum_lists_the_registry_default_first():
    items = preferences.model_enum_items(None, None)
    assert items[0][0] == DEFAULT_MODEL_ID
    assert [item[0] for item in items] == [spec.id for spec in models.list_models()]
    assert preferences.model_enum_items(None, None) is items  # Blender keeps pointers into this list


@pytest.fixture
def enabled_addon():
    """The add-on enabled through addon_utils, so that its preferences exist."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon_utils.enable("addon", default_set=True, handle_error=None)
    yield bpy.context.preferences.addons["addon"].preferences
    addon_utils.disable("addon", default_set=True)


def test_device_preference_reaches_the_engine(enabled_addon, tmp_path, tiny_model_path, capfd):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.linspace(0, 255, 16 * 24 * 3).astype(np.uint8).reshape(16, 24, 3)).save(photo)
    enabled_addon.device = 'CUDA'
    assert preferences.get_preferences().device == 'CUDA'

    bpy.ops.mesh.monocular_photo_add(filepath=str(photo), model_filepath=str(tiny_model_path))

    obj = bpy.context.active_object
    # This machine's onnxruntime has no CUDA provider: the CPU ran it and the user is told why.
    assert obj.monocular_photo.provider == "CPUExecutionProvider"
    assert "CUDA was requested" in capfd.readouterr().out


def test_panel_shows_the_modifiers_live_inputs(enabled_addon, tmp_path):
    photo = tmp_path / "photo.png"
    Image.fromarray(np.full((16, 24, 3), 128, dtype=np.uint8)).save(photo)
    depth_file = tmp_path / "depth.npy"
    np.save(depth_file, np.full((16, 24), 0.5, dtype=np.float32))
    bpy.ops.mesh.monocular_photo_add(filepath=str(photo), depth_filepath=str(depth_file))
    modifier = bpy.context.active_object.modifiers[0]

    names = [item.name for item in sidebar.live_input_items(modifier.node_group)]

    for name in (
        node_group.DEPTH_SCALE,
        node_group.NEAR,
        node_group.FAR,
        node_group.RESOLUTION,
        node_group.TEAR_THRESHOLD,
        node_group.RELIEF,
    ):
        assert name in names
    assert node_group.DEPTH_IMAGE not in names and node_group.MATERIAL not in names
    assert sidebar.VIEW3D_PT_monocular_photo.bl_category == "Monocular Photo"


def test_registry_model_is_looked_up_in_the_user_models_folder(enabled_addon, tmp_path):
    if models.get_model().find_file() is not None:
        pytest.skip("the default model is installed here, so it is not looked up elsewhere")
    photo = tmp_path / "photo.png"
    Image.fromarray(np.linspace(0, 255, 16 * 24 * 3).astype(np.uint8).reshape(16, 24, 3)).save(photo)
    user_models = tmp_path / "my models"
    user_models.mkdir()
    enabled_addon.models_directory = str(user_models)

    with pytest.raises(RuntimeError, match=f"{DEFAULT_MODEL_ID}.*is not installed.*{user_models}"):
        bpy.ops.mesh.monocular_photo_add(filepath=str(photo))


def test_model_menus_mark_the_models_that_are_not_installed(enabled_addon, tmp_path):
    user_models = tmp_path / "my models"
    user_models.mkdir()
    enabled_addon.models_directory = str(user_models)
    spec = next(spec for spec in models.list_models() if spec.find_file() is None)

    def label():
        return {item[0]: item for item in preferences.model_enum_items(None, bpy.context)}[spec.id][1:]

    name, description = label()
    assert name == f"{spec.name} (not installed)"
    assert spec.file_name in description and spec.url in description and str(user_models) in description

    (user_models / spec.file_name).write_bytes(b"only its presence is checked here")
    assert label() == (spec.name, f"{spec.name} ({spec.license})")
