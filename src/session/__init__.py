"""ChimeraX helpers that the commands and the panel share, imported downward only: the
maps to work on (maps), object classes and their colours (classes), settings, progress in
the status line and log (reporting), the readout of ids under the mouse (readout), tile
sets as GridData (tilegrid), and compat: every use of a ChimeraX internal.
"""
