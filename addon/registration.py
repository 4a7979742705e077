"""Registers the add-on's classes, the object property group, the menu entry and the asset library, and
removes them again.

Classes are registered in the order of `classes` (property groups before what points to them) and
unregistered in reverse, so register()/unregister() can run any number of times in one session.
"""

import bpy

from . import preferences, properties, video_cli
from .operators import add_photo, camera_move, reestimate, render_video
from .ui import asset_library, menus, sidebar

CLI_COMMAND = "monocular_photo"  # blender --command monocular_photo video ...
_cli_command = None  # the handle register_cli_command returned

classes = (
    preferences.MonocularPhotoPreferences,
    *properties.classes,
    add_photo.MESH_OT_monocular_photo_add,
    reestimate.OBJECT_OT_monocular_photo_reestimate,
    *camera_move.classes,
    *render_video.classes,
    sidebar.VIEW3D_PT_monocular_photo,
    sidebar.VIEW3D_PT_monocular_photo_camera_move,
)


def register():
    add_photo.add_live_input_properties()
    for cls in classes:
        bpy.utils.register_class(cls)
    properties.register_object_property()
    bpy.types.VIEW3D_MT_mesh_add.append(menus.draw_add_mesh_entry)
    asset_library.add_asset_library()
    global _cli_command
    _cli_command = bpy.utils.register_cli_command(CLI_COMMAND, video_cli.command_handler)


def unregister():
    global _cli_command
    if _cli_command is not None:
        bpy.utils.unregister_cli_command(_cli_command)
        _cli_command = None
    asset_library.remove_asset_library()
    bpy.types.VIEW3D_MT_mesh_add.remove(menus.draw_add_mesh_entry)
    properties.unregister_object_property()
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
