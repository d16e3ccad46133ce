"""Multiresolution pyramids: which subsample steps to store and how to compute a level.

``auto_steps`` picks ChimeraX subsample steps (i,j,k = x,y,z) that first make voxels
closer to isotropic and then halve every axis, down to a small volume (for 11.24 x 11.24
x 28 nm voxels: 2,2,1 then 4,4,2, 8,8,4 ...).  ``downsample`` computes one level from
the one below it, by blocks of ``factors`` voxels:

- ``mode``: the most frequent non-zero value in the block (0 if the block is all 0); a tie
  goes to the value met first in block order (z, then y, then x).  For segmentations:
  a region id survives where it covers most of the block, and a region never gives way
  to background (0) it outnumbers or ties.  Integer blocks of 2x2x2 are computed by
  tinybrain (seung-lab), which keeps exactly this rule (see ``_tinybrain_mode``), blocks
  of 1x2x2 by the compiled loop of modekernel.py (where numba is installed); other factors and types by the numpy
  code here, which is also the reference the tests hold both to.
- ``mean``: the block average, rounded half up for integer types.  For images.
- ``stride``: the block's first voxel, which is what ChimeraX's own writer stores.

Each level is computed from the level below (not from full resolution), and blocks at
the far edges are partial: they use the voxels they have.  Level sizes are
ceil(size / step), as ChimeraX expects.  Arrays are z,y,x; factors here are z,y,x too.
Pure: numpy, tinybrain and (modekernel.py, when installed) numba.
"""

import math

import numpy as np
import tinybrain.accelerated


from ..blocks import grid_shape
from .labels import is_label_type

METHODS = ('mode', 'mean', 'stride')
# 'fast': tinybrain for 2x2x2 blocks, modekernel for 1x2x2, numpy for the rest;
# 'numpy': the numpy code for every block (the reference, and today's path to compare).
MODE_LIBRARIES = ('fast', 'numpy')
_TINYBRAIN_TYPES = frozenset(np.dtype(t) for t in (
    np.uint8, np.uint16, np.uint32, np.uint64, np.int8, np.int16, np.int32, np.int64))
MIN_LEVEL_VOXELS = 2**17     # ChimeraX's writer stops subsampling below this many voxels
MODE_BLOCK_LIMIT = 255       # voxels per block the mode counts in (uint8 counters)


def default_method(dtype):
    """'mode' for label maps (labels.is_label_type), else 'mean'."""
    return 'mode' if is_label_type(dtype) else 'mean'


def level_size(size, step):
    """Size of a level: ceil(size / step) per axis (any axis order, matching)."""
    return grid_shape(size, step)


def auto_steps(size, voxel_size=(1, 1, 1), min_voxels=MIN_LEVEL_VOXELS):
    """Subsample steps (i,j,k), finest first, for a volume of ``size`` (x,y,z).

    Each level doubles the step of the axes whose voxels are at least sqrt(2) times
    thinner than the thickest axis, or of every axis when none is; axes already 1 voxel
    thick stay.  Levels stop before one would have fewer than ``min_voxels`` voxels.
    """
    steps = []
    step = (1, 1, 1)
    while True:
        extent = [v * s for v, s in zip(voxel_size, step)]
        growable = [a for a, n in enumerate(level_size(size, step)) if n > 1]
        thin = [a for a in growable if extent[a] * math.sqrt(2) <= max(extent)]
        grow = thin or growable
        if not grow:
            break
        new = tuple(2 * s if a in grow else s for a, s in enumerate(step))
        if math.prod(level_size(size, new)) < min_voxels:
            break
        steps.append(new)
        step = new
    return steps


