"""The "Monocular Photo" Geometry Nodes group: a depth image in, the photo's surface in its camera's frame out.

`build_node_group()` is the reviewable source of the group that `tools/release/build_node_assets.py` saves into
`node_assets/monocular_photo.blend`; the add-on appends it from there (see `photo_object.py`).

Frame convention (CONTRACT.md): the camera sits at the object's origin and looks down local -Z with +Y up.
The photo's longer side spans the sensor width (sensor fit AUTO). Inside the group a point is first kept in
"frame space": x, y on the photo's frame at distance 1 along the view axis and z = its distance along that
axis. Only the last step puts it on its camera ray, so tearing and UVs work on the undistorted frame and the
projection is done once. Photo coordinates (u, v) run 0..1 with v = 0 at the bottom, like Blender images.

The group is a pipeline of stages, read left to right in the node editor, each in its own labelled frame:
`_STAGES` lists them; each is a function taking and returning a surface in frame space (the last ones put it
in camera space and give it its material). A new stage is one function inserted there. Values several stages
use (grid size, the frame's extent, the depth mapping) are computed once by the first stage and handed on in
a `_Frame`. The depth sampler is a sub-group, so that another layer can sample a depth image the same way.
"""

from contextlib import contextmanager
from dataclasses import dataclass

import bpy

from . import live_inputs

GROUP_NAME = "Monocular Photo"
DEPTH_SAMPLER_NAME = "Monocular Photo Depth Sampler"
# Bump when the group changes: photo objects made by an older add-on keep their own copy of the group.
GROUP_VERSION = 7
VERSION_PROPERTY = "monocular_photo_version"
UV_MAP_NAME = "UVMap"
# The mesh reaches this fraction of the frame beyond each edge of the photo (showing the edge pixels), so that
# render filters sampling slightly outside the frame still hit the photo, not the world behind it.
FRAME_MARGIN = 0.01

# Inputs the add-on wires itself (datablocks and what the depth image holds): not live controls, so they sit
# outside the interface panels and the N-panel. (name, socket number, socket type, description); the live
# controls are declared in `live_inputs.LIVE_INPUTS`. Socket numbers are the identifiers of group v5.
DEPTH_IMAGE = "Depth Image"
METRIC_DEPTH = "Metric Depth"
MATERIAL = "Material"
BACKGROUND_DEPTH_IMAGE = "Background Depth Image"
BACKGROUND_MATERIAL = "Background Material"
_WIRING_INPUTS = (
    (DEPTH_IMAGE, 1, "NodeSocketImage", "Float, non-colour depth image; row 0 at the bottom like every Blender image"),
    (
        METRIC_DEPTH,
        2,
        "NodeSocketBool",
        "The depth image holds distances along the view axis, not relative inverse depth (Far unused)",
    ),
    (MATERIAL, 11, "NodeSocketMaterial", "Material of the surface"),
    (
        BACKGROUND_DEPTH_IMAGE,
        12,
        "NodeSocketImage",
        "The background layer over the extended frame (float, non-colour): R = depth like the Depth Image, G = reach; "
        "none: no background layer",
    ),
    (BACKGROUND_MATERIAL, 13, "NodeSocketMaterial", "Material of the background layer (its colour image)"),
)

# The live inputs by name, for the nodes below.
NEAR = live_inputs.live_input("near").name
FAR = live_inputs.live_input("far").name
DEPTH_SCALE = live_inputs.live_input("depth_scale").name
RESOLUTION = live_inputs.live_input("resolution").name
FOCAL_LENGTH = live_inputs.live_input("focal_length").name
SENSOR_WIDTH = live_inputs.live_input("sensor_width").name
TEAR_THRESHOLD = live_inputs.live_input("tear_threshold").name
RELIEF = live_inputs.live_input("relief").name
BACKGROUND = live_inputs.live_input("background").name
BACKGROUND_REACH = live_inputs.live_input("background_reach").name
BORDER_MARGIN = live_inputs.live_input("border_margin").name
# The background layer sits this fraction of its distance farther than it was filled: where it meets the
# photo's own surface (the far side's rim along a band, the frame's border ring) or its coarser faces cut a
# corner of it, the front layer still wins from the photo camera (0.2 % left a few pixels of the fill showing
# through on bench_views' reprojection; 1 % none but one), and a moving camera sees no gap for it.
BACKGROUND_PUSH_BACK = 0.01
# The background grid has a vertex every this many steps of the front grid: the layer is a smooth fill whose
# detail is in its colour image. A ninth of the vertices keeps the object's evaluation within 1.5x of the
# front's alone (tools/bench_mesh.py: 1.56x at a step of 2); the band still loses no face on bench_views' moves.
BACKGROUND_GRID_STEP = 3


def input_names() -> tuple[str, ...]:
    """Every group input's name, in the order of their identifiers (Socket_1, Socket_2, ...)."""
    return tuple(name for name, _identifier in _interface_inputs())


