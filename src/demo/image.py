"""The synthetic EM image: cytoplasm grey levels per cell, membranes where cells meet,
mitochondria, nuclei, synaptic vesicles and densities, then noise and the blur of the
microscope, rendered per tile from the global geometry.  Pure: numpy, scipy.
"""

import itertools

import numpy as np
from scipy import ndimage

from .parameters import (ENVELOPE, HALO, MEMBRANE, MITO, MITO_RIM, NUCLEUS, PSD, VESICLE,
                         VOXEL_SIZE)
from .shapes import capsule_distance, clip_box, value_noise


class EMImage:
    """Renders the EM image of any box of the volume from the geometry."""

    def __init__(self, seed, geometry, cell_intensity):
        self.seed = seed
        self.geometry = geometry
        self.cell_intensity = cell_intensity          # grey level per cell
        self.vs = np.array(VOXEL_SIZE)
        g = geometry
        self.mito = g.mitochondria
        self.mlo = np.array([np.floor((np.minimum(a, b) - r) / self.vs) - 1
                             for a, b, r, _ in self.mito]).reshape(-1, 3).astype(int)
        self.mhi = np.array([np.ceil((np.maximum(a, b) + r) / self.vs) + 2
                             for a, b, r, _ in self.mito]).reshape(-1, 3).astype(int)
        self.vesicle_centre = np.array([v.centre for v in g.vesicles]).reshape(-1, 3)
        self.vesicle_cell = np.array([v.cell for v in g.vesicles], np.int32)


    def render(self, position, lo, hi, xs, ys, zs, cell, best):
        """EM-like grey levels of the work box: cytoplasm, membranes, organelles, noise,
        blur; returns the tile (halo cut off) as uint8."""
        g = self.geometry
        img = self.cell_intensity[cell]
        img += (value_noise(self.seed, 12, 70.0, xs, ys, zs) - 0.5) * 24
        inside = np.all(self.mlo < hi, axis=1) & np.all(self.mhi > lo, axis=1)
        for n in np.flatnonzero(inside):
            a_, b_, r, host = self.mito[n]
            self.paint(img, cell, host, lo, hi, xs, ys, zs, a_, b_, r,
                       [(-18.0, MITO_RIM), (-1e9, MITO)])
        for centre, r, host in g.nuclei:
            self.paint(img, cell, host, lo, hi, xs, ys, zs, centre, centre, r,
                       [(-20.0, ENVELOPE), (-1e9, NUCLEUS)])
        self.paint_vesicles(img, cell, lo, hi)
        for centre, normal, r, host in g.densities:
            self.paint_density(img, cell, host, lo, hi, xs, ys, zs, centre, normal, r)
        boundary = np.zeros(cell.shape, bool)
        for axis in range(3):
            a = [slice(None)] * 3
            b = [slice(None)] * 3
            a[axis], b[axis] = slice(1, None), slice(None, -1)
            differ = cell[tuple(a)] != cell[tuple(b)]
            boundary[tuple(a)] |= differ
            boundary[tuple(b)] |= differ
        img[boundary & (cell > 0)] = MEMBRANE
        rng = np.random.default_rng([self.seed, 4] + list(position))
        img += rng.standard_normal(img.shape, dtype=np.float32) * np.float32(26)
        img = ndimage.gaussian_filter(img, (0.45, 0.75, 0.75), truncate=3.0)
        c = (slice(HALO, -HALO),) * 3
        out = img[c]
        out += rng.standard_normal(out.shape, dtype=np.float32) * np.float32(5)
        np.clip(out, 1, 255, out=out)
        return out.astype(np.uint8)

    def paint(self, img, cell, host, lo, hi, xs, ys, zs, a, b, r, bands):
        blo = np.floor((np.minimum(a, b) - r) / self.vs).astype(int) - 1
        bhi = np.ceil((np.maximum(a, b) + r) / self.vs).astype(int) + 2
        box = clip_box(blo, bhi, lo, hi)
        if box is None:
            return
        s, e, sl = box
        d = capsule_distance(xs[s[0]:e[0]], ys[s[1]:e[1]], zs[s[2]:e[2]], a, b, r, r)
        mine = cell[sl] == host
        sub = img[sl]
        for limit, value in bands:
            sub[mine & (d < 0) & (d >= limit)] = value
            mine &= ~((d < 0) & (d >= limit))

    def paint_vesicles(self, img, cell, lo, hi):
        if not len(self.vesicle_centre):
            return
        v = np.rint(self.vesicle_centre / self.vs).astype(int) - lo
        keep = np.all(v >= 1, axis=1) & np.all(v < (hi - lo) - 1, axis=1)
        v, host = v[keep], self.vesicle_cell[keep]
        # A vesicle (40 nm) is a dark dot of 3 x 3 voxels in one or two planes.
        for dz, dy, dx in itertools.product((0,), (-1, 0, 1), (-1, 0, 1)):
            z, y, x = v[:, 2] + dz, v[:, 1] + dy, v[:, 0] + dx
            mine = cell[z, y, x] == host
            img[z[mine], y[mine], x[mine]] = VESICLE + 10 * (abs(dx) + abs(dy))

    def paint_density(self, img, cell, host, lo, hi, xs, ys, zs, centre, normal, r):
        # The postsynaptic density: a dark disc of the partner's cytoplasm at the contact.
        reach = r + 40
        blo = np.floor((centre - reach) / self.vs).astype(int)
        bhi = np.ceil((centre + reach) / self.vs).astype(int) + 1
        box = clip_box(blo, bhi, lo, hi)
        if box is None:
            return
        s, e, sl = box
        dx = (xs[s[0]:e[0]] - centre[0])[None, None, :]
        dy = (ys[s[1]:e[1]] - centre[1])[None, :, None]
        dz = (zs[s[2]:e[2]] - centre[2])[:, None, None]
        along = dx * normal[0] + dy * normal[1] + dz * normal[2]
        lateral2 = dx * dx + dy * dy + dz * dz - along * along
        disc = (np.abs(along) < 30) & (lateral2 < r * r) & (cell[sl] == host)
        img[sl][disc] = PSD
