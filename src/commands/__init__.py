"""The ``connectome`` commands, one module per command family, each function beside its
CmdDesc as in ChimeraX's own bundles.  bundle_info.xml declares the commands; ChimeraX
calls ``register_command`` the first time one is used, and COMMANDS says which module
registers it.
"""

import importlib

# command name -> (module, registration function)
COMMANDS = {
    'connectome demo': ('demo', 'register_demo_command'),
    'connectome combine': ('combine', 'register_combine_command'),
    'connectome ids': ('ids', 'register_ids_command'),
    'connectome color': ('color', 'register_color_command'),
    'connectome uncolor': ('color', 'register_uncolor_command'),
    'connectome surfaces': ('color', 'register_surfaces_command'),
    'connectome at': ('at', 'register_at_command'),
    'connectome panel': ('panel', 'register_panel_command'),
    'connectome synapses': ('wiring', 'register_synapses_command'),
    'connectome partners': ('wiring', 'register_partners_command'),
    'connectome skeletons': ('skeletons', 'register_skeletons_command'),
    'connectome show': ('show', 'register_show_command'),
    'connectome table': ('table', 'register_table_command'),
    'connectome meshes': ('meshes', 'register_meshes_command'),
}


def register_command(command_name, logger):
    try:
        module_name, function_name = COMMANDS[command_name]
    except KeyError:
        raise ValueError('bundle_info.xml declares command "%s" but chimerax.connectome.commands'
                         ' has no registration for it' % command_name) from None
    module = importlib.import_module('.' + module_name, __package__)
    getattr(module, function_name)(logger)
