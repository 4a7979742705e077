"""The "Monocular Photo" Geometry Nodes group: a depth image in, the photo's surface in its camera's frame out.

`build_node_group()` is the reviewable source of the group that `tools/build_node_assets.py` saves into
`node_assets/monocular_photo.blend`; the add-on appends it from there (see `photo_object.py`).

Frame convention (CONTRACT.md): the camera sits at the object's origin and looks down local -Z with +Y up.
The photo's longer side spans the sensor width (sensor fit AUTO). Inside the group a point is first kept in
"frame space": x, y = (u, v) in 0..1 across the photo (v = 0 at the bottom, like Blender images and UVs) and
z = its distance along the view axis. Only the last step puts it on its camera ray, so tearing and UVs work
on the undistorted frame and the projection is done once.
"""

import bpy

GROUP_NAME = "Monocular Photo"
# Bump when the group changes: photo objects made by an older add-on keep their own copy of the group.
GROUP_VERSION = 1
VERSION_PROPERTY = "monocular_photo_version"
UV_MAP_NAME = "UVMap"

# Group input names, in interface order (their identifiers are "Socket_1" ... in the same order).
DEPTH_IMAGE = "Depth Image"
METRIC_DEPTH = "Metric Depth"
NEAR = "Near"
FAR = "Far"
DEPTH_SCALE = "Depth Scale"
RESOLUTION = "Resolution"
FOCAL_LENGTH = "Focal Length"
SENSOR_WIDTH = "Sensor Width"
TEAR_THRESHOLD = "Tear Threshold"
RELIEF = "Relief"
MATERIAL = "Material"

# name, socket type, default, min, max, subtype, description
_INPUTS = (
    (DEPTH_IMAGE, "NodeSocketImage", None, None, None, None,
     "Float, non-colour depth image; row 0 at the bottom like every Blender image"),
    (METRIC_DEPTH, "NodeSocketBool", False, None, None, None,
     "The depth image holds distances along the view axis, not relative inverse depth (Near/Far unused)"),
    (NEAR, "NodeSocketFloat", 1.0, 1e-4, 1e6, "DISTANCE",
     "Distance of the nearest relative depth (inverse depth 1)"),
    (FAR, "NodeSocketFloat", 10.0, 1e-4, 1e6, "DISTANCE",
     "Distance of the farthest relative depth (inverse depth 0)"),
    (DEPTH_SCALE, "NodeSocketFloat", 1.0, 0.0, 100.0, "NONE",
     "Stretch depth along the camera rays away from the nearest point; the camera's view does not change"),
    (RESOLUTION, "NodeSocketInt", 256, 2, 8192, "NONE",
     "Vertices along the photo's longer side"),
    (FOCAL_LENGTH, "NodeSocketFloat", 35.0, 0.1, 5000.0, "NONE",
     "Focal length in millimetres, for the sensor width below"),
    (SENSOR_WIDTH, "NodeSocketFloat", 36.0, 0.1, 1000.0, "NONE",
     "Sensor size in millimetres along the photo's longer side"),
    (TEAR_THRESHOLD, "NodeSocketFloat", 0.1, 0.0, 100.0, "NONE",
     "Tear faces whose farthest corner is more than this fraction farther than their nearest (0: never tear)"),
    (RELIEF, "NodeSocketBool", False, None, None, None,
     "Bas-relief: displace a flat photo along the view axis instead of placing points on their camera rays"),
    (MATERIAL, "NodeSocketMaterial", None, None, None, None, "Material of the surface"),
)
INPUT_NAMES = tuple(spec[0] for spec in _INPUTS)


def is_monocular_photo_group(group, current_version=False) -> bool:
    """Whether `group` is a Monocular Photo group (of this add-on's version when `current_version`)."""
    if group is None or VERSION_PROPERTY not in group:
        return False
    return not current_version or group[VERSION_PROPERTY] == GROUP_VERSION


def input_identifier(group, name) -> str:
    """The identifier of group input `name`, the key of its value on a Geometry Nodes modifier."""
    for item in group.interface.items_tree:
        if item.item_type == "SOCKET" and item.in_out == "INPUT" and item.name == name:
            return item.identifier
    raise KeyError(f'Node group "{group.name}" has no input "{name}".')


def build_node_group(name=GROUP_NAME):
    """Create the group in `bpy.data` and return it (not marked as an asset; the build tool does that)."""
    group = bpy.data.node_groups.new(name, "GeometryNodeTree")
    group.is_modifier = True
    group.description = "The surface of a photo in its camera's frame, from a depth image"
    group[VERSION_PROPERTY] = GROUP_VERSION
    _build_interface(group)
    _build_nodes(_Builder(group))
    return group