def level_factors(steps):
    """Per-level factors from cumulative steps: level n = level n-1 downsampled by these.

    Raises ValueError unless each step is a multiple of the one before.
    """
    factors = []
    previous = (1, 1, 1)
    for step in steps:
        if any(s < p or s % p for s, p in zip(step, previous)):
            raise ValueError('subsample step %s is not a multiple of the step before it, %s'
                             % (','.join(map(str, step)), ','.join(map(str, previous))))
        factors.append(tuple(s // p for s, p in zip(step, previous)))
        previous = step
    return factors


def downsample(a, factors, method, mode_library='fast'):
    """Level of z,y,x array ``a`` downsampled by z,y,x ``factors`` (see module doc).

    ``mode_library`` 'numpy' computes every mode here (the same result, more slowly).
    """
    factors = tuple(int(f) for f in factors)
    if factors == (1, 1, 1):
        return a.copy()
    if method == 'stride':
        return np.ascontiguousarray(a[::factors[0], ::factors[1], ::factors[2]])
    if method == 'mode':
        fast = (mode_library == 'fast' and a.dtype.isnative
                and a.dtype.newbyteorder('=') in _TINYBRAIN_TYPES)
        if fast and factors == (2, 2, 2):
            return _tinybrain_mode(a)
        if fast and factors == (1, 2, 2):
            from . import modekernel                # numba: imported when first needed
            if modekernel.COMPILED:
                return modekernel.mode_1x2x2(a)
        if mode_library not in MODE_LIBRARIES:
            raise ValueError('mode_library must be one of %s' % ', '.join(MODE_LIBRARIES))
        return _mode(a, factors)
    if method == 'mean':
        return _mean(a, factors)
    raise ValueError('downsample method must be one of %s, not %r' % (', '.join(METHODS), method))


def _tinybrain_mode(a):
    """tinybrain's 2x2x2 mode with ``sparse=True``: zeros are not counted (0 only when the
    block is all 0), the first value met wins a tie, and blocks are read x fastest, then
    y, then z: exactly the rule above.  A partial block at the far edges repeats its
    last voxel along the short axes, which doubles every count alike and so picks what
    the voxels present pick.

    tinybrain reads its input as a Fortran-ordered x,y,z array (first index fastest,
    strides ignored) and returns x,y,z: given a C-ordered z,y,x array it would return a
    transposed result (a cube) or the modes of the wrong voxels (any other shape), so it
    is given the transposed view of a C-contiguous array.  It holds Python's GIL (faster
    than the numpy code, and met only once per four full-resolution chunks;
    docs/performance.md).  1x2x2 blocks, the first level of anisotropic voxels and one
    per full-resolution chunk, go to modekernel.py, which is faster than tinybrain there
    and releases the GIL.
    """
    out = tinybrain.accelerated.mode_pooling_2x2x2(np.ascontiguousarray(a).T, sparse=True)[0]
    return np.ascontiguousarray(out.T)


def check_factors(factors, method):
    """ValueError for downsampling factors ``method`` cannot use."""
    if method == 'mode' and math.prod(factors) > MODE_BLOCK_LIMIT:
        raise ValueError('mode downsampling blocks are limited to %d voxels; %s makes %d'
                         % (MODE_BLOCK_LIMIT, ','.join(map(str, factors)), math.prod(factors)))


def _block_values(a, factors):
    """The values of each block as k = fz*fy*fx contiguous z,y,x arrays (block order),
    zero-padded at the far edges."""
    out = level_size(a.shape, factors)
    padded = tuple(n * f for n, f in zip(out, factors))
    if padded != a.shape:
        p = np.zeros(padded, a.dtype)
        p[:a.shape[0], :a.shape[1], :a.shape[2]] = a
        a = p
    fz, fy, fx = factors
    b = a.reshape(out[0], fz, out[1], fy, out[2], fx)
    # One copy puts each block position's values together: comparisons then run on
    # contiguous memory.
    return np.ascontiguousarray(b.transpose(1, 3, 5, 0, 2, 4)).reshape((fz * fy * fx,) + out)


def _mode(a, factors):
    v = _block_values(a, factors)
    k = len(v)
    check_factors(factors, 'mode')
    # Most blocks of a segmentation lie inside one region: all their voxels are equal and
    # that value is the mode.  Only the other blocks need counting.
    mixed = np.zeros(v.shape[1:], bool)
    for p in range(1, k):
        mixed |= v[p] != v[0]
    best = v[0].copy()
    where = np.flatnonzero(mixed)
    if where.size == 0:
        return best
    if where.size < mixed.size // 2:
        best.reshape(-1)[where] = _mode_of_blocks(v.reshape(k, -1)[:, where])
        return best
    return _mode_of_blocks(v)


def _mode_of_blocks(v):
    """Most frequent non-zero value along axis 0 (0 if all are 0); ties go to the value
    met first in block order."""
    k = len(v)
    counts = np.empty(v.shape, np.uint8)
    counts[...] = 1
    eq = np.empty(v.shape[1:], bool)
    for p in range(k):
        for q in range(p + 1, k):
            np.equal(v[p], v[q], out=eq)
            counts[p] += eq
            counts[q] += eq
    best = v[0].copy()
    best_count = counts[0] * (v[0] != 0)
    better = np.empty(v.shape[1:], bool)
    nonzero = np.empty(v.shape[1:], bool)
    for p in range(1, k):
        np.not_equal(v[p], 0, out=nonzero)
        np.greater(counts[p], best_count, out=better)
        better &= nonzero
        np.copyto(best, v[p], where=better)
        np.copyto(best_count, counts[p], where=better)
    return best


def _mean(a, factors):
    shape = a.shape
    out = level_size(shape, factors)
    if a.dtype.kind == 'f':
        acc = np.float64
    elif a.dtype.kind == 'u' and a.dtype.itemsize == 1 and math.prod(factors) <= 256:
        acc = np.uint16
    else:
        acc = np.int64
    padded = tuple(n * f for n, f in zip(out, factors))
    v = _block_values(a, factors)
    sums = v[0].astype(acc)
    for p in range(1, len(v)):
        sums += v[p]
    if padded == shape:
        count = math.prod(factors)
    else:
        # Edge blocks hold fewer voxels: divide by each block's own count.
        per_axis = []
        for n, f, s in zip(out, factors, shape):
            c = np.full(n, f, acc)
            c[-1] = s - (n - 1) * f
            per_axis.append(c)
        cz, cy, cx = per_axis
        count = cz[:, None, None] * cy[None, :, None] * cx[None, None, :]
    if a.dtype.kind == 'f':
        return (sums / count).astype(a.dtype)
    return ((sums + count // 2) // count).astype(a.dtype)
