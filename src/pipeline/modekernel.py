"""The 1x2x2 mode (blocks of 2 x 2 voxels in one plane: the first level of anisotropic
voxels, computed once per full-resolution chunk) as a compiled loop.

No field library does this block with combine's rule: tinybrain's 2-D
``mode_pooling_2x2`` counts zeros and breaks ties otherwise, and its 2x2x2 mode on
the chunk with every plane repeated gives the right result but holds Python's GIL,
and the numpy code in pyramid.py takes 1.5-1.8 times as long as this loop, which numba
compiles and which releases the GIL (``nogil``), so worker threads run it in parallel
(``bench combine`` prints all three per chunk; docs/performance.md has the figures).

The rule is pyramid.py's: the most frequent non-zero value of the block (0 only when
the whole block is 0), a tie going to the value met first reading x, then y.  A partial
block at the far edges repeats its last column and row, which doubles every count alike
and keeps the order in which values are met, so the result is that of the voxels
present.  numba compiles once per value type, on first use, and keeps
the result in its cache beside this file (or in its user cache when that folder is
read-only).  numba is optional: where it cannot be installed (no wheel for a new
Python or numpy yet) ``COMPILED`` is false and pyramid.py's numpy code does these
blocks, with the same result.
Pure: numpy and (when installed) numba.
"""

import os

import numpy as np

try:
    import numba
except ImportError:
    numba = None

COMPILED = numba is not None


def _njit(**options):
    """numba.njit(**options); without numba the plain function, which is never called
    (pyramid.py asks ``COMPILED`` first: a Python loop would be far slower than numpy)."""
    return numba.njit(**options) if COMPILED else (lambda function: function)

# numba keeps compiled code only for a module that is a file on disk (not, for example,
# inside the zip a Dask cluster's workers import this package from).
_CACHE = os.path.isfile(__file__)


@_njit(nogil=True, inline='always')
def _mode4(a, b, c, d):
    """Mode of a, b, c, d (met in that order) by the rule above."""
    if a == b and a == c and a == d:
        return a
    ab, ac, ad = a == b, a == c, a == d
    bc, bd, cd = b == c, b == d, c == d
    best, n = a, (1 + ab + ac + ad) * (a != 0)
    m = (1 + ab + bc + bd) * (b != 0)
    if m > n:
        best, n = b, m
    m = (1 + ac + bc + cd) * (c != 0)
    if m > n:
        best, n = c, m
    m = (1 + ad + bd + cd) * (d != 0)
    if m > n:
        best, n = d, m
    return best if n > 0 else a - a


@_njit(nogil=True, cache=_CACHE)
def _mode_1x2x2(a, out):
    nz, ny, nx = a.shape
    half = nx // 2
    for z in range(nz):
        for j in range(out.shape[1]):
            r0 = a[z, 2 * j]
            r1 = a[z, min(2 * j + 1, ny - 1)]
            o = out[z, j]
            for i in range(half):
                x = 2 * i
                o[i] = _mode4(r0[x], r0[x + 1], r1[x], r1[x + 1])
            if nx % 2:
                x = nx - 1
                o[half] = _mode4(r0[x], r0[x], r1[x], r1[x])


def mode_1x2x2(a):
    """The 1x2x2 (z,y,x) mode level of z,y,x integer array ``a`` (native byte order)."""
    out = np.empty((a.shape[0], (a.shape[1] + 1) // 2, (a.shape[2] + 1) // 2), a.dtype)
    if out.size:
        _mode_1x2x2(a, out)
    return out