def _build_interface(group):
    group.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    for name, socket_type, default, minimum, maximum, subtype, description in _INPUTS:
        socket = group.interface.new_socket(name, in_out="INPUT", socket_type=socket_type, description=description)
        if default is not None:
            socket.default_value = default
        if minimum is not None:
            socket.min_value, socket.max_value = minimum, maximum
        if subtype is not None:
            socket.subtype = subtype


class _Builder:
    """Adds named nodes and links; node names are stable so the shipped group can be compared to this source."""

    def __init__(self, group):
        self.tree = group
        self.column = 0
        self.row = 0
        self.group_input = self.node("NodeGroupInput", "Group Input")

    def node(self, bl_idname, name, inputs=(), **properties):
        """Add a node; `inputs` pairs input sockets (index or name) with a socket to link or a value to set."""
        node = self.tree.nodes.new(bl_idname)
        node.name = node.label = name
        for attribute, value in properties.items():
            setattr(node, attribute, value)
        for key, value in inputs:
            socket = _socket(node.inputs, key)
            if isinstance(value, bpy.types.NodeSocket):
                self.tree.links.new(value, socket)
            else:
                socket.default_value = value
        node.location = (self.column * 220.0, -self.row * 180.0)
        self.row += 1
        return node

    def next_column(self):
        self.column += 1
        self.row = 0

    def input(self, name):
        return _socket(self.group_input.outputs, name)

    def capture(self, name, domain, geometry, item_name, data_type, value):
        """A Capture Attribute node storing one field (its items are created, not set, so not a property)."""
        node = self.node("GeometryNodeCaptureAttribute", name, [("Geometry", geometry)], domain=domain)
        node.capture_items.new(data_type, item_name)
        self.tree.links.new(value, _socket(node.inputs, item_name))
        return node

    def math(self, name, operation, *operands):
        return self.node("ShaderNodeMath", name, enumerate(operands), operation=operation).outputs[0]


def _socket(sockets, key):
    """Socket by index or name; for nodes with one socket per data type, the one that is enabled."""
    if isinstance(key, int):
        return sockets[key]
    for socket in sockets:
        if socket.name == key and socket.enabled:
            return socket
    raise KeyError(key)


