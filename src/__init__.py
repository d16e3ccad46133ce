from chimerax.core.toolshed import BundleAPI

class _ConnectomeAPI(BundleAPI):
    api_version = 1

    @staticmethod
    def register_command(bi, ci, logger):
        from . import cmd
        cmd.register_command(ci.name, logger)

bundle_api = _ConnectomeAPI()
