"""The numbers that shape a synthetic dataset: the authors' voxel size, the object classes,
how tiles are stored, the sizes (small, medium, large: SizeParameters) and their tile
grids (DatasetLayout), the clearances between cells and the EM grey levels of each
structure.  Pure: numpy.
"""

from dataclasses import dataclass

import numpy as np

from ..errors import InputError

VOXEL_SIZE = (11.24, 11.24, 28.0)          # x, y, z nm, as the authors' data
CLASSES = ('axon', 'dendrite', 'spinehead', 'neuron', 'presynapse', 'postsynapse')
FILE_STEMS = {name: name + 's' for name in CLASSES}
SEGMENTATION_CHUNK = 64
SEGMENTATION_GZIP_LEVEL = 4
HALO = 4                                    # voxels around a tile: membranes, blur, even


@dataclass(frozen=True)
class SizeParameters:
    """The numbers of one size: tiles of T^3 voxels on a grid of tiles (x, y, z); counts of
    cells; soma radius and region (supervoxel) and glia lattice spacings in nm.  Only the
    soma is scaled down (a real one is ~15 um across, larger than the small volume);
    neurites keep their size."""
    tile_size: int
    grid_shape: tuple               # tiles (x, y, z)
    neurons: int
    soma_radius: float
    dendrite_fragments: int
    axons: int
    region_spacing: float
    glia_spacing: float


SIZES = {
    'small': SizeParameters(tile_size=64, grid_shape=(3, 3, 2), neurons=1, soma_radius=420.0,
                            dendrite_fragments=4, axons=40, region_spacing=180.0,
                            glia_spacing=1300.0),
    'medium': SizeParameters(tile_size=128, grid_shape=(5, 5, 3), neurons=2,
                             soma_radius=1000.0, dendrite_fragments=9, axons=70,
                             region_spacing=260.0, glia_spacing=2500.0),
    'large': SizeParameters(tile_size=256, grid_shape=(4, 5, 2), neurons=3,
                            soma_radius=1400.0, dendrite_fragments=16, axons=150,
                            region_spacing=330.0, glia_spacing=4000.0),
}

GAP = 15.0             # nm of extracellular space kept around cells (before glia)
CLEARANCE = 30.0       # nm between cells when the geometry is laid out
CONTACT = 14.0         # nm by which a bouton and its partner overlap: a flat contact

# EM grey levels
ECS, MEMBRANE, NEURITE, GLIA = 85.0, 55.0, 182.0, 166.0
MITO, MITO_RIM, NUCLEUS, ENVELOPE, VESICLE, PSD = 112.0, 72.0, 152.0, 78.0, 70.0, 62.0


@dataclass(frozen=True)
class DatasetLayout:
    """The tile grid of a size.  ``extent`` and ``notch`` are ((x0,y0,z0), (x1,y1,z1)),
    0-based with exclusive stops: the imaged voxels are those inside extent and not inside
    notch.  ``present`` and ``absent`` are the tile positions (x, y, z) with and without an
    imaged voxel, in z, y, x order."""
    tile_size: int
    grid_shape: tuple               # tiles (x, y, z)
    extent: tuple
    notch: tuple
    present: tuple
    absent: tuple


def size_parameters(size):
    """The SizeParameters of a size name; an InputError naming the sizes if unknown."""
    if size not in SIZES:
        raise InputError('unknown dataset size %r: choose %s' % (size, ', '.join(SIZES)))
    return SIZES[size]


def dataset_layout(size):
    """The DatasetLayout of a size name."""
    p = size_parameters(size)
    t = p.tile_size
    gx, gy, gz = p.grid_shape
    # The original's margins as fractions of its 1024-voxel tiles (X 104-6793, Y 104-10048,
    # Z 119-3538, one-based, in a 7 x 10 x 4 grid).
    start = (round(0.10 * t), round(0.10 * t), round(0.116 * t))
    stop = (gx * t - round(0.366 * t), gy * t - round(0.188 * t), gz * t - round(0.546 * t))
    notch = ((round((gx - 1.4) * t), start[1], start[2]), (stop[0], round(1.3 * t), stop[2]))
    present, absent = [], []
    for z in range(gz):
        for y in range(gy):
            for x in range(gx):
                lo = np.maximum(np.array((x, y, z)) * t, start)
                hi = np.minimum(np.array((x + 1, y + 1, z + 1)) * t, stop)
                inside = bool(np.all(lo < hi))
                in_notch = inside and bool(np.all(lo >= notch[0]) and np.all(hi <= notch[1]))
                (present if inside and not in_notch else absent).append((x, y, z))
    return DatasetLayout(tile_size=t, grid_shape=tuple(p.grid_shape), extent=(start, stop),
                         notch=notch, present=tuple(present), absent=tuple(absent))