def _build_nodes(b: _Builder):
    # Grid size from the depth image's aspect: `resolution` vertices along its longer side.
    info = b.node("GeometryNodeImageInfo", "Depth Image Info", [("Image", b.input(DEPTH_IMAGE))])
    width, height = _socket(info.outputs, "Width"), _socket(info.outputs, "Height")
    longer_side = b.math("Longer Side", "MAXIMUM", width, height)
    width_fraction = b.math("Width Fraction", "DIVIDE", width, longer_side)
    height_fraction = b.math("Height Fraction", "DIVIDE", height, longer_side)
    vertices_x = b.math("Vertices X", "MAXIMUM", b.math("Round X", "ROUND", b.math(
        "Scaled X", "MULTIPLY", width_fraction, b.input(RESOLUTION))), 2.0)
    vertices_y = b.math("Vertices Y", "MAXIMUM", b.math("Round Y", "ROUND", b.math(
        "Scaled Y", "MULTIPLY", height_fraction, b.input(RESOLUTION))), 2.0)
    # Half-frame sizes on the image plane at distance 1: a frame coordinate u maps to (u - 0.5) * ray_x.
    ray_scale = b.math("Sensor Over Focal", "DIVIDE", b.input(SENSOR_WIDTH), b.input(FOCAL_LENGTH))
    ray_x = b.math("Ray Width", "MULTIPLY", width_fraction, ray_scale)
    ray_y = b.math("Ray Height", "MULTIPLY", height_fraction, ray_scale)
    # Relative inverse depth d maps to 1/z = 1/far + d * (1/near - 1/far): near for d = 1, far for d = 0,
    # linear in inverse depth so that planes in the scene stay planes.
    inverse_far = b.math("Inverse Far", "DIVIDE", 1.0, b.input(FAR))
    inverse_range = b.math("Inverse Range", "SUBTRACT", b.math("Inverse Near", "DIVIDE", 1.0, b.input(NEAR)), inverse_far)

    def distance_at(name, frame_position):
        """Distance along the view axis sampled from the depth image at a frame-space position."""
        texture = b.node(
            "GeometryNodeImageTexture", name + " Sample",
            [("Image", b.input(DEPTH_IMAGE)), ("Vector", frame_position)],
            interpolation="Linear", extension="EXTEND",
        )
        # Separate Color keeps the red channel exact; the implicit colour-to-float conversion is a luminance.
        value = _socket(b.node("FunctionNodeSeparateColor", name + " Value", [(0, _socket(texture.outputs, "Color"))]).outputs, "Red")
        relative = b.math(name + " Relative", "DIVIDE", 1.0, b.math(
            name + " Inverse", "MULTIPLY_ADD", value, inverse_range, inverse_far))
        return _socket(b.node(
            "GeometryNodeSwitch", name + " Kind", [(0, b.input(METRIC_DEPTH)), ("False", relative), ("True", value)],
            input_type="FLOAT",
        ).outputs, "Output")

    b.next_column()
    position = _socket(b.node("GeometryNodeInputPosition", "Position").outputs, "Position")
    grid = b.node("GeometryNodeMeshGrid", "Grid", [("Size X", 1.0), ("Size Y", 1.0),
                                                    ("Vertices X", vertices_x), ("Vertices Y", vertices_y)])
    frame_grid = b.node("GeometryNodeTransform", "Grid To Frame",
                        [("Geometry", _socket(grid.outputs, "Mesh")), ("Translation", (0.5, 0.5, 0.0))])
    grid_uv = b.node("ShaderNodeSeparateXYZ", "Grid Frame Position", [(0, position)])
    grid_distance = distance_at("Grid Depth", position)
    grid_with_depth = b.node("GeometryNodeSetPosition", "Grid Depth", [
        ("Geometry", _socket(frame_grid.outputs, "Geometry")),
        ("Position", b.node("ShaderNodeCombineXYZ", "Grid Frame Point",
                            [(0, grid_uv.outputs[0]), (1, grid_uv.outputs[1]), (2, grid_distance)]).outputs[0]),
    ])
    surface = _socket(grid_with_depth.outputs, "Geometry")

    # Tearing: a face is torn when its farthest corner is more than (1 + threshold) times its nearest.
    b.next_column()
    distance = b.node("ShaderNodeSeparateXYZ", "Frame Position", [(0, position)]).outputs[2]
    corner_distances = []
    for corner in range(4):
        corner_index = _socket(b.node("GeometryNodeCornersOfFace", f"Corner {corner}", [("Sort Index", corner)]).outputs, "Corner Index")
        vertex_index = _socket(b.node("GeometryNodeVertexOfCorner", f"Corner {corner} Vertex",
                                      [("Corner Index", corner_index)]).outputs, "Vertex Index")
        # Looked up on the point domain: reading the distance on corners would first copy it to every corner.
        corner_distances.append(_socket(b.node(
            "GeometryNodeFieldAtIndex", f"Corner {corner} Depth", [("Index", vertex_index), ("Value", distance)],
            domain="POINT", data_type="FLOAT",
        ).outputs, "Value"))
    farthest = b.math("Farthest Corner", "MAXIMUM", b.math("Farthest 01", "MAXIMUM", *corner_distances[:2]),
                      b.math("Farthest 23", "MAXIMUM", *corner_distances[2:]))
    nearest = b.math("Nearest Corner", "MINIMUM", b.math("Nearest 01", "MINIMUM", *corner_distances[:2]),
                     b.math("Nearest 23", "MINIMUM", *corner_distances[2:]))
    tear_limit = b.math("Tear Limit", "MULTIPLY", nearest, b.math("Tear Ratio", "ADD", b.input(TEAR_THRESHOLD), 1.0))
    jumps = _socket(b.node("FunctionNodeCompare", "Depth Jumps", [("A", farthest), ("B", tear_limit)],
                           data_type="FLOAT", operation="GREATER_THAN").outputs, "Result")
    tearing_on = b.math("Tearing On", "GREATER_THAN", b.input(TEAR_THRESHOLD), 0.0)
    torn = b.node("FunctionNodeBooleanMath", "Torn", [(0, jumps), (1, tearing_on)], operation="AND").outputs[0]
    # Captured once: Separate Geometry would evaluate the field again for each of its two outputs.
    capture = b.capture("Capture Torn", "FACE", surface, "Torn", "BOOLEAN", torn)
    split = b.node("GeometryNodeSeparateGeometry", "Split Torn Faces",
                   [("Geometry", _socket(capture.outputs, "Geometry")), ("Selection", _socket(capture.outputs, "Torn"))],
                   domain="FACE")

    # A torn face becomes 2x2 separate patches, each flat at the distance of the corner it touches: seen from
    # the camera they still cover the whole face, each side of the tear showing its half of the pixels.
    b.next_column()
    subdivided = b.node("GeometryNodeSubdivideMesh", "Quarter Torn Faces",
                        [("Mesh", _socket(split.outputs, "Selection")), ("Level", 1)])
    patches = b.node("GeometryNodeSplitEdges", "Separate Patches", [("Mesh", _socket(subdivided.outputs, "Mesh"))])
    # After the split every point has one face, so the face centre read back on points is its patch's centre.
    patch_center = _socket(b.node("GeometryNodeFieldOnDomain", "Patch Center", [("Value", position)],
                                  domain="FACE", data_type="FLOAT_VECTOR").outputs, "Value")
    grid_steps = b.node("ShaderNodeCombineXYZ", "Grid Steps", [
        (0, b.math("Steps X", "SUBTRACT", vertices_x, 1.0)), (1, b.math("Steps Y", "SUBTRACT", vertices_y, 1.0))]).outputs[0]
    nearest_step = b.node("ShaderNodeVectorMath", "Nearest Grid Step", [(0, b.node(
        "ShaderNodeVectorMath", "Patch Steps", [(0, patch_center), (1, grid_steps), (2, (0.5, 0.5, 0.0))],
        operation="MULTIPLY_ADD").outputs[0])], operation="FLOOR").outputs[0]
    patch_corner = b.node("ShaderNodeVectorMath", "Patch Corner", [(0, nearest_step), (1, grid_steps)],
                          operation="DIVIDE").outputs[0]
    patch_uv = b.node("ShaderNodeSeparateXYZ", "Patch Frame Position", [(0, position)])
    flat_patches = b.node("GeometryNodeSetPosition", "Flatten Patches", [
        ("Geometry", _socket(patches.outputs, "Mesh")),
        ("Position", b.node("ShaderNodeCombineXYZ", "Patch Frame Point", [
            (0, patch_uv.outputs[0]), (1, patch_uv.outputs[1]), (2, distance_at("Patch Depth", patch_corner))]).outputs[0]),
    ])
    joined = b.node("GeometryNodeJoinGeometry", "Join")
    # Join takes a multi-input socket: the torn patches first, the intact faces second.
    b.tree.links.new(_socket(flat_patches.outputs, "Geometry"), joined.inputs[0])
    b.tree.links.new(_socket(split.outputs, "Inverted"), joined.inputs[0])

    # Every corner shows the photo at its own frame position.
    b.next_column()
    with_uv = b.node("GeometryNodeStoreNamedAttribute", "Store UV Map", [
        ("Geometry", _socket(joined.outputs, "Geometry")), ("Name", UV_MAP_NAME), ("Value", position)],
        data_type="FLOAT2", domain="CORNER")

    # Projection: depth scale stretches distances away from the nearest point; the frame position then
    # gives the point on its camera ray (or, in relief mode, on a plane at the nearest distance).
    nearest_distance = _socket(b.node(
        "GeometryNodeAttributeStatistic", "Nearest Distance", [("Geometry", surface), ("Attribute", distance)],
        data_type="FLOAT", domain="POINT").outputs, "Min")
    final_uv = b.node("ShaderNodeSeparateXYZ", "Final Frame Position", [(0, position)])
    scaled = b.math("Scaled Distance", "MULTIPLY_ADD", b.math(
        "Beyond Nearest", "SUBTRACT", final_uv.outputs[2], nearest_distance), b.input(DEPTH_SCALE), nearest_distance)
    ray_length = _socket(b.node("GeometryNodeSwitch", "Relief Plane", [
        (0, b.input(RELIEF)), ("False", scaled), ("True", nearest_distance)], input_type="FLOAT").outputs, "Output")
    camera_point = b.node("ShaderNodeCombineXYZ", "Camera Point", [
        (0, b.math("Camera X", "MULTIPLY", b.math("Ray X", "MULTIPLY", b.math(
            "Centered U", "SUBTRACT", final_uv.outputs[0], 0.5), ray_x), ray_length)),
        (1, b.math("Camera Y", "MULTIPLY", b.math("Ray Y", "MULTIPLY", b.math(
            "Centered V", "SUBTRACT", final_uv.outputs[1], 0.5), ray_y), ray_length)),
        # The camera looks down -Z.
        (2, b.math("Camera Z", "MULTIPLY", scaled, -1.0)),
    ]).outputs[0]
    b.next_column()
    projected = b.node("GeometryNodeSetPosition", "Project To Camera", [
        ("Geometry", _socket(with_uv.outputs, "Geometry")), ("Position", camera_point)])
    with_material = b.node("GeometryNodeSetMaterial", "Set Material", [
        ("Geometry", _socket(projected.outputs, "Geometry")), ("Material", b.input(MATERIAL))])
    output = b.node("NodeGroupOutput", "Group Output")
    b.tree.links.new(_socket(with_material.outputs, "Geometry"), output.inputs[0])
