"""Writing a small Chimera map with ChimeraMapWriter chunk by chunk, as combine does, for
the writer's tests in both layers."""

import itertools

from chimerax.connectome.formats import cmap as cmapfile
from chimerax.connectome.pipeline import pyramid


def write_all(path, a, steps, **kw):
    """Write array a (z,y,x) and its stride levels chunk by chunk; return the level arrays."""
    w = cmapfile.ChimeraMapWriter(str(path), a.shape, a.dtype, steps, **kw)
    levels = [a] + [pyramid.downsample(a, tuple(reversed(s)), 'stride') for s in steps]
    with cmapfile.blosc_threads():
        for lv, data in zip(w.levels, levels):
            for index in itertools.product(*(range(n) for n in lv.chunk_grid)):
                s, e = lv.chunk_extent(index)
                block = data[tuple(slice(a, b) for a, b in zip(s, e))]
                w.write_chunk(w.levels.index(lv), index, lv.codec.encode(block))
    w.close()
    return levels
