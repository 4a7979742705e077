"""The shipped node_assets/monocular_photo.blend holds exactly the group that addon/node_group.py builds."""

import pytest

bpy = pytest.importorskip("bpy")

from addon import live_inputs, node_group
from addon.depth.paths import NODE_ASSET_BLEND

pytestmark = pytest.mark.blender

# UI state that says nothing about what the group computes.
IGNORED_PROPERTIES = {
    "rna_type",
    "name",
    "label",
    "location",
    "location_absolute",
    "width",
    "height",
    "dimensions",
    "select",
    "show_options",
    "show_preview",
    "show_texture",
    "hide",
    "mute",
    "parent",
    "color",
    "use_custom_color",
    "is_active_output",
    "warning_propagation",
    "color_tag",
    "bl_width_default",
    "bl_width_min",
    "bl_width_max",
    "bl_height_default",
    "bl_height_min",
    "bl_height_max",
    "internal_links",
    "inputs",
    "outputs",
    "type",
    "bl_static_type",
    "bl_icon",
    "bl_label",
    "bl_description",
    "bl_idname",
}


def _value(value):
    if hasattr(value, "name") and isinstance(value, bpy.types.ID):
        return value.name
    if hasattr(value, "__len__") and not isinstance(value, str):
        return tuple(round(item, 6) if isinstance(item, float) else item for item in value)
    return round(value, 6) if isinstance(value, float) else value


def _properties(struct):
    return {
        prop.identifier: _value(getattr(struct, prop.identifier))
        for prop in struct.bl_rna.properties
        if prop.identifier not in IGNORED_PROPERTIES and prop.type != "POINTER" and prop.type != "COLLECTION"
    }


def describe(group):
    """A canonical dump of what the group computes: interface, nodes with settings and defaults, links."""
    interface = [
        (
            item.item_type,
            item.name,
            getattr(item, "in_out", None),
            getattr(item, "socket_type", None),
            item.identifier if item.item_type == "SOCKET" else None,
            *(
                _value(getattr(item, attribute, None))
                for attribute in (
                    "default_value",
                    "min_value",
                    "max_value",
                    "subtype",
                    "description",
                    "force_non_field",
                )
            ),
        )
        for item in group.interface.items_tree
    ]
    nodes = {
        node.name: (
            node.bl_idname,
            _properties(node),
            {
                socket.identifier: _value(socket.default_value)
                for socket in node.inputs
                if socket.enabled and not socket.is_linked and hasattr(socket, "default_value")
            },
            describe(node.node_tree) if getattr(node, "node_tree", None) is not None else None,
            node.parent.name if node.parent is not None else None,
        )
        for node in group.nodes
    }
    links = sorted(
        (link.from_node.name, link.from_socket.identifier, link.to_node.name, link.to_socket.identifier)
        for link in group.links
    )
    return {
        "interface": interface,
        "nodes": nodes,
        "links": links,
        "is_modifier": group.is_modifier,
        "version": group.get(node_group.VERSION_PROPERTY),
        "description": group.description,
    }


@pytest.fixture
def empty_file():
    bpy.ops.wm.read_factory_settings(use_empty=True)


def load_shipped_group():
    with bpy.data.libraries.load(str(NODE_ASSET_BLEND), link=False) as (_data_from, data_to):
        data_to.node_groups = [node_group.GROUP_NAME]
    return data_to.node_groups[0]


def test_shipped_blend_matches_the_source(empty_file):
    shipped = describe(load_shipped_group())
    built = describe(node_group.build_node_group("Fresh Build"))
    assert shipped["interface"] == built["interface"]
    assert shipped["links"] == built["links"]
    assert shipped == built, "node_assets/monocular_photo.blend is stale: run tools/release/build_node_assets.py"


def test_shipped_group_is_a_geometry_nodes_modifier_asset(empty_file):
    group = load_shipped_group()
    assert group.asset_data is not None
    assert group.bl_idname == "GeometryNodeTree" and group.is_modifier
    assert node_group.is_monocular_photo_group(group, current_version=True)
    assert sorted(node_group.input_names()) == sorted(
        item.name for item in group.interface.items_tree if item.item_type == "SOCKET" and item.in_out == "INPUT"
    )


# The identifiers of group v5, the last group without interface panels.
V5_IDENTIFIERS = {
    "Depth Image": "Socket_1",
    "Metric Depth": "Socket_2",
    "Near": "Socket_3",
    "Far": "Socket_4",
    "Depth Scale": "Socket_5",
    "Resolution": "Socket_6",
    "Focal Length": "Socket_7",
    "Sensor Width": "Socket_8",
    "Tear Threshold": "Socket_9",
    "Relief": "Socket_10",
    "Material": "Socket_11",
}


def test_input_identifiers_are_stable(empty_file):
    """Scripts and drivers address modifier inputs by identifier: regrouping or reordering the inputs in the
    interface must not change them."""
    group = load_shipped_group()
    identifiers = {name: node_group.input_identifier(group, name) for name in node_group.input_names()}
    assert identifiers == {name: f"Socket_{index}" for index, name in enumerate(node_group.input_names(), start=1)}
    assert {name: identifiers[name] for name in V5_IDENTIFIERS} == V5_IDENTIFIERS


def test_every_node_sits_in_a_labelled_stage_frame(empty_file):
    group = load_shipped_group()
    sub_groups = [node.node_tree for node in group.nodes if node.bl_idname == "GeometryNodeGroup"]
    assert {tree.name for tree in sub_groups} == {node_group.DEPTH_SAMPLER_NAME}
    for tree in (group, *sub_groups):
        frames = [node for node in tree.nodes if node.bl_idname == "NodeFrame"]
        assert frames and all(frame.label and frame.parent is None for frame in frames)
        for node in tree.nodes:
            if node.bl_idname != "NodeFrame":
                assert node.parent in frames, f"{tree.name}: {node.name} is in no stage frame"
    stage_labels = [node.label for node in group.nodes if node.bl_idname == "NodeFrame"]
    assert stage_labels == [
        "Frame and Grid",
        "Depth",
        "Tearing",
        "UV Map",
        "Background Layer",
        "Projection",
        "Material",
    ]


def test_live_inputs_sit_in_interface_panels(empty_file):
    group = load_shipped_group()
    panels = {
        item.name: [child.name for child in item.interface_items]
        for item in group.interface.items_tree
        if item.item_type == "PANEL"
    }
    assert panels == {
        panel: [spec.name for spec in live_inputs.LIVE_INPUTS if spec.panel == panel] for panel in live_inputs.PANELS
    }
