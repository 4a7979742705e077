"""Menu entries: Add > Mesh > Monocular Photo."""

from ..operators.add_photo import MESH_OT_monocular_photo_add


def draw_add_mesh_entry(self, _context):
    layout = self.layout
    layout.operator_context = 'INVOKE_DEFAULT'  # open the file browser, as any import does
    layout.operator(MESH_OT_monocular_photo_add.bl_idname, text="Monocular Photo", icon='IMAGE_DATA')
