def register_command(name, logger):
    from chimerax.core.commands import CmdDesc, register, StringArg
    def demo(session, folder):
        session.logger.info('demo %s' % folder)
    register('connectome demo', CmdDesc(required=[('folder', StringArg)]), demo, logger=logger)
