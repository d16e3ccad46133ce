"""Small HDF5 tile sets for tests: a known volume cut into tiles the way the authors'
data is (x{X}y{Y}z{Z}.hdf5, one 3-D dataset /data stored z,y,x), and broken variants.

The volumes are made here in numpy, so a test can compare what the bundle stitches
with the volume the tiles were cut from.
"""

import itertools
import os
from collections import Counter

import h5py
import numpy as np


def labels(shape, seed=0, cell=6, zero_fraction=0.1, max_id=300000):
    """uint32 segmentation: irregular regions of random ids, some of them 0 (background).

    Ids stay below ``max_id``: ChimeraX's segmentation colouring makes a colour table
    with one entry per id up to the largest.
    """
    rng = np.random.default_rng(seed)
    coarse = [s // cell + 3 for s in shape]
    ids = rng.integers(1, max_id, coarse, dtype=np.uint32)
    ids[rng.random(coarse) < zero_fraction] = 0
    # Jittered nearest-cell lookup gives ragged region borders and ties inside
    # downsampling blocks, like a real supervoxel segmentation.
    index = []
    for axis, n in enumerate(shape):
        i = np.arange(n).reshape([-1 if a == axis else 1 for a in range(3)])
        jitter = rng.integers(0, cell, shape) if axis == 2 else rng.integers(0, cell, [
            n if a == axis else 1 for a in range(3)])
        index.append(np.clip((i + jitter) // cell, 0, coarse[axis] - 1))
    return ids[index[0], index[1], index[2]]


def image(shape, seed=0):
    """uint8 EM-like image: smooth structure plus noise."""
    rng = np.random.default_rng(seed)
    z, y, x = np.ogrid[:shape[0], :shape[1], :shape[2]]
    smooth = 100 + 60 * np.sin(x / 7.0) * np.cos(y / 11.0) + 30 * np.sin(z / 5.0)
    return np.clip(smooth + rng.normal(0, 20, shape), 0, 255).astype(np.uint8)


def tile_name(position, pattern='x{X}y{Y}z{Z}', first_index=0, suffix='.hdf5'):
    x, y, z = (p + first_index for p in position)
    return pattern.format(X=x, Y=y, Z=z) + suffix


def tile_positions(volume_shape, tile_shape):
    """Grid positions (x, y, z) of the tiles covering a z,y,x volume."""
    counts = [-(-v // t) for v, t in zip(volume_shape, tile_shape)]   # z, y, x
    return [(x, y, z) for z in range(counts[0]) for y in range(counts[1])
            for x in range(counts[2])]


def tile_slices(position, tile_shape):
    x, y, z = position
    tz, ty, tx = tile_shape
    return (slice(z * tz, (z + 1) * tz), slice(y * ty, (y + 1) * ty), slice(x * tx, (x + 1) * tx))


def write_tiles(folder, volume, tile_shape, *, chunks=True, compression='gzip',
                compression_opts=None, shuffle=False, pattern='x{X}y{Y}z{Z}', suffix='.hdf5',
                first_index=0, skip=(), dataset='data', axis_order='zyx', **dataset_kw):
    """Cut a z,y,x volume into tiles of tile_shape (z,y,x) and write one file per tile.

    ``skip`` lists grid positions (x, y, z) to leave out.  ``chunks`` is passed to h5py
    (True: h5py's choice; None with no compression: contiguous).  Returns
    {position: path}.
    """
    os.makedirs(folder, exist_ok=True)
    paths = {}
    for pos in tile_positions(volume.shape, tile_shape):
        if pos in skip:
            continue
        block = volume[tile_slices(pos, tile_shape)]
        if axis_order == 'xyz':
            block = np.ascontiguousarray(block.transpose(2, 1, 0))
        path = os.path.join(str(folder), tile_name(pos, pattern, first_index, suffix))
        with h5py.File(path, 'w') as f:
            c = chunks
            if isinstance(c, tuple):
                c = tuple(min(a, b) for a, b in zip(c, block.shape))
            f.create_dataset(dataset, data=block, chunks=c, compression=compression,
                             compression_opts=compression_opts, shuffle=shuffle, **dataset_kw)
        paths[pos] = path
    return paths


def stitched(volume, tile_shape, skip=()):
    """The volume as a tile set with the ``skip`` positions missing reads: zeros there."""
    v = volume.copy()
    for pos in skip:
        v[tile_slices(pos, tile_shape)] = 0
    return v


def truncate(path, keep_fraction=0.5):
    size = os.path.getsize(path)
    with open(path, 'r+b') as f:
        f.truncate(int(size * keep_fraction))


def rewrite(path, array, dataset='data', **dataset_kw):
    """Replace a tile's file with one holding ``array`` (another dtype, size, ...)."""
    with h5py.File(path, 'w') as f:
        f.create_dataset(dataset, data=array, **dataset_kw)


# The documented downsampling (chimerax.connectome.pyramid), block by block in plain Python:
# slow, but written from the definition, so it can check the vectorised code.

def _blocks(a, factors):
    out = tuple(-(-n // f) for n, f in zip(a.shape, factors))
    for idx in itertools.product(*(range(n) for n in out)):
        yield idx, a[tuple(slice(i * f, (i + 1) * f) for i, f in zip(idx, factors))].ravel()


def reference_mode(a, factors):
    """Most frequent non-zero value of each block, ties to the one met first; 0 if none."""
    out = np.zeros(tuple(-(-n // f) for n, f in zip(a.shape, factors)), a.dtype)
    for idx, values in _blocks(a, factors):
        counts = Counter(int(v) for v in values if v != 0)
        if counts:
            top = max(counts.values())
            out[idx] = next(int(v) for v in values if v != 0 and counts[int(v)] == top)
    return out


def reference_mean(a, factors):
    """Block average, rounded half up for integers."""
    out = np.zeros(tuple(-(-n // f) for n, f in zip(a.shape, factors)), a.dtype)
    for idx, values in _blocks(a, factors):
        m = values.astype(np.float64).mean()
        out[idx] = m if a.dtype.kind == 'f' else np.floor(m + 0.5)
    return out


def reference_levels(a, steps, method):
    """Full-resolution a (z,y,x) and each level for steps (x,y,z), each from the one below."""
    levels = [a]
    previous = (1, 1, 1)
    for step in steps:
        f = tuple(s // p for s, p in zip(reversed(step), reversed(previous)))
        below = levels[-1]
        if method == 'stride':
            levels.append(below[::f[0], ::f[1], ::f[2]])
        else:
            levels.append((reference_mode if method == 'mode' else reference_mean)(below, f))
        previous = step
    return levels
