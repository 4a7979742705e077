"""The "Monocular Photo" Geometry Nodes group: a depth image in, the photo's surface in its camera's frame out.

`build_node_group()` is the reviewable source of the group that `tools/build_node_assets.py` saves into
`node_assets/monocular_photo.blend`; the add-on appends it from there (see `photo_object.py`).

Frame convention (CONTRACT.md): the camera sits at the object's origin and looks down local -Z with +Y up.
The photo's longer side spans the sensor width (sensor fit AUTO). Inside the group a point is first kept in
"frame space": x, y on the photo's frame at distance 1 along the view axis and z = its distance along that
axis. Only the last step puts it on its camera ray, so tearing and UVs work on the undistorted frame and the
projection is done once. Photo coordinates (u, v) run 0..1 with v = 0 at the bottom, like Blender images.
"""

import bpy

GROUP_NAME = "Monocular Photo"
# Bump when the group changes: photo objects made by an older add-on keep their own copy of the group.
GROUP_VERSION = 5
VERSION_PROPERTY = "monocular_photo_version"
UV_MAP_NAME = "UVMap"
# The mesh reaches this fraction of the frame beyond each edge of the photo (showing the edge pixels), so that
# render filters sampling slightly outside the frame still hit the photo, not the world behind it.
FRAME_MARGIN = 0.01

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
     "The depth image holds distances along the view axis, not relative inverse depth (Far unused)"),
    (NEAR, "NodeSocketFloat", 1.0, 1e-4, 1e6, "DISTANCE",
     "Distance of the nearest relative depth (inverse depth 1); Depth Scale and Relief pivot here"),
    (FAR, "NodeSocketFloat", 10.0, 1e-4, 1e6, "DISTANCE",
     "Distance of the farthest relative depth (inverse depth 0)"),
    (DEPTH_SCALE, "NodeSocketFloat", 1.0, 0.0, 100.0, "NONE",
     "Stretch distances along the camera rays away from Near; the camera's view does not change"),
    (RESOLUTION, "NodeSocketInt", 256, 2, 8192, "NONE",
     "Vertices along the photo's longer side"),
    (FOCAL_LENGTH, "NodeSocketFloat", 35.0, 0.1, 5000.0, "NONE",
     "Focal length in millimetres, for the sensor width below"),
    (SENSOR_WIDTH, "NodeSocketFloat", 36.0, 0.1, 1000.0, "NONE",
     "Sensor size in millimetres along the photo's longer side"),
    (TEAR_THRESHOLD, "NodeSocketFloat", 0.1, 0.0, 100.0, "NONE",
     "Tear faces whose farthest corner is more than this fraction farther than their nearest (0: never tear)"),
    (RELIEF, "NodeSocketBool", False, None, None, None,
     "Bas-relief: the photo flat at Near, displaced along the view axis, instead of points on their camera rays"),
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
        # One value per object, never a per-point attribute: no attribute toggle in the modifier panel.
        socket.force_non_field = True
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
        return self.out("GeometryNodeSwitch", name, [(0, condition), ("False", if_false), ("True", if_true)],
                        output="Output", input_type=input_type)

    def capture(self, name, domain, geometry, item_name, data_type, value):
        """A Capture Attribute node storing one field (its items are created, not set, so not a property)."""
        node = self.node("GeometryNodeCaptureAttribute", name, [("Geometry", geometry)], domain=domain)
        node.capture_items.new(data_type, item_name)
        self.tree.links.new(value, _socket(node.inputs, item_name))
        return node


def _socket(sockets, key):
    """Socket by index, name or identifier (names change between versions, e.g. "Geometry" became "Mesh");
    for nodes with one socket per data type, the one that is enabled."""
    if isinstance(key, int):
        return sockets[key]
    for socket in sockets:
        if key in (socket.name, socket.identifier) and socket.enabled:
            return socket
    raise KeyError(key)