def _interface_inputs():
    """(name, socket number) of every input, wiring and live, sorted by socket number."""
    numbered = [(name, number) for name, number, _type, _description in _WIRING_INPUTS]
    numbered += [(spec.name, spec.socket) for spec in live_inputs.LIVE_INPUTS]
    return sorted(numbered, key=lambda item: item[1])


def is_monocular_photo_group(group, current_version=False) -> bool:
    """Whether `group` is a Monocular Photo group (of this add-on's version when `current_version`)."""
    # Its sub-groups (the depth sampler) carry the version too, but are not modifier groups.
    if group is None or VERSION_PROPERTY not in group or not group.is_modifier:
        return False
    return not current_version or group[VERSION_PROPERTY] == GROUP_VERSION


def has_input(group, name) -> bool:
    """Whether `group` has input `name` (a group made by an older add-on version may lack newer inputs)."""
    return any(
        item.item_type == "SOCKET" and item.in_out == "INPUT" and item.name == name
        for item in group.interface.items_tree
    )


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
    builder = _Builder(group)
    surface, frame = None, None
    for label, stage in _STAGES:
        with builder.stage(label):
            surface, frame = stage(builder, surface, frame)
    return group


def _build_interface(group):
    interface = group.interface
    interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    wiring = {name: (socket_type, description) for name, _number, socket_type, description in _WIRING_INPUTS}
    live = {spec.name: spec for spec in live_inputs.LIVE_INPUTS}
    sockets = {}
    # Created in identifier order, so that Socket_<number> is each input's identifier; panels come after.
    for name, number in _interface_inputs():
        socket_type, description = wiring[name] if name in wiring else (live[name].socket_type, live[name].description)
        socket = interface.new_socket(name, in_out="INPUT", socket_type=socket_type, description=description)
        assert socket.identifier == f"Socket_{number}", f"{name}: socket numbers must be contiguous from 1"
        # One value per object, never a per-point attribute: no attribute toggle in the modifier panel.
        socket.force_non_field = True
        sockets[name] = socket
    for spec in live_inputs.LIVE_INPUTS:
        socket = sockets[spec.name]
        socket.default_value = spec.default
        if spec.minimum is not None:
            socket.min_value = spec.minimum
        if spec.maximum is not None:
            socket.max_value = spec.maximum
        if spec.kind == "FLOAT":
            socket.subtype = spec.socket_subtype
    for panel_name in live_inputs.PANELS:
        members = [spec for spec in live_inputs.LIVE_INPUTS if spec.panel == panel_name]
        if members:
            panel = interface.new_panel(panel_name)
            for position, spec in enumerate(members):
                interface.move_to_parent(sockets[spec.name], panel, position)


class _Builder:
    """Adds named nodes and links; node names are stable so the shipped group can be compared to this source.

    Nodes are added inside a stage (`with builder.stage(label)`): a labelled Frame node with its own Group Input
    node, laid out in columns left to right.
    """

    def __init__(self, tree):
        self.tree = tree
        self.column = 0
        self.row = 0
        self.frame = None
        self.group_input = None

    @contextmanager
    def stage(self, label):
        self.frame = self.tree.nodes.new("NodeFrame")
        self.frame.name = self.frame.label = label
        self.group_input = self.node("NodeGroupInput", f"{label} Inputs")
        self.next_column()
        try:
            yield
        finally:
            # Each stage's Group Input node shows only the inputs it uses.
            for socket in self.group_input.outputs:
                socket.hide = not socket.is_linked
            self.frame = self.group_input = None
            self.next_column()

    def node(self, bl_idname, name, inputs=(), **properties):
        """Add a node; `inputs` pairs input sockets (index or name) with a socket to link or a value to set."""
        node = self.tree.nodes.new(bl_idname)
        node.name = node.label = name
        node.parent = self.frame
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

    def out(self, bl_idname, name, inputs=(), output=0, **properties):
        """Add a node and return one of its outputs (index or name)."""
        return _socket(self.node(bl_idname, name, inputs, **properties).outputs, output)

    def next_column(self):
        self.column += 1
        self.row = 0

    def input(self, name):
        return _socket(self.group_input.outputs, name)

    def math(self, name, operation, *operands):
        return self.out("ShaderNodeMath", name, enumerate(operands), operation=operation)

    def vector_math(self, name, operation, *operands):
        return self.out("ShaderNodeVectorMath", name, enumerate(operands), operation=operation)

    def combine(self, name, x=0.0, y=0.0, z=0.0):
        return self.out("ShaderNodeCombineXYZ", name, [(0, x), (1, y), (2, z)])

    def separate(self, name, vector):
        """The X, Y and Z outputs of a Separate XYZ node."""
        return tuple(self.node("ShaderNodeSeparateXYZ", name, [(0, vector)]).outputs)

    def switch(self, name, condition, if_false, if_true, input_type="FLOAT"):
        return self.out(
            "GeometryNodeSwitch",
            name,
            [(0, condition), ("False", if_false), ("True", if_true)],
            output="Output",
            input_type=input_type,
        )

    def capture(self, name, domain, geometry, item_name, data_type, value):
        """A Capture Attribute node storing one field (its items are created, not set, so not a property)."""
        node = self.node("GeometryNodeCaptureAttribute", name, [("Geometry", geometry)], domain=domain)
        node.capture_items.new(data_type, item_name)
        self.tree.links.new(value, _socket(node.inputs, item_name))
        return node

    def group(self, name, tree, inputs=(), output=0):
        """A Group node running the node group `tree`; returns one of its outputs."""
        node = self.node("GeometryNodeGroup", name)
        node.node_tree = tree
        for key, value in inputs:
            self.tree.links.new(value, _socket(node.inputs, key))
        return _socket(node.outputs, output)


