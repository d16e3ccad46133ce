"""The Connectome user interface: the tool panel (panel) and the toolbar tab (toolbar).
Every action runs a logged ``connectome`` command.
"""
