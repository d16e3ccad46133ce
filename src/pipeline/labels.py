"""The one rule for telling a label map (a segmentation: region ids) from an image.

EM images are bytes (uint8) or floats; region ids are integers wider than a byte (the
authors' are uint32; small volumes may use uint16).  Combine uses the rule to pick mode
downsampling (averaging ids would invent regions), the panel and the commands to pick the
segmentation among open maps, ``connectome ids`` to refuse writing attributes into an
image.  Pure: numpy.
"""

import numpy as np


def is_label_type(value_type):
    """True for integer voxel values wider than a byte: region ids, not EM intensities."""
    value_type = np.dtype(value_type)
    return np.issubdtype(value_type, np.integer) and value_type.itemsize > 1
