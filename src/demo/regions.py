"""Regions (supervoxels): a jittered lattice whose Voronoi cells cut every segment into
regions, evaluated the same way in every tile so that region borders are seamless.
Pure: numpy.
"""

import itertools

import numpy as np

from .shapes import hash_uniform


class Lattice:
    """Region seeds: one per lattice cell of side ``spacing`` nm, jittered.  A voxel's
    region cell is the nearest of the 8 seeds around it, evaluated on every second voxel
    in x and y (region borders lie inside cells, where 2-voxel steps do not show)."""

    JITTER = 0.35

    def __init__(self, seed, spacing, grid_voxels, vs):
        self.seed = seed
        self.spacing = spacing
        self.vs = vs
        self.origin = -2.0 * spacing
        extent = np.asarray(grid_voxels) * vs
        self.shape = tuple(int(np.ceil((e - self.origin + 2 * spacing) / spacing)) + 1
                           for e in extent)                      # cells along x, y, z
        self.count = int(np.prod(self.shape))

    def seeds(self, i, j, k):
        """Seed positions (nm) of lattice cells (i, j, k) (broadcast): x, y, z arrays."""
        out = []
        for axis, index in enumerate((i, j, k)):
            jitter = (hash_uniform(self.seed, 100 + axis, k, j, i) - 0.5) * 2 * self.JITTER
            out.append(self.origin + (index + 0.5 + jitter) * self.spacing)
        return out

    def linear(self, i, j, k):
        nx, ny, _ = self.shape
        return (np.asarray(k, np.int64) * ny + j) * nx + i

    def cell_range(self, lo, hi):
        """Lattice cells (i, j, k ranges, inclusive) a voxel box [lo, hi) can fall in."""
        lo_nm = (np.asarray(lo) - 2) * self.vs
        hi_nm = (np.asarray(hi) + 1) * self.vs
        first = np.floor((lo_nm - self.origin) / self.spacing - 0.5).astype(int)
        last = np.floor((hi_nm - self.origin) / self.spacing - 0.5).astype(int) + 1
        return np.maximum(first, 0), np.minimum(last, np.array(self.shape) - 1)

    def cells_in(self, lo, hi):
        first, last = self.cell_range(lo, hi)
        i, j, k = (np.arange(a, b + 1) for a, b in zip(first, last))
        return self.linear(i[None, None, :], j[None, :, None], k[:, None, None]).ravel()

    def nearest(self, lo, hi):
        """Region cells of the voxels of box [lo, hi) (x,y,z; lo even in x and y):
        (local cell index per voxel, z,y,x array; global index of each local cell)."""
        idx = [np.arange(lo[0], hi[0], 2), np.arange(lo[1], hi[1], 2), np.arange(lo[2], hi[2])]
        pos = [(c * v).astype(np.float32) for c, v in zip(idx, self.vs)]
        i0 = [np.floor((p - self.origin) / self.spacing - 0.5).astype(np.int64) for p in pos]
        first = [a.min() for a in i0]
        n = [a.max() - a.min() + 2 for a in i0]                # local cells along x, y, z
        li = [a - f for a, f in zip(i0, first)]
        gi = [np.arange(f, f + m) for f, m in zip(first, n)]
        sx, sy, sz = (s.astype(np.float32) for s in self.seeds(
            gi[0][None, None, :], gi[1][None, :, None], gi[2][:, None, None]))
        px, py, pz = pos
        ix, iy, iz = li
        best = np.full((len(pz), len(py), len(px)), np.inf, np.float32)
        arg = np.zeros(best.shape, np.uint8)
        for code, (c, b, a) in enumerate(itertools.product((0, 1), repeat=3)):
            exy = ((px[None, None, :] - sx[:, iy + b][:, :, ix + a]) ** 2
                   + (py[None, :, None] - sy[:, iy + b][:, :, ix + a]) ** 2)
            dz = (pz[:, None, None] - sz[iz + c]) ** 2
            d = exy[iz + c] + dz[:, iy + b][:, :, ix + a]
            closer = d < best
            np.copyto(best, d, where=closer)
            arg[closer] = code
        offsets = np.array([c * n[1] * n[0] + b * n[0] + a
                            for c, b, a in itertools.product((0, 1), repeat=3)], np.int32)
        local = ((iz * n[1] * n[0])[:, None, None] + (iy * n[0])[None, :, None]
                 + ix[None, None, :]).astype(np.int32) + offsets[arg]
        local = np.repeat(np.repeat(local, 2, axis=1), 2, axis=2)
        local = local[:, :hi[1] - lo[1], :hi[0] - lo[0]]
        gk, gj, gi_ = np.unravel_index(np.arange(n[0] * n[1] * n[2]), (n[2], n[1], n[0]))
        cells = self.linear(gi_ + first[0], gj + first[1], gk + first[2])
        return local, cells
