"""The "Monocular Photo" tab of the 3D Viewport sidebar (N-panel)."""

from bpy.types import Panel

from .. import live_inputs
from ..depth import paths
from ..operators.add_photo import MESH_OT_monocular_photo_add
from ..operators.camera_move import OBJECT_OT_monocular_photo_camera_move
from ..operators.reestimate import OBJECT_OT_monocular_photo_reestimate
from ..operators.render_video import OBJECT_OT_monocular_photo_render_video
from ..photo_object import depth_image, is_photo_object, modifier_input_property, photo_modifier


def live_input_items(node_group, panel=None):
    """The group's live inputs (`live_inputs.LIVE_INPUTS`, of `panel` when given) that it has, in table order.

    A group made by an older add-on version may lack inputs added since: those are left out."""
    sockets = {
        item.name: item
        for item in node_group.interface.items_tree
        if item.item_type == 'SOCKET' and item.in_out == 'INPUT'
    }
    return [
        sockets[spec.name] for spec in live_inputs.LIVE_INPUTS if spec.name in sockets and panel in (None, spec.panel)
    ]


def draw_live_inputs(layout, modifier):
    """The modifier's live inputs, in one sub-panel per interface panel."""
    for panel in live_inputs.PANELS:
        items = live_input_items(modifier.node_group, panel)
        if not items:
            continue
        header, body = layout.panel(f"monocular_photo_live_{panel.lower()}", default_closed=False)
        header.label(text=panel)
        if body:
            for item in items:
                body.prop(*modifier_input_property(modifier, item.name), text=item.name)


class VIEW3D_PT_monocular_photo(Panel):
    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "Monocular Photo"
    bl_label = "Monocular Photo"

    def draw(self, context):
        layout = self.layout
        if paths.DEV_BUILD_MARKER.is_file():
            layout.label(text="Development build: test model", icon='ERROR')
        obj = context.active_object
        if not is_photo_object(obj):
            layout.label(text="The active object is not a photo object.", icon='INFO')
            layout.operator_context = 'INVOKE_DEFAULT'
            layout.operator(MESH_OT_monocular_photo_add.bl_idname, text="Add Monocular Photo", icon='IMAGE_DATA')
            return

        layout.use_property_split = True
        layout.use_property_decorate = False
        modifier = photo_modifier(obj)

        # The modifier's own inputs: editing them here re-evaluates the node group, never the network.
        draw_live_inputs(layout, modifier)

        header, body = layout.panel("monocular_photo_source", default_closed=False)
        header.label(text="Depth Source")
        if body:
            provenance = obj.monocular_photo
            col = body.column()
            col.enabled = False  # provenance: shown, changed only by re-estimating
            col.prop(provenance, "photo_path")
            col.prop(provenance, "model_id")
            col.prop(provenance, "depth_kind")
            if provenance.provider:
                col.prop(provenance, "provider")
            col.prop(provenance, "refined_edges")
            body.operator_menu_enum(
                OBJECT_OT_monocular_photo_reestimate.bl_idname, "model", text="Re-estimate Depth", icon='FILE_REFRESH'
            )

        image = depth_image(obj)
        header, body = layout.panel("monocular_photo_depth_preview", default_closed=True)
        header.label(text="Depth Map")
        if body and image is not None:
            body.label(text=f"{image.name}  {image.size[0]} x {image.size[1]}")
            body.template_icon(icon_value=image.preview_ensure().icon_id, scale=8.0)


class VIEW3D_PT_monocular_photo_camera_move(Panel):
    """Camera Move: key a preset move on the photo object's camera and render it as a video."""

    bl_space_type = 'VIEW_3D'
    bl_region_type = 'UI'
    bl_category = "Monocular Photo"
    bl_label = "Camera Move"

    @classmethod
    def poll(cls, context):
        return is_photo_object(context.active_object)

    def draw(self, context):
        layout = self.layout
        layout.use_property_split = True
        layout.use_property_decorate = False
        settings = context.scene.monocular_photo_camera_move
        layout.prop(settings, "preset")
        layout.prop(settings, "intensity")
        layout.prop(settings, "duration")
        move = layout.operator(OBJECT_OT_monocular_photo_camera_move.bl_idname, text="Apply Move", icon='CAMERA_DATA')
        move.preset = settings.preset
        move.intensity = settings.intensity
        move.duration = settings.duration
        move.fps = context.scene.render.fps
        layout.operator_context = 'INVOKE_DEFAULT'
        layout.operator(OBJECT_OT_monocular_photo_render_video.bl_idname, text="Render Video", icon='RENDER_ANIMATION')