def _socket(sockets, key):
    """Socket by index, name or identifier (names change between versions, e.g. "Geometry" became "Mesh");
    for nodes with one socket per data type, the one that is enabled."""
    if isinstance(key, int):
        return sockets[key]
    for socket in sockets:
        if key in (socket.name, socket.identifier) and socket.enabled:
            return socket
    raise KeyError(key)


@dataclass(frozen=True)
class _Frame:
    """What the grid stage computes once for the stages after it (sockets of its nodes)."""

    vertices_x: bpy.types.NodeSocket  # grid vertices along the photo's width
    vertices_y: bpy.types.NodeSocket  # and along its height
    frame_to_uv: bpy.types.NodeSocket  # scale from frame x, y to photo coordinates (offset 0.5)
    frame_size: bpy.types.NodeSocket  # (width, height, 0) of the photo's frame at distance 1
    point: bpy.types.NodeSocket  # field: each grid vertex's (x, y) on the frame (the grid itself is turned)
    nearest_pixel: bpy.types.NodeSocket  # the grid is no finer than the depth image: sample the nearest pixel


def _uv_of(b, name, frame, frame_point):
    """Photo coordinates (u, v, 0) of a point on the frame: 0..1 across the photo (a little beyond in the
    margin), v = 0 at the bottom like Blender images."""
    return b.vector_math(name, "MULTIPLY_ADD", frame_point, frame.frame_to_uv, (0.5, 0.5, 0.0))


def _frame_and_grid(b, _surface, _frame):
    """The grid over the photo's frame, `Resolution` vertices along its longer side, and its frame extent."""
    # Grid size from the depth image's aspect (the photo's).
    info = b.node("GeometryNodeImageInfo", "Depth Image Info", [("Image", b.input(DEPTH_IMAGE))])
    width, height = _socket(info.outputs, "Width"), _socket(info.outputs, "Height")
    longer_side = b.math("Longer Side", "MAXIMUM", width, height)
    width_fraction = b.math("Width Fraction", "DIVIDE", width, longer_side)
    height_fraction = b.math("Height Fraction", "DIVIDE", height, longer_side)
    resolution = b.input(RESOLUTION)
    vertices_x = b.math(
        "Vertices X",
        "MAXIMUM",
        b.math("Round X", "ROUND", b.math("Scaled X", "MULTIPLY", width_fraction, resolution)),
        2.0,
    )
    vertices_y = b.math(
        "Vertices Y",
        "MAXIMUM",
        b.math("Round Y", "ROUND", b.math("Scaled Y", "MULTIPLY", height_fraction, resolution)),
        2.0,
    )
    # When the grid is no finer than the image, each vertex takes its nearest pixel (see the depth stage).
    nearest_pixel = b.out(
        "FunctionNodeCompare",
        "Grid Within Image",
        [("A", resolution), ("B", longer_side)],
        output="Result",
        data_type="FLOAT",
        operation="LESS_EQUAL",
    )

    # The photo's frame on the image plane at distance 1 along the view axis (the longer side spans the
    # sensor width): a point (x, y) of this frame at distance z is the camera-space point (x z, y z, -z).
    b.next_column()
    ray_scale = b.math("Sensor Over Focal", "DIVIDE", b.input(SENSOR_WIDTH), b.input(FOCAL_LENGTH))
    frame_width = b.math("Frame Width", "MULTIPLY", width_fraction, ray_scale)
    frame_height = b.math("Frame Height", "MULTIPLY", height_fraction, ray_scale)
    frame_to_uv = b.combine(
        "Frame To UV",
        b.math("Inverse Frame Width", "DIVIDE", 1.0, frame_width),
        b.math("Inverse Frame Height", "DIVIDE", 1.0, frame_height),
    )
    grid_width = b.math("Grid Width", "MULTIPLY", frame_width, 1.0 + 2.0 * FRAME_MARGIN)
    grid_height = b.math("Grid Height", "MULTIPLY", frame_height, 1.0 + 2.0 * FRAME_MARGIN)

    b.next_column()
    grid, point = _turned_grid(b, "Grid", grid_width, grid_height, vertices_x, vertices_y)
    frame_size = b.combine("Frame Size", frame_width, frame_height)
    return grid, _Frame(vertices_x, vertices_y, frame_to_uv, frame_size, point, nearest_pixel)


