"""The shipped node_assets/monocular_photo.blend holds exactly the group that addon/node_group.py builds."""

import pytest

bpy = pytest.importorskip("bpy")

from addon import node_group  # noqa: E402
from addon.depth.paths import NODE_ASSET_BLEND  # noqa: E402

pytestmark = pytest.mark.blender

# UI state that says nothing about what the group computes.
IGNORED_PROPERTIES = {"rna_type", "name", "label", "location", "location_absolute", "width", "height",
                      "dimensions", "select", "show_options", "show_preview", "show_texture", "hide",
                      "mute", "parent", "color", "use_custom_color", "is_active_output", "warning_propagation",
                      "color_tag", "bl_width_default", "bl_width_min", "bl_width_max", "bl_height_default",
                      "bl_height_min", "bl_height_max", "internal_links", "inputs", "outputs", "type",
                      "bl_static_type", "bl_icon", "bl_label", "bl_description", "bl_idname"}


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
        (item.item_type, item.name, getattr(item, "in_out", None), getattr(item, "socket_type", None),
         item.identifier if item.item_type == "SOCKET" else None,
         *(_value(getattr(item, attribute, None)) for attribute in
           ("default_value", "min_value", "max_value", "subtype", "description", "force_non_field")))
        for item in group.interface.items_tree
    ]
    nodes = {
        node.name: (node.bl_idname, _properties(node),
                    {socket.identifier: _value(socket.default_value) for socket in node.inputs
                     if socket.enabled and not socket.is_linked and hasattr(socket, "default_value")})
        for node in group.nodes
    }
    links = sorted((link.from_node.name, link.from_socket.identifier, link.to_node.name, link.to_socket.identifier)
                   for link in group.links)
    return {"interface": interface, "nodes": nodes, "links": links, "is_modifier": group.is_modifier,
            "version": group[node_group.VERSION_PROPERTY], "description": group.description}


@pytest.fixture
def empty_file():
    bpy.ops.wm.read_factory_settings(use_empty=True)


def load_shipped_group():
    with bpy.data.libraries.load(str(NODE_ASSET_BLEND), link=False) as (data_from, data_to):
        data_to.node_groups = [node_group.GROUP_NAME]
    return data_to.node_groups[0]


def test_shipped_blend_matches_the_source(empty_file):
    shipped = describe(load_shipped_group())
    built = describe(node_group.build_node_group("Fresh Build"))
    assert shipped["interface"] == built["interface"]
    assert shipped["links"] == built["links"]
    assert shipped == built, "node_assets/monocular_photo.blend is stale: run tools/build_node_assets.py"


def test_shipped_group_is_a_geometry_nodes_modifier_asset(empty_file):
    group = load_shipped_group()
    assert group.asset_data is not None
    assert group.bl_idname == "GeometryNodeTree" and group.is_modifier
    assert node_group.is_monocular_photo_group(group, current_version=True)
    assert list(node_group.INPUT_NAMES) == [
        item.name for item in group.interface.items_tree if item.item_type == "SOCKET" and item.in_out == "INPUT"]


def test_input_identifiers_are_stable(empty_file):
    """Scripts and drivers address modifier inputs by identifier: reordering the inputs would break them."""
    group = load_shipped_group()
    identifiers = {name: node_group.input_identifier(group, name) for name in node_group.INPUT_NAMES}
    assert identifiers == {name: f"Socket_{index}" for index, name in enumerate(node_group.INPUT_NAMES, start=1)}
