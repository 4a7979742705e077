"""Each live input is declared once (addon/live_inputs.py): the group interface, the add operator, the values set
on the modifier and the N-panel all come from that table."""

import numpy as np
import pytest
from PIL import Image

bpy = pytest.importorskip("bpy")

import addon
from addon import live_inputs, node_group, photo_object
from addon.ui import sidebar

pytestmark = pytest.mark.blender


class RecordingLayout:
    """Stands in for the N-panel's UILayout (which exists only while Blender draws a region): records what
    `sidebar.draw_live_inputs` puts in it."""

    def __init__(self):
        self.labels, self.props = [], []

    def panel(self, _idname, default_closed=False):
        return self, self

    def label(self, text="", **_kwargs):
        self.labels.append(text)

    def prop(self, data, path, text=""):
        self.props.append((text, data.path_resolve(path)))


def operator_rna_property(attribute):
    return bpy.ops.mesh.monocular_photo_add.get_rna_type().properties[attribute]


def group_socket(group, name):
    return next(
        item
        for item in group.interface.items_tree
        if item.item_type == "SOCKET" and item.in_out == "INPUT" and item.name == name
    )


@pytest.fixture
def registered():
    bpy.ops.wm.read_factory_settings(use_empty=True)
    addon.register()
    yield
    addon.unregister()


@pytest.fixture
def dummy_input(monkeypatch):
    """One more live input, added the way a developer adds one: a single entry in the table."""
    spec = live_inputs.LiveInput(
        "dummy_control",
        "Dummy Control",
        len(node_group.input_names()) + 1,
        "FLOAT",
        0.25,
        "A control that only this test has",
        "Mesh",
        minimum=0.0,
        maximum=2.0,
        soft_maximum=1.0,
    )
    monkeypatch.setattr(live_inputs, "LIVE_INPUTS", [*live_inputs.LIVE_INPUTS, spec])
    return spec


def test_operator_and_group_agree_on_every_live_input(registered):
    group = node_group.build_node_group()
    for spec in live_inputs.LIVE_INPUTS:
        socket, prop = group_socket(group, spec.name), operator_rna_property(spec.attribute)
        assert socket.identifier == spec.identifier
        assert prop.name == spec.name and socket.description == prop.description == spec.description
        assert socket.default_value == pytest.approx(spec.default) and prop.default == pytest.approx(spec.default)
        if spec.kind != "BOOLEAN":
            assert (socket.min_value, socket.max_value) == pytest.approx((spec.minimum, spec.maximum))
            assert (prop.hard_min, prop.hard_max) == pytest.approx((spec.minimum, spec.maximum))


def test_a_live_input_added_to_the_table_reaches_group_operator_and_panel(dummy_input, registered, tmp_path):
    group = node_group.build_node_group()  # the add operator reuses this group: it is of the current version
    socket = group_socket(group, "Dummy Control")
    assert socket.identifier == dummy_input.identifier and socket.default_value == pytest.approx(0.25)
    mesh_panel = next(item for item in group.interface.items_tree if item.item_type == "PANEL" and item.name == "Mesh")
    assert "Dummy Control" in [item.name for item in mesh_panel.interface_items]

    prop = operator_rna_property("dummy_control")
    assert (prop.name, prop.default, prop.hard_max, prop.soft_max) == ("Dummy Control", pytest.approx(0.25), 2.0, 1.0)

    photo = tmp_path / "photo.png"
    Image.fromarray(np.full((12, 16, 3), 90, dtype=np.uint8)).save(photo)
    depth_file = tmp_path / "depth.npy"
    np.save(depth_file, np.full((12, 16), 0.5, dtype=np.float32))
    bpy.ops.mesh.monocular_photo_add(filepath=str(photo), depth_filepath=str(depth_file), dummy_control=0.75)
    modifier = photo_object.photo_modifier(bpy.context.active_object)
    assert modifier.node_group == group
    assert photo_object.modifier_input(modifier, "Dummy Control") == pytest.approx(0.75)

    layout = RecordingLayout()
    sidebar.draw_live_inputs(layout, modifier)
    assert layout.labels == list(live_inputs.PANELS)
    assert ("Dummy Control", pytest.approx(0.75)) in layout.props
    assert [text for text, _value in layout.props] == [
        spec.name for panel in live_inputs.PANELS for spec in live_inputs.LIVE_INPUTS if spec.panel == panel
    ]


def test_settings_take_every_live_input_from_the_table(dummy_input):
    settings = photo_object.PhotoObjectSettings(near=2.0)
    assert settings.near == 2.0 and settings.dummy_control == 0.25
    assert settings.inputs == {**live_inputs.defaults(), "near": 2.0}
    with pytest.raises(TypeError, match="no live input nearness"):
        photo_object.PhotoObjectSettings(nearness=2.0)