def _turned_grid(b, label, width, height, vertices_x, vertices_y):
    """A grid of `vertices_x` x `vertices_y` vertices spanning `width` x `height` of the frame, and a field of
    each vertex's (x, y) on the frame.

    Mesh Grid numbers its vertices along its Y axis first. Built with its X axis down the photo and turned a
    quarter turn clockwise, consecutive vertices run along the photo's rows, the order in which a depth image's
    pixels lie in memory: sampling then reads from cache instead of striding across the image. The turn is not
    applied here: the caller writes each vertex's frame position and distance at once.
    """
    grid = b.out(
        "GeometryNodeMeshGrid",
        label,
        [("Size X", height), ("Size Y", width), ("Vertices X", vertices_y), ("Vertices Y", vertices_x)],
    )
    # Smooth normals for the "lit" material (the unlit one ignores them). Mesh Grid marks every face flat with
    # a "sharp_face" attribute: removing it costs nothing per face, where Set Shade Smooth would write every
    # face, and tearing has one attribute less to copy.
    grid = b.out("GeometryNodeRemoveAttribute", f"Smooth {label}", [("Geometry", grid), ("Name", "sharp_face")])
    grid_x, grid_y, _ = b.separate(f"{label} Position", b.out("GeometryNodeInputPosition", f"{label} Vertex Position"))
    frame_y = b.math(f"{label} X Down The Photo", "MULTIPLY", grid_x, -1.0)
    return grid, b.combine(f"{label} Frame Point", grid_y, frame_y)


def _depth(b, grid, frame):
    """Depth: each grid vertex at its frame position and its distance sampled from the depth image."""
    distance = b.group(
        "Sample Grid Depth",
        _depth_sampler(),
        [
            ("Image", b.input(DEPTH_IMAGE)),
            ("UV", _uv_of(b, "Grid UV", frame, frame.point)),
            ("Closest", frame.nearest_pixel),
            ("Metric", b.input(METRIC_DEPTH)),
            ("Near", b.input(NEAR)),
            ("Far", b.input(FAR)),
        ],
        output="Distance",
    )
    x, y, _ = b.separate("Grid Frame XY", frame.point)
    surface = b.out(
        "GeometryNodeSetPosition",
        "Grid Depth",
        [("Geometry", grid), ("Position", b.combine("Grid Point", x, y, distance))],
    )
    return surface, frame