def _build_nodes(b: _Builder):
    # Grid size from the depth image's aspect (the photo's): `resolution` vertices along its longer side.
    info = b.node("GeometryNodeImageInfo", "Depth Image Info", [("Image", b.input(DEPTH_IMAGE))])
    width, height = _socket(info.outputs, "Width"), _socket(info.outputs, "Height")
    longer_side = b.math("Longer Side", "MAXIMUM", width, height)
    width_fraction = b.math("Width Fraction", "DIVIDE", width, longer_side)
    height_fraction = b.math("Height Fraction", "DIVIDE", height, longer_side)
    resolution = b.input(RESOLUTION)
    vertices_x = b.math("Vertices X", "MAXIMUM", b.math(
        "Round X", "ROUND", b.math("Scaled X", "MULTIPLY", width_fraction, resolution)), 2.0)
    vertices_y = b.math("Vertices Y", "MAXIMUM", b.math(
        "Round Y", "ROUND", b.math("Scaled Y", "MULTIPLY", height_fraction, resolution)), 2.0)

    # The photo's frame on the image plane at distance 1 along the view axis (the longer side spans the
    # sensor width): a point (x, y) of this frame at distance z is the camera-space point (x z, y z, -z).
    ray_scale = b.math("Sensor Over Focal", "DIVIDE", b.input(SENSOR_WIDTH), b.input(FOCAL_LENGTH))
    frame_width = b.math("Frame Width", "MULTIPLY", width_fraction, ray_scale)
    frame_height = b.math("Frame Height", "MULTIPLY", height_fraction, ray_scale)
    frame_to_uv = b.combine("Frame To UV", b.math("Inverse Frame Width", "DIVIDE", 1.0, frame_width),
                            b.math("Inverse Frame Height", "DIVIDE", 1.0, frame_height))
    grid_width = b.math("Grid Width", "MULTIPLY", frame_width, 1.0 + 2.0 * FRAME_MARGIN)
    grid_height = b.math("Grid Height", "MULTIPLY", frame_height, 1.0 + 2.0 * FRAME_MARGIN)

    def uv_of(name, frame_point):
        """Photo coordinates (u, v, 0) of a point on the frame: 0..1 across the photo (a little beyond in the
        margin), v = 0 at the bottom like Blender images."""
        return b.vector_math(name, "MULTIPLY_ADD", frame_point, frame_to_uv, (0.5, 0.5, 0.0))

    # Relative inverse depth d maps to 1/z = 1/far + d * (1/near - 1/far): near for d = 1, far for d = 0,
    # linear in inverse depth so that planes in the scene stay planes.
    inverse_far = b.math("Inverse Far", "DIVIDE", 1.0, b.input(FAR))
    inverse_near = b.math("Inverse Near", "DIVIDE", 1.0, b.input(NEAR))
    inverse_range = b.math("Inverse Range", "SUBTRACT", inverse_near, inverse_far)

    # Sampling reads the depth image in the grid's vertex order (see below), so that consecutive vertices read
    # neighbouring pixels of a row. When the grid is no finer than the image, each vertex takes its nearest
    # pixel: that is within half a pixel of the bilinear value, costs half as much, and keeps a depth edge a
    # clean step for tearing instead of giving the vertex on it an in-between "flying pixel" depth. A finer
    # grid interpolates bilinearly so that it does not turn slopes into terraces.
    nearest_pixel = b.out("FunctionNodeCompare", "Grid Within Image", [("A", resolution), ("B", longer_side)],
                          output="Result", data_type="FLOAT", operation="LESS_EQUAL")

    def distance_at(name, uv):
        """Distance along the view axis sampled from the depth image at photo coordinates `uv`."""
        samples = [b.out("GeometryNodeImageTexture", f"{name} {interpolation} Sample",
                         [("Image", b.input(DEPTH_IMAGE)), ("Vector", uv)],
                         output="Color", interpolation=interpolation, extension="EXTEND")
                   for interpolation in ("Linear", "Closest")]
        color = b.switch(name + " Sample", nearest_pixel, *samples, input_type="RGBA")
        # Separate Color keeps the red channel exact; the implicit colour-to-float conversion is a luminance.
        value = b.out("FunctionNodeSeparateColor", name + " Value", [(0, color)], output="Red")
        inverse = b.math(name + " Inverse", "MULTIPLY_ADD", value, inverse_range, inverse_far)
        relative = b.math(name + " Relative", "DIVIDE", 1.0, inverse)
        return b.switch(name + " Kind", b.input(METRIC_DEPTH), relative, value)

    # Until the projection at the end, a point is (x, y) on the frame and z = its distance: tearing and UVs
    # work on the undistorted frame, and the projection is done once.
    # Mesh Grid numbers its vertices along its Y axis first. Built with its X axis down the photo and turned
    # a quarter turn clockwise, consecutive vertices run along the photo's rows, the order in which the depth
    # image's pixels lie in memory: sampling then reads from cache instead of striding across the image.
    b.next_column()
    grid = b.out("GeometryNodeMeshGrid", "Grid", [("Size X", grid_height), ("Size Y", grid_width),
                                                  ("Vertices X", vertices_y), ("Vertices Y", vertices_x)])
    # Smooth normals for the "lit" material (the unlit one ignores them). Mesh Grid marks every face flat with
    # a "sharp_face" attribute: removing it costs nothing per face, where Set Shade Smooth would write every
    # face, and tearing below has one attribute less to copy.
    grid = b.out("GeometryNodeRemoveAttribute", "Smooth Grid", [("Geometry", grid), ("Name", "sharp_face")])
    grid_x, grid_y, _ = b.separate("Grid Position", b.out("GeometryNodeInputPosition", "Position"))
    frame_y = b.math("Grid X Down The Photo", "MULTIPLY", grid_x, -1.0)
    grid_distance = distance_at("Grid Depth", uv_of("Grid UV", b.combine("Grid Frame Point", grid_y, frame_y)))
    surface = b.out("GeometryNodeSetPosition", "Grid Depth",
                    [("Geometry", grid), ("Position", b.combine("Grid Point", grid_y, frame_y, grid_distance))])
    position = b.out("GeometryNodeInputPosition", "Frame Position")

    # Tearing: a face is torn when its farthest corner is more than (1 + threshold) times its nearest.
    b.next_column()
    distance = b.separate("Distance", position)[2]
    # Captured once: each corner lookup below would evaluate the field over all the points again.
    distance_capture = b.capture("Capture Distance", "POINT", surface, "Distance", "FLOAT", distance)
    stored_distance = _socket(distance_capture.outputs, "Distance")
    # The corners' vertices. Mesh Grid numbers vertices line by line, `vertices_x` to a line (see above), and
    # face f of line l = floor(f / (vertices_x - 1)) has corners v, v + n, v + n + 1, v + 1 with v = f + l and
    # n = vertices_x: cheaper than looking them up in the topology. Math nodes compute in float, exact for
    # indices up to 2^24; larger grids use the topology lookup.
    face_index = b.out("GeometryNodeInputIndex", "Face Index")
    face_line = b.math("Face Line", "FLOOR", b.math(
        "Face Line Fraction", "DIVIDE", face_index, b.math("Faces Per Line", "SUBTRACT", vertices_x, 1.0)))
    # Captured once too: each lookup would compute it again.
    first_vertex_capture = b.capture("Capture First Corner", "FACE", _socket(distance_capture.outputs, "Geometry"),
                                     "First Corner Vertex", "INT",
                                     b.math("First Corner Vertex", "ADD", face_index, face_line))
    first_vertex = _socket(first_vertex_capture.outputs, "First Corner Vertex")
    line_plus_one = b.math("Line Plus One", "ADD", vertices_x, 1.0)
    computed_indices = (first_vertex, b.math("Corner 1 Vertex Sum", "ADD", first_vertex, vertices_x),
                        b.math("Corner 2 Vertex Sum", "ADD", first_vertex, line_plus_one),
                        b.math("Corner 3 Vertex Sum", "ADD", first_vertex, 1.0))
    index_is_exact = b.math("Exact Vertex Sums", "LESS_THAN", b.math(
        "Grid Vertex Count", "MULTIPLY", vertices_x, vertices_y), 2.0**24 + 0.5)
    corner_distances = []
    for corner in range(4):
        corner_index = b.out("GeometryNodeCornersOfFace", f"Corner {corner}", [("Sort Index", corner)],
                             output="Corner Index")
        looked_up = b.out("GeometryNodeVertexOfCorner", f"Corner {corner} Vertex Lookup",
                          [("Corner Index", corner_index)], output="Vertex Index")
        vertex_index = b.switch(f"Corner {corner} Vertex", index_is_exact, looked_up, computed_indices[corner], "INT")
        # Looked up on the point domain: reading the distance on corners would first copy it to every corner.
        corner_distances.append(b.out("GeometryNodeFieldAtIndex", f"Corner {corner} Depth",
                                      [("Index", vertex_index), ("Value", stored_distance)], output="Value",
                                      domain="POINT", data_type="FLOAT"))
    farthest = b.math("Farthest Corner", "MAXIMUM", b.math("Farthest 01", "MAXIMUM", *corner_distances[:2]),
                      b.math("Farthest 23", "MAXIMUM", *corner_distances[2:]))
    nearest = b.math("Nearest Corner", "MINIMUM", b.math("Nearest 01", "MINIMUM", *corner_distances[:2]),
                     b.math("Nearest 23", "MINIMUM", *corner_distances[2:]))
    tear_limit = b.math("Tear Limit", "MULTIPLY", nearest, b.math("Tear Ratio", "ADD", b.input(TEAR_THRESHOLD), 1.0))
    jumps = b.out("FunctionNodeCompare", "Depth Jumps", [("A", farthest), ("B", tear_limit)], output="Result",
                  data_type="FLOAT", operation="GREATER_THAN")
    # Captured once: deleting the torn faces and copying them would each evaluate the field again.
    capture = b.capture("Capture Torn", "FACE", _socket(first_vertex_capture.outputs, "Geometry"), "Torn",
                        "BOOLEAN", jumps)
    captured, torn = _socket(capture.outputs, "Geometry"), _socket(capture.outputs, "Torn")
    # Faces and their edges only: the vertices stay as they are (shared, neither copied nor renumbered). A vertex
    # whose every face tore is left loose, which nothing draws or renders.
    intact = b.out("GeometryNodeDeleteGeometry", "Delete Torn Faces", [("Geometry", captured), ("Selection", torn)],
                   domain="FACE", mode="EDGE_FACE")

    # A torn face becomes 2x2 separate patches, each flat at the distance of the corner it touches: seen from
    # the camera they still cover the whole face, each side of the tear showing its half of the pixels.
    # Copy k of a torn face (its own four points) becomes the patch of its corner k: every point moves halfway
    # to that corner on the frame (the corner stays, its neighbours become edge midpoints, the opposite corner
    # the centre) and takes its distance. Copying only the torn faces and deleting them from the grid is
    # cheaper than separating, subdividing and splitting them.
    b.next_column()
    copies = b.node("GeometryNodeDuplicateElements", "Copy Torn Faces",
                    [("Geometry", captured), ("Selection", torn), ("Amount", 4)], domain="FACE")
    patch_corner = b.out("GeometryNodeCornersOfFace", "Patch Corner",
                         [("Sort Index", _socket(copies.outputs, "Duplicate Index"))], output="Corner Index")
    patch_corner_vertex = b.out("GeometryNodeVertexOfCorner", "Patch Corner Vertex",
                                [("Corner Index", patch_corner)], output="Vertex Index")
    patch_corner_point = b.out("GeometryNodeFieldAtIndex", "Patch Corner Point", [
        ("Index", patch_corner_vertex), ("Value", position)], output="Value", domain="POINT", data_type="FLOAT_VECTOR")
    # Looked up per copy, then read on its points: after copying, every point has exactly one face.
    corner_point = b.out("GeometryNodeFieldOnDomain", "Patch Corner On Points", [("Value", patch_corner_point)],
                         output="Value", domain="FACE", data_type="FLOAT_VECTOR")
    corner_distance = b.separate("Patch Corner Distance", corner_point)[2]
    patch_point = b.vector_math("Patch Point", "MULTIPLY_ADD", b.vector_math(
        "Patch Point Sum", "ADD", position, corner_point), (0.5, 0.5, 0.0), b.combine("Patch Depth", z=corner_distance))
    flat_patches = b.out("GeometryNodeSetPosition", "Flatten Patches", [
        ("Geometry", _socket(copies.outputs, "Geometry")), ("Position", patch_point)])
    joined = b.node("GeometryNodeJoinGeometry", "Join")
    # Join takes a multi-input socket: the torn patches first, the intact faces second.
    b.tree.links.new(flat_patches, joined.inputs[0])
    b.tree.links.new(intact, joined.inputs[0])
    # A threshold of 0 turns tearing off, and the switch skips its cost.
    tearing_on = b.math("Tearing On", "GREATER_THAN", b.input(TEAR_THRESHOLD), 0.0)
    torn_surface = b.switch("Tearing", tearing_on, surface, _socket(joined.outputs, "Geometry"), "GEOMETRY")

    # Every corner shows the photo at its own frame position: each vertex shows its own pixel. (Captured on
    # points, then copied to corners, which Blender 4.2 does faster from a captured attribute than from a Field On
    # Domain node; stored after tearing so that tearing has less data to copy.)
    b.next_column()
    uv_capture = b.capture("Capture Point UV", "POINT", torn_surface, "UV", "VECTOR", uv_of("Frame UV", position))
    with_uv = b.out("GeometryNodeStoreNamedAttribute", "Store UV Map", [
        ("Geometry", _socket(uv_capture.outputs, "Geometry")), ("Name", UV_MAP_NAME),
        ("Value", _socket(uv_capture.outputs, "UV"))], data_type="FLOAT2", domain="CORNER")

    # Projection. Depth scale stretches distances away from Near: z' = near + (z - near) s, written
    # z' = z s + near (1 - s); perspective puts (x, y) on the ray, (x z', y z', -z'), relief on the plane at
    # Near, (x near, y near, -z'). (Near, not the nearest sampled distance: that statistic would cost a sort.)
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
    projected = b.out("GeometryNodeSetPosition", "Project To Camera",
                      [("Geometry", with_uv), ("Position", camera_point)])
    # Mesh Grid gives its mesh one empty material slot, which every face uses: filling that slot costs nothing
    # per face, where Set Material would add the material as a second slot and write every face's index.
    with_material = b.out("GeometryNodeReplaceMaterial", "Fill Material Slot",
                          [("Geometry", projected), ("New", b.input(MATERIAL))])  # "Old": none
    output = b.node("NodeGroupOutput", "Group Output")
    b.tree.links.new(with_material, output.inputs[0])
