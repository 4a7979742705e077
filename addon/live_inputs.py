"""The photo object's live controls, declared once.

Each entry is one input of the "Monocular Photo" node group that an artist tweaks after the object is built
(changing it re-evaluates the group, never the network). From this table come the group's interface
(`node_group.py`), the add operator's properties (`operators/add_photo.py`), the values `create_photo_object`
sets on the modifier (`photo_object.py`) and the N-panel (`ui/sidebar.py`). Adding a live input is one entry
here plus the nodes that use it.

Nothing here imports bpy: the Blender properties are made by `operator_property()` on demand.
"""

from dataclasses import dataclass

# Interface panels, in the order the modifier and the N-panel show them.
PANELS = ("Depth", "Mesh", "Background", "Camera")

# unit: (group socket subtype, operator property unit, operator property subtype)
_UNITS = {
    "NONE": ("NONE", "NONE", "NONE"),
    "LENGTH": ("DISTANCE", "LENGTH", "DISTANCE"),
    "CAMERA": ("NONE", "CAMERA", "NONE"),  # millimetres of a lens or sensor; sockets have no such subtype
    "FACTOR": ("FACTOR", "NONE", "FACTOR"),
}


@dataclass(frozen=True)
class LiveInput:
    attribute: str  # Python name: the operator property and the key of `PhotoObjectSettings.inputs`
    name: str  # the group input's name, shown in the modifier, the N-panel and the operator
    socket: int  # the group input's identifier is f"Socket_{socket}": scripts and drivers rely on it, never reuse
    kind: str  # "FLOAT", "INT" or "BOOLEAN"
    default: float | int | bool
    description: str
    panel: str  # one of PANELS
    minimum: float | int | None = None
    maximum: float | int | None = None
    soft_maximum: float | int | None = None  # the operator's slider range; the group clamps at `maximum`
    unit: str = "NONE"  # a key of _UNITS
    # Not remembered between runs of the operator (e.g. a value the photo's EXIF provides when not set).
    skip_save: bool = False

    @property
    def socket_type(self) -> str:
        return {"FLOAT": "NodeSocketFloat", "INT": "NodeSocketInt", "BOOLEAN": "NodeSocketBool"}[self.kind]

    @property
    def identifier(self) -> str:
        return f"Socket_{self.socket}"

    @property
    def socket_subtype(self) -> str:
        return _UNITS[self.unit][0]


LIVE_INPUTS = [
    LiveInput(
        "near",
        "Near",
        3,
        "FLOAT",
        1.0,
        "Distance of the nearest point of the photo (relative inverse depth 1); Depth Scale and Relief "
        "pivot here. Relative depth only",
        "Depth",
        minimum=1e-4,
        maximum=1e6,
        unit="LENGTH",
    ),
    LiveInput(
        "far",
        "Far",
        4,
        "FLOAT",
        10.0,
        "Distance of the farthest point of the photo (relative inverse depth 0). Relative depth only",
        "Depth",
        minimum=1e-4,
        maximum=1e6,
        unit="LENGTH",
    ),
    LiveInput(
        "depth_scale",
        "Depth Scale",
        5,
        "FLOAT",
        1.0,
        "Stretch distances along the camera rays away from Near (1: as estimated); the camera's view does not change",
        "Depth",
        minimum=0.0,
        maximum=100.0,
        soft_maximum=10.0,
    ),
    LiveInput(
        "resolution",
        "Resolution",
        6,
        "INT",
        256,
        "Vertices along the photo's longer side",
        "Mesh",
        minimum=2,
        maximum=8192,
        soft_maximum=2048,
    ),
    LiveInput(
        "focal_length",
        "Focal Length",
        7,
        "FLOAT",
        35.0,
        "Focal length of the camera that took the photo, in millimetres for the sensor width; default: "
        "the photo's EXIF 35 mm-equivalent focal length, else 35 mm",
        "Camera",
        minimum=1.0,
        maximum=5000.0,
        soft_maximum=500.0,
        unit="CAMERA",
        skip_save=True,
    ),
    LiveInput(
        "sensor_width",
        "Sensor Width",
        8,
        "FLOAT",
        36.0,
        "Width of the camera's sensor along the photo's longer side, in millimetres "
        "(36 mm: full frame, the frame of 35 mm-equivalent focal lengths)",
        "Camera",
        minimum=1.0,
        maximum=1000.0,
        soft_maximum=100.0,
        unit="CAMERA",
    ),
    LiveInput(
        "tear_threshold",
        "Tear Threshold",
        9,
        "FLOAT",
        0.1,
        "Tear faces whose farthest corner is more than this fraction farther than their nearest, so "
        "foreground edges separate from the background instead of stretching (0: never tear)",
        "Mesh",
        minimum=0.0,
        maximum=100.0,
        soft_maximum=1.0,
        unit="FACTOR",
    ),
    LiveInput(
        "relief",
        "Relief",
        10,
        "BOOLEAN",
        False,
        "Bas-relief: the photo flat at Near, displaced along the view axis, instead of points on their camera rays",
        "Mesh",
    ),
    # Sockets 12 and 13 are wiring inputs (the background layer's depth image and material, see node_group.py).
    LiveInput(
        "background",
        "Background",
        14,
        "BOOLEAN",
        True,
        "Show the background layer: what a moving camera reveals behind the depth edges and beyond the "
        "photo's frame (objects built without it have none until Re-estimate)",
        "Background",
    ),
    LiveInput(
        "background_reach",
        "Background Reach",
        15,
        "FLOAT",
        1.0,
        "How far the background layer reaches under the foreground behind each depth edge, as a fraction of "
        "the widest reveal it was filled for (0: only a seam along the edge)",
        "Background",
        minimum=0.0,
        maximum=1.0,
        unit="FACTOR",
    ),
    LiveInput(
        "border_margin",
        "Border Margin",
        16,
        "FLOAT",
        0.1,
        "How far the scene continues beyond each side of the photo's frame, as a fraction of the frame "
        "(at most 0.2, the margin the layer was filled for)",
        "Background",
        minimum=0.0,
        maximum=0.2,
        unit="FACTOR",
    ),
]


def live_input(attribute: str) -> LiveInput:
    """The entry of `LIVE_INPUTS` for an attribute name."""
    for spec in LIVE_INPUTS:
        if spec.attribute == attribute:
            return spec
    raise KeyError(attribute)


def defaults() -> dict:
    """{attribute: default} of every live input."""
    return {spec.attribute: spec.default for spec in LIVE_INPUTS}


def operator_property(spec: LiveInput):
    """The bpy property that shows `spec` on an operator (same name, default, limits, unit and tooltip)."""
    from bpy.props import BoolProperty, FloatProperty, IntProperty

    options = {"SKIP_SAVE"} if spec.skip_save else set()
    if spec.kind == "BOOLEAN":
        return BoolProperty(name=spec.name, description=spec.description, default=spec.default, options=options)
    limits = {}
    if spec.minimum is not None:
        limits["min"] = spec.minimum
    if spec.maximum is not None:
        limits["max"] = spec.maximum
    if spec.soft_maximum is not None:
        limits["soft_max"] = spec.soft_maximum
    if spec.kind == "INT":
        return IntProperty(
            name=spec.name, description=spec.description, default=spec.default, options=options, **limits
        )
    _subtype, unit, subtype = _UNITS[spec.unit]
    return FloatProperty(
        name=spec.name,
        description=spec.description,
        default=spec.default,
        options=options,
        unit=unit,
        subtype=subtype,
        **limits,
    )