def _tearing(b, surface, frame):
    """Tearing: faces across a depth jump become patches on either side instead of a stretched "rubber sheet"."""
    # A face is torn when its farthest corner is more than (1 + threshold) times its nearest.
    position = b.out("GeometryNodeInputPosition", "Frame Position")
    distance = b.separate("Distance", position)[2]
    # Captured once: each corner lookup below would evaluate the field over all the points again.
    distance_capture = b.capture("Capture Distance", "POINT", surface, "Distance", "FLOAT", distance)
    stored_distance = _socket(distance_capture.outputs, "Distance")
    # The corners' vertices. Mesh Grid numbers vertices line by line, `vertices_x` to a line (see the grid
    # stage), and face f of line l = floor(f / (vertices_x - 1)) has corners v, v + n, v + n + 1, v + 1 with
    # v = f + l and n = vertices_x: cheaper than looking them up in the topology. Math nodes compute in float,
    # exact for indices up to 2^24; larger grids use the topology lookup.
    vertices_x = frame.vertices_x
    face_index = b.out("GeometryNodeInputIndex", "Face Index")
    face_line = b.math(
        "Face Line",
        "FLOOR",
        b.math("Face Line Fraction", "DIVIDE", face_index, b.math("Faces Per Line", "SUBTRACT", vertices_x, 1.0)),
    )
    # Captured once too: each lookup would compute it again.
    first_vertex_capture = b.capture(
        "Capture First Corner",
        "FACE",
        _socket(distance_capture.outputs, "Geometry"),
        "First Corner Vertex",
        "INT",
        b.math("First Corner Vertex", "ADD", face_index, face_line),
    )
    first_vertex = _socket(first_vertex_capture.outputs, "First Corner Vertex")
    line_plus_one = b.math("Line Plus One", "ADD", vertices_x, 1.0)
    computed_indices = (
        first_vertex,
        b.math("Corner 1 Vertex Sum", "ADD", first_vertex, vertices_x),
        b.math("Corner 2 Vertex Sum", "ADD", first_vertex, line_plus_one),
        b.math("Corner 3 Vertex Sum", "ADD", first_vertex, 1.0),
    )
    index_is_exact = b.math(
        "Exact Vertex Sums",
        "LESS_THAN",
        b.math("Grid Vertex Count", "MULTIPLY", vertices_x, frame.vertices_y),
        2.0**24 + 0.5,
    )
    b.next_column()
    corner_distances = []
    for corner in range(4):
        corner_index = b.out(
            "GeometryNodeCornersOfFace", f"Corner {corner}", [("Sort Index", corner)], output="Corner Index"
        )
        looked_up = b.out(
            "GeometryNodeVertexOfCorner",
            f"Corner {corner} Vertex Lookup",
            [("Corner Index", corner_index)],
            output="Vertex Index",
        )
        vertex_index = b.switch(f"Corner {corner} Vertex", index_is_exact, looked_up, computed_indices[corner], "INT")
        # Looked up on the point domain: reading the distance on corners would first copy it to every corner.
        corner_distances.append(
            b.out(
                "GeometryNodeFieldAtIndex",
                f"Corner {corner} Depth",
                [("Index", vertex_index), ("Value", stored_distance)],
                output="Value",
                domain="POINT",
                data_type="FLOAT",
            )
        )
    b.next_column()
    farthest = b.math(
        "Farthest Corner",
        "MAXIMUM",
        b.math("Farthest 01", "MAXIMUM", *corner_distances[:2]),
        b.math("Farthest 23", "MAXIMUM", *corner_distances[2:]),
    )
    nearest = b.math(
        "Nearest Corner",
        "MINIMUM",
        b.math("Nearest 01", "MINIMUM", *corner_distances[:2]),
        b.math("Nearest 23", "MINIMUM", *corner_distances[2:]),
    )
    tear_limit = b.math("Tear Limit", "MULTIPLY", nearest, b.math("Tear Ratio", "ADD", b.input(TEAR_THRESHOLD), 1.0))
    jumps = b.out(
        "FunctionNodeCompare",
        "Depth Jumps",
        [("A", farthest), ("B", tear_limit)],
        output="Result",
        data_type="FLOAT",
        operation="GREATER_THAN",
    )
    # Captured once: deleting the torn faces and copying them would each evaluate the field again.
    capture = b.capture(
        "Capture Torn", "FACE", _socket(first_vertex_capture.outputs, "Geometry"), "Torn", "BOOLEAN", jumps
    )
    captured, torn = _socket(capture.outputs, "Geometry"), _socket(capture.outputs, "Torn")
    # Faces and their edges only: the vertices stay as they are (shared, neither copied nor renumbered). A vertex
    # whose every face tore is left loose, which nothing draws or renders.
    intact = b.out(
        "GeometryNodeDeleteGeometry",
        "Delete Torn Faces",
        [("Geometry", captured), ("Selection", torn)],
        domain="FACE",
        mode="EDGE_FACE",
    )

    # A torn face becomes 2x2 separate patches, each flat at the distance of the corner it touches: seen from
    # the camera they still cover the whole face, each side of the tear showing its half of the pixels.
    # Copy k of a torn face (its own four points) becomes the patch of its corner k: every point moves halfway
    # to that corner on the frame (the corner stays, its neighbours become edge midpoints, the opposite corner
    # the centre) and takes its distance. Copying only the torn faces and deleting them from the grid is
    # cheaper than separating, subdividing and splitting them.
    b.next_column()
    copies = b.node(
        "GeometryNodeDuplicateElements",
        "Copy Torn Faces",
        [("Geometry", captured), ("Selection", torn), ("Amount", 4)],
        domain="FACE",
    )
    patch_corner = b.out(
        "GeometryNodeCornersOfFace",
        "Patch Corner",
        [("Sort Index", _socket(copies.outputs, "Duplicate Index"))],
        output="Corner Index",
    )
    patch_corner_vertex = b.out(
        "GeometryNodeVertexOfCorner", "Patch Corner Vertex", [("Corner Index", patch_corner)], output="Vertex Index"
    )
    patch_corner_point = b.out(
        "GeometryNodeFieldAtIndex",
        "Patch Corner Point",
        [("Index", patch_corner_vertex), ("Value", position)],
        output="Value",
        domain="POINT",
        data_type="FLOAT_VECTOR",
    )
    # Looked up per copy, then read on its points: after copying, every point has exactly one face.
    corner_point = b.out(
        "GeometryNodeFieldOnDomain",
        "Patch Corner On Points",
        [("Value", patch_corner_point)],
        output="Value",
        domain="FACE",
        data_type="FLOAT_VECTOR",
    )
    corner_distance = b.separate("Patch Corner Distance", corner_point)[2]
    patch_point = b.vector_math(
        "Patch Point",
        "MULTIPLY_ADD",
        b.vector_math("Patch Point Sum", "ADD", position, corner_point),
        (0.5, 0.5, 0.0),
        b.combine("Patch Depth", z=corner_distance),
    )
    flat_patches = b.out(
        "GeometryNodeSetPosition",
        "Flatten Patches",
        [("Geometry", _socket(copies.outputs, "Geometry")), ("Position", patch_point)],
    )
    joined = b.node("GeometryNodeJoinGeometry", "Join")
    # Join takes a multi-input socket: the torn patches first, the intact faces second.
    b.tree.links.new(flat_patches, joined.inputs[0])
    b.tree.links.new(intact, joined.inputs[0])
    # A threshold of 0 turns tearing off, and the switch skips its cost.
    tearing_on = b.math("Tearing On", "GREATER_THAN", b.input(TEAR_THRESHOLD), 0.0)
    return b.switch("Tearing", tearing_on, surface, _socket(joined.outputs, "Geometry"), "GEOMETRY"), frame


