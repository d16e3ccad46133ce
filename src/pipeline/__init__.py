"""The pipeline, pure (numpy and the formats below it; never chimerax): multiresolution
pyramids (pyramid), the streaming combine engine (combine), per-region attribute arrays
(attributes), object classes as the panel shows them (classes) and the one rule for what
is a label map (labels).
"""
