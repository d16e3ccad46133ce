"""Which module registers each ``connectome`` command.

bundle_info.xml declares the commands; ChimeraX calls ``register_command`` the first time
one is used.  Each command's function and its CmdDesc live side by side in the module
named here (democmd.py, combinecmd.py, ...), as in ChimeraX's own bundles.
"""

import importlib

# command name -> (module, registration function)
COMMANDS = {
    'connectome demo': ('democmd', 'register_demo_command'),
    'connectome combine': ('combinecmd', 'register_combine_command'),
    'connectome ids': ('idscmd', 'register_ids_command'),
    'connectome color': ('colorcmd', 'register_color_command'),
    'connectome uncolor': ('colorcmd', 'register_uncolor_command'),
    'connectome surfaces': ('colorcmd', 'register_surfaces_command'),
    'connectome at': ('atcmd', 'register_at_command'),
    'connectome panel': ('tool', 'register_panel_command'),
}


def register_command(command_name, logger):
    try:
        module_name, function_name = COMMANDS[command_name]
    except KeyError:
        raise ValueError('bundle_info.xml declares command "%s" but chimerax.connectome.cmd'
                         ' has no registration for it' % command_name) from None
    module = importlib.import_module('.' + module_name, __package__)
    getattr(module, function_name)(logger)