def _uv_map(b, surface, frame):
    """UV Map: every corner shows the photo at its own frame position, so each vertex shows its own pixel."""
    # Captured on points, then copied to corners, which Blender 4.2 does faster from a captured attribute than
    # from a Field On Domain node; stored after tearing so that tearing has less data to copy.
    position = b.out("GeometryNodeInputPosition", "UV Frame Position")
    uv_capture = b.capture("Capture Point UV", "POINT", surface, "UV", "VECTOR", _uv_of(b, "Frame UV", frame, position))
    with_uv = b.out(
        "GeometryNodeStoreNamedAttribute",
        "Store UV Map",
        [
            ("Geometry", _socket(uv_capture.outputs, "Geometry")),
            ("Name", UV_MAP_NAME),
            ("Value", _socket(uv_capture.outputs, "UV")),
        ],
        data_type="FLOAT2",
        domain="CORNER",
    )
    return with_uv, frame


def _background_layer(b, surface, frame):
    """Background Layer: a second grid over the extended frame (the frame plus the Border Margin beyond each
    side) behind the front layer, where the Background Depth Image says a camera move can reveal something:
    behind the depth edges up to Background Reach, and beyond the frame. Its faces have their own UVs into
    the background's colour image and their own material; joined to the front layer before projection, so
    Depth Scale, Relief and the projection apply to both."""
    image = b.input(BACKGROUND_DEPTH_IMAGE)
    front_info = b.node("GeometryNodeImageInfo", "Front Depth Image Info", [("Image", b.input(DEPTH_IMAGE))])
    info = b.node("GeometryNodeImageInfo", "Background Image Info", [("Image", image)])
    front_size = b.combine(
        "Front Image Size", _socket(front_info.outputs, "Width"), _socket(front_info.outputs, "Height")
    )
    extended_size = b.combine("Extended Image Size", _socket(info.outputs, "Width"), _socket(info.outputs, "Height"))
    # Objects made without the layer (an empty input) or with it switched off: nothing is built, nothing costs.
    has_layer = b.math("Has Background Image", "GREATER_THAN", _socket(info.outputs, "Width"), 0.0)
    layer_on = b.out(
        "FunctionNodeBooleanMath", "Background On", [(0, has_layer), (1, b.input(BACKGROUND))], operation="AND"
    )

    # The extended image spans the frame scaled by its size over the front image's (the same pixel pitch, whole
    # pixels of margin on each side); the grid spans the live margin's part of it.
    b.next_column()
    image_extent = b.vector_math("Extended Image Extent", "DIVIDE", extended_size, front_size)
    margin_extent = b.math("Margin Extent", "MULTIPLY_ADD", b.input(BORDER_MARGIN), 2.0, 1.0)
    extent = b.vector_math(
        "Background Extent", "MINIMUM", image_extent, b.combine("Margin Extents", margin_extent, margin_extent, 1.0)
    )
    extent_x, extent_y, _ = b.separate("Background Extent XY", extent)
    size_x, size_y, _ = b.separate(
        "Background Size", b.vector_math("Background Grid Size", "MULTIPLY", extent, frame.frame_size)
    )
    # (vertices - 1) steps of the front grid's pitch span the frame and its small FRAME_MARGIN.
    steps_per_extent = 1.0 / BACKGROUND_GRID_STEP / (1.0 + 2.0 * FRAME_MARGIN)
    vertices = []
    for axis, front_vertices, axis_extent in (("X", frame.vertices_x, extent_x), ("Y", frame.vertices_y, extent_y)):
        steps = b.math(
            f"Background Steps {axis}",
            "MULTIPLY",
            b.math(f"Front Steps {axis}", "SUBTRACT", front_vertices, 1.0),
            axis_extent,
        )
        vertices.append(
            b.math(
                f"Background Vertices {axis}",
                "MAXIMUM",
                b.math(
                    f"Round Background {axis}",
                    "ROUND",
                    b.math(f"Scaled Background Steps {axis}", "MULTIPLY_ADD", steps, steps_per_extent, 1.0),
                ),
                2.0,
            )
        )

    # Turned like the front grid, so that sampling runs along the image's rows.
    b.next_column()
    grid, point = _turned_grid(b, "Background Grid", size_x, size_y, vertices[0], vertices[1])
    # Photo coordinates into the extended image: u' = 0.5 + x (W / We) / frame width.
    extended_frame_to_uv = b.vector_math("Extended Frame To UV", "DIVIDE", frame.frame_to_uv, image_extent)
    extended_uv = b.vector_math("Extended UV", "MULTIPLY_ADD", point, extended_frame_to_uv, (0.5, 0.5, 0.0))

    # Faces whose every corner is beyond the live reach (or has no geometry at all) go: compared on the points
    # (the nearest pixel, never a reach interpolated between band and nothing), then read on the faces, where a
    # boolean is true when it is true at all corners. So a face stays when any corner is needed.
    b.next_column()
    reach_colour = b.out(
        "GeometryNodeImageTexture",
        "Reach Sample",
        [("Image", image), ("Vector", extended_uv)],
        output="Color",
        interpolation="Closest",
        extension="EXTEND",
    )
    reach = b.out("FunctionNodeSeparateColor", "Reach", [(0, reach_colour)], output="Green")
    beyond_reach = b.out(
        "FunctionNodeCompare",
        "Beyond Reach",
        [("A", reach), ("B", b.input(BACKGROUND_REACH))],
        output="Result",
        data_type="FLOAT",
        operation="GREATER_THAN",
    )
    beyond_capture = b.capture("Capture Beyond Reach", "POINT", grid, "Beyond Reach", "BOOLEAN", beyond_reach)
    needed = b.out(
        "GeometryNodeDeleteGeometry",
        "Delete Unneeded Faces",
        [
            ("Geometry", _socket(beyond_capture.outputs, "Geometry")),
            ("Selection", _socket(beyond_capture.outputs, "Beyond Reach")),
        ],
        domain="FACE",
        mode="ALL",
    )

    b.next_column()
    with_uv = b.out(
        "GeometryNodeStoreNamedAttribute",
        "Store Background UV",
        [("Geometry", needed), ("Name", UV_MAP_NAME), ("Value", extended_uv)],
        data_type="FLOAT2",
        domain="CORNER",
    )
    distance = b.group(
        "Sample Background Depth",
        _depth_sampler(),
        [
            ("Image", image),
            ("UV", extended_uv),
            ("Closest", frame.nearest_pixel),
            ("Metric", b.input(METRIC_DEPTH)),
            ("Near", b.input(NEAR)),
            ("Far", b.input(FAR)),
        ],
        output="Distance",
    )
    x, y, _ = b.separate("Background Frame XY", point)
    pushed_back = b.math("Pushed Back Distance", "MULTIPLY", distance, 1.0 + BACKGROUND_PUSH_BACK)
    placed = b.out(
        "GeometryNodeSetPosition",
        "Background Depth",
        [("Geometry", with_uv), ("Position", b.combine("Background Point", x, y, pushed_back))],
    )
    # Mesh Grid's one empty slot gets the background's material; the join keeps the front layer's slot first.
    with_material = b.out(
        "GeometryNodeReplaceMaterial",
        "Background Material Slot",
        [("Geometry", placed), ("New", b.input(BACKGROUND_MATERIAL))],
    )

    b.next_column()
    joined = b.node("GeometryNodeJoinGeometry", "Join Background")
    # Multi-input socket, whose last link comes first: the front layer first (its vertices keep their indices
    # and its material the first slot), then the background.
    b.tree.links.new(with_material, joined.inputs[0])
    b.tree.links.new(surface, joined.inputs[0])
    return b.switch("Background", layer_on, surface, _socket(joined.outputs, "Geometry"), "GEOMETRY"), frame


