"""Monocular Photo: one photo in, a 3D scene out (depth estimation + Geometry Nodes + matching camera).

The bpy-dependent modules are imported inside register() so that `addon.depth` stays importable from
plain Python (the batch tool, unit tests) where bpy does not exist.
"""


def register():
    from . import registration

    registration.register()


def unregister():
    from . import registration

    registration.unregister()