def _projection(b, surface, frame):
    """Projection: each point from frame space onto its camera ray (or the relief plane), depth scale applied."""
    # Depth scale stretches distances away from Near: z' = near + (z - near) s, written z' = z s + near (1 - s);
    # perspective puts (x, y) on the ray, (x z', y z', -z'), relief on the plane at Near, (x near, y near, -z').
    # (Near, not the nearest sampled distance: that statistic would cost a sort.)
    position = b.out("GeometryNodeInputPosition", "Projected Frame Position")
    distance = b.separate("Frame Distance", position)[2]
    near, depth_scale = b.input(NEAR), b.input(DEPTH_SCALE)
    scale_offset = b.math("Depth Scale Offset", "SUBTRACT", near, b.math("Scaled Near", "MULTIPLY", near, depth_scale))
    scaled = b.math("Scaled Distance", "MULTIPLY_ADD", distance, depth_scale, scale_offset)
    lateral = b.switch("Relief Plane", b.input(RELIEF), scaled, near)
    # The camera looks down -Z.
    negative_scale = b.math("Negative Depth Scale", "MULTIPLY", depth_scale, -1.0)
    camera_scale = b.combine("Camera Scale", lateral, lateral, negative_scale)
    camera_offset = b.combine("Camera Offset", z=b.math("Negative Scale Offset", "MULTIPLY", scale_offset, -1.0))
    camera_point = b.vector_math("Camera Point", "MULTIPLY_ADD", position, camera_scale, camera_offset)
    b.next_column()
    projected = b.out(
        "GeometryNodeSetPosition", "Project To Camera", [("Geometry", surface), ("Position", camera_point)]
    )
    return projected, frame


def _material(b, surface, frame):
    """Material: the faces show the Material input; the surface is the group's output."""
    # Mesh Grid gives its mesh one empty material slot, which every face uses: filling that slot costs nothing
    # per face, where Set Material would add the material as a second slot and write every face's index.
    with_material = b.out(
        "GeometryNodeReplaceMaterial", "Fill Material Slot", [("Geometry", surface), ("New", b.input(MATERIAL))]
    )  # "Old": none
    output = b.node("NodeGroupOutput", "Group Output")
    b.tree.links.new(with_material, output.inputs[0])
    return with_material, frame


# The pipeline, left to right: (frame label, stage).
_STAGES = (
    ("Frame and Grid", _frame_and_grid),
    ("Depth", _depth),
    ("Tearing", _tearing),
    ("UV Map", _uv_map),
    ("Background Layer", _background_layer),
    ("Projection", _projection),
    ("Material", _material),
)


def _depth_sampler():
    """The sub-group that reads a distance from a depth image at photo coordinates: this add-on version's copy
    if the file has it, else a new one."""
    for tree in bpy.data.node_groups:
        if (
            tree.name.startswith(DEPTH_SAMPLER_NAME)
            and tree.get(VERSION_PROPERTY) == GROUP_VERSION
            and tree.library is None
        ):
            return tree
    tree = bpy.data.node_groups.new(DEPTH_SAMPLER_NAME, "GeometryNodeTree")
    tree.description = "Distance along the view axis read from a depth image at photo coordinates"
    tree[VERSION_PROPERTY] = GROUP_VERSION
    interface = tree.interface
    interface.new_socket("Distance", in_out="OUTPUT", socket_type="NodeSocketFloat")
    for name, socket_type, description in (
        ("Image", "NodeSocketImage", "Float, non-colour depth image"),
        ("UV", "NodeSocketVector", "Photo coordinates, 0..1 across the image, v = 0 at the bottom"),
        ("Closest", "NodeSocketBool", "Take the nearest pixel instead of interpolating bilinearly"),
        ("Metric", "NodeSocketBool", "The image holds distances, not relative inverse depth"),
        ("Near", "NodeSocketFloat", "Distance of relative inverse depth 1"),
        ("Far", "NodeSocketFloat", "Distance of relative inverse depth 0"),
    ):
        interface.new_socket(name, in_out="INPUT", socket_type=socket_type, description=description)
    b = _Builder(tree)
    with b.stage("Depth Sampler"):
        # Sampling reads the depth image in the grid's vertex order, so that consecutive vertices read
        # neighbouring pixels of a row. When the grid is no finer than the image, each vertex takes its nearest
        # pixel: that is within half a pixel of the bilinear value, costs half as much, and keeps a depth edge a
        # clean step for tearing instead of giving the vertex on it an in-between "flying pixel" depth. A finer
        # grid interpolates bilinearly so that it does not turn slopes into terraces.
        samples = [
            b.out(
                "GeometryNodeImageTexture",
                f"{interpolation} Sample",
                [("Image", b.input("Image")), ("Vector", b.input("UV"))],
                output="Color",
                interpolation=interpolation,
                extension="EXTEND",
            )
            for interpolation in ("Linear", "Closest")
        ]
        color = b.switch("Sample", b.input("Closest"), *samples, input_type="RGBA")
        # Separate Color keeps the red channel exact; the implicit colour-to-float conversion is a luminance.
        value = b.out("FunctionNodeSeparateColor", "Value", [(0, color)], output="Red")
        # Relative inverse depth d maps to 1/z = 1/far + d (1/near - 1/far): near for d = 1, far for d = 0,
        # linear in inverse depth so that planes in the scene stay planes.
        b.next_column()
        inverse_far = b.math("Inverse Far", "DIVIDE", 1.0, b.input("Far"))
        inverse_near = b.math("Inverse Near", "DIVIDE", 1.0, b.input("Near"))
        inverse_range = b.math("Inverse Range", "SUBTRACT", inverse_near, inverse_far)
        inverse = b.math("Inverse Depth", "MULTIPLY_ADD", value, inverse_range, inverse_far)
        relative = b.math("Relative Distance", "DIVIDE", 1.0, inverse)
        distance = b.switch("Depth Kind", b.input("Metric"), relative, value)
        output = b.node("NodeGroupOutput", "Group Output")
        b.tree.links.new(distance, output.inputs[0])
    return tree
