"""Synthetic connectome datasets with the shape of Motta et al. 2019 (mouse cortex layer 4):
EM image tiles, segmentation tiles, object files and the ground truth they follow from.

The geometry is one global procedural description in physical units (nm), drawn from the
seed: neurons (soma, branching tapering dendrites with spines: thin neck and head),
dendrite fragments whose somata lie outside the volume, thin axons crossing it on curved
paths with boutons, synapses where a bouton touches a spine head or a dendrite shaft,
and glia filling much of the remaining space.  Every tile is rasterised on its own from
that description (with a 4-voxel halo, so membranes and blur are seamless), several tiles
at once in threads, so the volume is never held in memory.  Each cell part ("segment":
a soma, a dendrite tree, a spine head, an axon, a bouton, a synaptic patch of a shaft,
a glia cell) is cut into regions (supervoxels) by a jittered-lattice Voronoi partition
that is the same in every tile; region ids are a random draw with gaps, as in a real
segmentation.  Pure: numpy, scipy, h5py.

Coordinates: voxel (x, y, z), 0-based, has its centre at (x, y, z) * voxel size nm;
arrays are indexed [z, y, x] like the authors' tiles.  Layout written under FOLDER:

    image/x{X}y{Y}z{Z}.hdf5         EM tile: dataset /data, uint8, T x T x T (z,y,x),
                                    contiguous and uncompressed like the originals
    segmentation/x{X}y{Y}z{Z}.hdf5  region ids: /data, uint32, T^3 (z,y,x), 0 = unsegmented;
                                    chunks 64^3 (T^3 if T < 64), deflate (gzip) level 4,
                                    no shuffle: deflate is what the authors' tiles use,
                                    level 4 compresses label runs nearly as well as 9 at a
                                    fraction of the time
    objects/{stem}.hdf5|.mat|.csv   which regions make up each object, per class
    truth.hdf5                      the ground truth (below)
    README.txt                      this layout, short

Tile x2y4z3 starts at voxel (2T, 4T, 3T).  As in the original, the imaged extent starts
inside the first tile and ends inside the last (``dataset_layout``), and an unimaged notch
(a corner column through all z) leaves some tile positions of the bounding grid without
any imaged voxel: those files are absent.  Outside the imaged region tiles hold 0.

Object files (class: stem): axon: axons, dendrite: dendrites, spinehead: spineheads,
neuron: neurons, presynapse: presynapses, postsynapse: postsynapses.  Object ids are
1..N in list order; region ids inside an object are ascending.

    HDF5   axons.hdf5        /region_ids uint32 (all objects' ids, object 1 first),
                             /lengths int64 (N: regions per object)
           presynapses.hdf5  /region_ids uint32, /offsets int64 (N + 1: object k is
                             region_ids[offsets[k-1]:offsets[k]])
           postsynapses.hdf5 /region_ids uint32, /lengths int64, /ids int64 (object ids)
           dendrites.hdf5    group /dendrites: one uint32 dataset per object, named by its
                             id in decimal ('1', '2', ... '10': not in id order when sorted)
           neurons.hdf5      group /neurons: datasets neuron_001, neuron_002, ... in id order
           spineheads.hdf5   /object_id int32, length maximum region id + 1: index = region
                             id, value = spine head id, 0 = none
    MAT    {stem}.mat        v7.3 (matlab.py), one variable named like the stem: a 1 x N cell
                             of column vectors of doubles (axons, spineheads, presynapses,
                             postsynapses), or a 1 x N struct array (dendrites(k).segIds and
                             dendrites(k).id; neurons(k).segIds and neurons(k).somaPosition,
                             the soma centre in 1-based voxel coordinates x, y, z)
    CSV    dendrites.csv, spineheads.csv, postsynapses.csv: header ``region_id,object_id``,
                             then one row per region; axons.csv, neurons.csv,
                             presynapses.csv: no header, line k lists object k's region ids,
                             comma-separated

A neuron object is every region of a cell whose soma lies inside the volume (soma,
dendrites, spine necks and heads); a dendrite object is one dendrite tree or fragment with
its spine necks (not heads); a spine head object is one head; an axon object is one axon
with its boutons; a presynapse is the bouton of one synapse; a postsynapse is the spine
head or the patch of shaft of one synapse.  Presynapse k and postsynapse k are synapse k.

truth.hdf5: attributes voxel_size (x,y,z nm), tile_size, grid_shape (tiles x,y,z),
extent and notch ([[x0,y0,z0],[x1,y1,z1]], 0-based, stop exclusive; imaged = inside
extent and not inside notch), absent_tiles ((n,3) x,y,z), seed, size, maximum_region_id,
classes.  Datasets: region_ids (sorted, those in the segmentation), glia_region_ids,
cell (int32 per region id: which cell a region is part of, 0 = none), objects/{class}
(int32, length maximum_region_id + 1: object id per region, 0 = none; what ``connectome
ids`` must make from the object files), samples/{class} ((n,4) int32: object id, x, y, z
of voxels whose 6 neighbours are in the same object; objects cut by the extent may have
none) and synapses (one row per synapse: its presynapse/postsynapse/axon/dendrite/
spinehead/neuron ids, kind 1 spine or 2 shaft, contact voxel x, y, z).
"""

import csv
import itertools
import os
import shutil
import tempfile
import threading
import time
import zlib
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import h5py
import numpy as np
from h5py._objects import phil
from scipy import ndimage
from scipy.spatial import cKDTree

from . import matlab
from .combine import available_cores
from .errors import InputError
from .progress import Progress, format_bytes, format_duration

VOXEL_SIZE = (11.24, 11.24, 28.0)          # x, y, z nm, as the authors' data
CLASSES = ('axon', 'dendrite', 'spinehead', 'neuron', 'presynapse', 'postsynapse')
FILE_STEMS = {name: name + 's' for name in CLASSES}
SEGMENTATION_CHUNK = 64
SEGMENTATION_GZIP_LEVEL = 4
HALO = 4                                    # voxels around a tile: membranes, blur, even
_H5_LOCK = threading.Lock()

# Per size: tiles of T^3 voxels on a grid of tiles (x, y, z); counts of cells; soma
# radius and region (supervoxel) lattice spacing in nm.  Only the soma is scaled down
# (a real one is ~15 um across, larger than the small volume); neurites keep their size.
SIZES = {
    'small': dict(tile_size=64, grid_shape=(3, 3, 2), neurons=1, soma_radius=420.0,
                  dendrite_fragments=4, axons=40, region_spacing=180.0, glia_spacing=1300.0),
    'medium': dict(tile_size=128, grid_shape=(5, 5, 3), neurons=2, soma_radius=1000.0,
                   dendrite_fragments=9, axons=70, region_spacing=260.0, glia_spacing=2500.0),
    'large': dict(tile_size=256, grid_shape=(4, 5, 2), neurons=3, soma_radius=1400.0,
                  dendrite_fragments=16, axons=150, region_spacing=330.0, glia_spacing=4000.0),
}

_GAP = 15.0             # nm of extracellular space kept around cells (before glia)
_CLEARANCE = 30.0       # nm between cells when the geometry is laid out
_CONTACT = 14.0         # nm by which a bouton and its partner overlap: a flat contact

# EM grey levels
_ECS, _MEMBRANE, _NEURITE, _GLIA = 85.0, 55.0, 182.0, 166.0
_MITO, _MITO_RIM, _NUCLEUS, _ENVELOPE, _VESICLE, _PSD = 112.0, 72.0, 152.0, 78.0, 70.0, 62.0


# ----------------------------------------------------------------------------
# Public API

def dataset_layout(size):
    """Tile grid of a size: {tile_size, grid_shape, extent, notch, present, absent}, where
    extent and notch are ((x0,y0,z0), (x1,y1,z1)) 0-based with exclusive stops and present
    and absent list tile positions (x, y, z)."""
    p = _size_parameters(size)
    t = p['tile_size']
    gx, gy, gz = p['grid_shape']
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
    return dict(tile_size=t, grid_shape=tuple(p['grid_shape']), extent=(start, stop),
                notch=notch, present=present, absent=absent)


def generate_dataset(folder, size='small', seed=0, report=None, replace=False):
    """Write a synthetic dataset into ``folder`` (layout in the module docstring).

    It is written into a temporary sibling folder that is renamed to ``folder`` at the
    end, so an interrupted run leaves nothing under ``folder``.  An existing non-empty
    ``folder`` is an InputError unless ``replace``.  ``report(message, final)`` receives
    progress lines (see progress.Progress) and, last, the summary line.  Returns a
    summary dict: folder, size, seed, tiles (files per kind), absent_tiles, regions,
    maximum_region_id, objects ({class: count}), synapses, glia_cells, bytes, seconds,
    message.
    """
    _size_parameters(size)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError('seed must be an integer >= 0, not %r' % (seed,))
    folder = os.path.abspath(os.path.expanduser(os.fspath(folder)))
    _check_destination(folder, replace)
    parent = os.path.dirname(folder)
    try:
        os.makedirs(parent, exist_ok=True)
        work = tempfile.mkdtemp(prefix='.%s.partial-' % os.path.basename(folder), dir=parent)
    except OSError as e:
        raise InputError('cannot write in %s: %s' % (parent, e.strerror or e), parent)
    try:
        summary = _Generator(size, int(seed), report).run(work, folder)
        _move_into_place(work, folder)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return summary


def read_truth(folder):
    """The ground truth of a dataset as a dict: the attributes of truth.hdf5 (numpy values),
    region_ids, glia_region_ids, cell, one per-region array per class (keys 'axon', ...),
    samples ({class: (n,4) array}) and synapses (numpy structured array)."""
    path = os.path.join(os.fspath(folder), 'truth.hdf5')
    if not os.path.isfile(path):
        raise InputError('%s has no truth.hdf5: not a synthetic dataset' % folder, path)
    truth = {}
    with h5py.File(path, 'r') as f:
        for name, value in f.attrs.items():
            truth[name] = value.decode() if isinstance(value, bytes) else value
        truth['size'] = str(truth['size'])
        truth['classes'] = tuple(str(c) for c in truth['classes'])
        for name in ('region_ids', 'glia_region_ids', 'cell', 'synapses'):
            truth[name] = f[name][()]
        for name in CLASSES:
            truth[name] = f['objects'][name][()]
        truth['samples'] = {name: f['samples'][name][()] for name in CLASSES}
    for name in ('seed', 'tile_size', 'maximum_region_id'):
        truth[name] = int(truth[name])
    return truth


def tile_name(position):
    """File name of the tile at grid position (x, y, z)."""
    return 'x%dy%dz%d.hdf5' % tuple(position)


# ----------------------------------------------------------------------------
# Folder handling

def _size_parameters(size):
    if size not in SIZES:
        raise InputError('unknown dataset size %r: choose %s' % (size, ', '.join(SIZES)))
    return SIZES[size]


def _check_destination(folder, replace):
    if os.path.exists(folder):
        if not os.path.isdir(folder):
            raise InputError('%s exists and is not a folder' % folder, folder)
        if os.listdir(folder) and not replace:
            raise InputError('folder %s exists and is not empty (use replace true to'
                             ' overwrite it)' % folder, folder)


def _move_into_place(work, folder):
    if not os.path.exists(folder):
        os.rename(work, folder)
        return
    if not os.listdir(folder):
        os.rmdir(folder)
        os.rename(work, folder)
        return
    # Replace: move the old dataset aside first so the new one appears in one rename.
    old = tempfile.mkdtemp(prefix='.%s.old-' % os.path.basename(folder),
                           dir=os.path.dirname(folder))
    os.rmdir(old)
    os.rename(folder, old)
    os.rename(work, folder)
    shutil.rmtree(old, ignore_errors=True)


# ----------------------------------------------------------------------------
# Small numeric helpers

def _hash_uniform(seed, salt, k, j, i):
    """Uniform [0, 1) numbers, one per integer triple (broadcast): the same in every tile."""
    with np.errstate(over='ignore'):
        x = (np.asarray(k, np.int64).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
             ^ np.asarray(j, np.int64).astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
             ^ np.asarray(i, np.int64).astype(np.uint64) * np.uint64(0x165667B19E3779F9)
             ^ np.uint64((seed * 0x27D4EB2F165667C5 + salt * 0x94D049BB133111EB)
                         & 0xFFFFFFFFFFFFFFFF))
        for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
            x = x ^ (x >> np.uint64(shift))
            x = x * np.uint64(mult)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _value_noise(seed, salt, spacing, xs, ys, zs):
    """Smooth noise in [0, 1] on the grid zs x ys x xs (nm): hashed values on a lattice of
    the given spacing, interpolated with smoothstep weights, separably."""
    axes = []
    for c in (xs, ys, zs):
        u = np.asarray(c, np.float64) / spacing
        i0 = np.floor(u).astype(np.int64)
        f = u - i0
        axes.append((i0, (f * f * (3 - 2 * f)).astype(np.float32), i0.min()))
    (ix, fx, x0), (iy, fy, y0), (iz, fz, z0) = axes
    k = np.arange(z0, iz.max() + 2)[:, None, None]
    j = np.arange(y0, iy.max() + 2)[None, :, None]
    i = np.arange(x0, ix.max() + 2)[None, None, :]
    v = _hash_uniform(seed, salt, k, j, i).astype(np.float32)
    v = v[:, :, ix - x0] * (1 - fx) + v[:, :, ix - x0 + 1] * fx
    v = v[:, iy - y0] * (1 - fy)[:, None] + v[:, iy - y0 + 1] * fy[:, None]
    return v[iz - z0] * (1 - fz)[:, None, None] + v[iz - z0 + 1] * fz[:, None, None]


def _capsule_distance(xs, ys, zs, a, b, ra, rb):
    """Signed distance (nm, negative inside) on the grid zs x ys x xs to a capsule from a
    to b whose radius goes linearly from ra to rb (a sphere when a == b)."""
    ax, ay, az = xs - a[0], ys - a[1], zs - a[2]
    p2 = (az * az)[:, None, None] + (ay * ay)[None, :, None] + (ax * ax)[None, None, :]
    ba = np.asarray(b, np.float64) - a
    length2 = float(ba @ ba)
    if length2 < 1e-6:
        return np.sqrt(p2) - np.float32(ra)
    w = ba / length2
    u = ((az * np.float32(w[2]))[:, None, None] + (ay * np.float32(w[1]))[None, :, None]
         + (ax * np.float32(w[0]))[None, None, :])
    t = np.clip(u, 0, 1)
    # |p - a - t(b - a)|^2 = |p - a|^2 - L^2 t (2u - t), u the unclipped projection
    d2 = p2 - np.float32(length2) * t * (2 * u - t)
    np.maximum(d2, 0, out=d2)
    d = np.sqrt(d2)
    if ra == rb:
        d -= np.float32(ra)
    else:
        d -= np.float32(ra) + np.float32(rb - ra) * t
    return d


def _unit(v):
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v)


def _perpendicular(t, rng):
    """A random unit vector perpendicular to the unit vector t."""
    while True:
        v = rng.normal(size=3)
        v -= (v @ t) * t
        n = np.linalg.norm(v)
        if n > 1e-3:
            return v / n


def _tilted(d, angle, rng):
    """A unit vector at ``angle`` radians from the unit vector d, in a random direction."""
    return _unit(np.cos(angle) * d + np.sin(angle) * _perpendicular(d, rng))


def _catmull_rom(points, spacing):
    """Points about ``spacing`` apart on a Catmull-Rom spline through ``points``."""
    p = np.asarray(points, np.float64)
    p = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        n = max(2, int(np.ceil(np.linalg.norm(p2 - p1) / spacing)))
        t = (np.arange(n) / n)[:, None]
        out.append(0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (3 * p1 - p0 - 3 * p2 + p3) * t ** 3))
    out.append(p[-2][None])
    return np.vstack(out)


# ----------------------------------------------------------------------------
# Geometry: the global description every tile is rasterised from

class _Obstacles:
    """Points with radii standing for the cells laid out so far, so new neurites keep
    clear of them.  Points carry a group (a cell, or one spine) that a query can ignore;
    committed points sit in a k-d tree, recent ones are searched directly."""

    def __init__(self):
        self.points = np.zeros((0, 3))
        self.radii = np.zeros(0)
        self.groups = np.zeros(0, np.int64)
        self.tree = None
        self.pending = []
        self.max_radius = 0.0

    def add(self, points, radii, group):
        points = np.atleast_2d(points)
        radii = np.broadcast_to(np.asarray(radii, np.float64), len(points))
        self.pending.append((points, radii.copy(), np.full(len(points), group)))
        self.max_radius = max(self.max_radius, float(radii.max()))
        if len(self.pending) > 64:
            self.commit()

    def commit(self):
        if self.pending:
            p, r, g = zip(*self.pending)
            self.points = np.vstack((self.points,) + p)
            self.radii = np.concatenate((self.radii,) + r)
            self.groups = np.concatenate((self.groups,) + g)
            self.pending = []
            self.tree = cKDTree(self.points)

    def clear(self, points, radii, ignore=(), gap=_CLEARANCE):
        """True if spheres (points, radii) keep ``gap`` from every obstacle not in ignore."""
        points = np.atleast_2d(points)
        radii = np.broadcast_to(np.asarray(radii, np.float64), len(points))
        reach = radii.max() + self.max_radius + gap
        if self.tree is not None:
            for n, near in enumerate(self.tree.query_ball_point(points, reach)):
                if near:
                    near = np.asarray(near)
                    d = np.linalg.norm(self.points[near] - points[n], axis=1)
                    bad = d < self.radii[near] + radii[n] + gap
                    for group in ignore:
                        bad &= self.groups[near] != group
                    if np.any(bad):
                        return False
        for p, r, g in self.pending:
            if g[0] in ignore:
                continue
            d = np.linalg.norm(p[None, :, :] - points[:, None, :], axis=2)
            if np.any(d < r[None, :] + radii[:, None] + gap):
                return False
        return True

    def push(self, points, radius, ignore=(), gap=_CLEARANCE, k=12):
        """Per point, the displacement that moves it out of the committed obstacles."""
        move = np.zeros_like(points)
        if self.tree is None:
            return move
        d, idx = self.tree.query(points, k=k, distance_upper_bound=radius + self.max_radius
                                 + gap)
        found = np.isfinite(d)
        idx = np.where(found, idx, 0)
        for group in ignore:
            found &= self.groups[idx] != group
        deficit = np.where(found, self.radii[idx] + radius + gap - d, 0)
        deficit = np.maximum(deficit, 0)
        away = points[:, None, :] - self.points[idx]
        away /= np.maximum(np.linalg.norm(away, axis=2), 1e-6)[:, :, None]
        return (away * deficit[:, :, None]).sum(axis=1)


class _Geometry:
    """Cells, their segments and the primitives (tapered capsules, spheres) that make them,
    plus image-only detail (nuclei, mitochondria, vesicles, synaptic densities)."""

    def __init__(self, size, seed, layout):
        self.p = SIZES[size]
        self.seed = seed
        self.rng = np.random.default_rng([seed, 1])
        self.vs = np.array(VOXEL_SIZE)
        start, stop = (np.array(v) for v in layout['extent'])
        self.lo = start * self.vs
        self.hi = (stop - 1) * self.vs
        self.notch = [np.array(layout['notch'][0]) * self.vs,
                      (np.array(layout['notch'][1]) - 1) * self.vs]
        self.cells = [dict(kind='none', intensity=_ECS)]
        self.segments = []
        self.counters = {name: 0 for name in CLASSES}
        self.prims = []             # (a, b, ra, rb, segment)
        self.relabels = []          # (centre, radius, from segment, to segment)
        self.mitochondria = []      # (a, b, radius, cell)
        self.nuclei = []            # (centre, radius, cell)
        self.vesicles = []          # (centre, cell)
        self.densities = []         # (centre, normal, radius, cell)
        self.samples = []           # (segment, point, depth)
        self.somata = []            # (centre, radius, cell)
        self.branches = []          # (segment, cell, [(point, radius)...])
        self.axons = []             # (segment, cell, path points, radius)
        self.synapses = []
        self.boutons = {}           # axon cell -> [bouton centres]
        self.obstacles = _Obstacles()
        self.new_segment('none', 0)

    # -- bookkeeping

    def new_cell(self, kind, intensity):
        self.cells.append(dict(kind=kind, intensity=intensity))
        return len(self.cells) - 1

    def new_segment(self, kind, cell, **classes):
        seg = dict(kind=kind, cell=cell)
        for name in CLASSES:
            seg[name] = classes.get(name, -1)
        self.segments.append(seg)
        return len(self.segments) - 1

    def next_object(self, name):
        self.counters[name] += 1
        return self.counters[name] - 1

    def capsule(self, a, b, ra, rb, segment, sample=True):
        self.prims.append((np.asarray(a, float), np.asarray(b, float), float(ra), float(rb),
                           segment))
        if sample:
            self.samples.append((segment, (np.asarray(a) + b) / 2, (ra + rb) / 2))

    def sphere(self, c, r, segment):
        self.capsule(c, c, r, r, segment, sample=False)
        self.samples.append((segment, np.asarray(c, float), r))
        for axis in range(3):
            for sign in (-0.45, 0.45):
                self.samples.append((segment, c + sign * r * np.eye(3)[axis], 0.55 * r))

    def inside(self, p, margin=0.0):
        return bool(np.all(p >= self.lo - margin) and np.all(p <= self.hi + margin))

    def in_notch(self, p, margin=0.0):
        return bool(np.all(p[:2] >= self.notch[0][:2] - margin)
                    and np.all(p[:2] <= self.notch[1][:2] + margin))

    def soma_clear(self, points, radii, ignore=(), gap=_CLEARANCE):
        points = np.atleast_2d(points)
        for c, r, cell in self.somata:
            if cell in ignore:
                continue
            if np.any(np.linalg.norm(points - c, axis=1) < r + np.asarray(radii) + gap):
                return False
        return True

    # -- building

    def build(self):
        self.add_neurons()
        self.add_fragments()
        self.add_spines()
        self.add_axons()
        self.add_shaft_synapses()
        self.add_varicosities()
        return self

    def add_neurons(self):
        rng, R = self.rng, self.p['soma_radius']
        for n in range(self.p['neurons']):
            centre = self.place_soma(R)
            cell = self.new_cell('neuron', _NEURITE + rng.normal(0, 5))
            neuron = self.next_object('neuron')
            soma = self.new_segment('soma', cell, neuron=neuron)
            self.sphere(centre, R, soma)
            self.somata.append((centre, R, cell))
            self.nuclei.append((centre + rng.normal(0, 0.05 * R, 3), 0.55 * R, cell))
            for _ in range(rng.integers(3, 6)):
                d = _unit(rng.normal(size=3))
                a = centre + d * rng.uniform(0.65, 0.8) * R
                self.mitochondria.append((a, a + _perpendicular(d, rng) * rng.uniform(0.3, 0.5)
                                          * R, rng.uniform(0.06, 0.09) * R, cell))
            directions = self.spread_directions(rng.integers(3, 6), np.radians(55))
            radius = float(np.clip(0.26 * R, 110, 420))
            for d in directions:
                dendrite = self.next_object('dendrite')
                seg = self.new_segment('dendrite', cell, neuron=neuron, dendrite=dendrite)
                self.grow(cell, seg, centre + d * 0.75 * R, d, radius * rng.uniform(0.85, 1.1))
            self.obstacles.commit()

    def place_soma(self, R):
        for _ in range(2000):
            c = self.rng.uniform(self.lo + R + 60, self.hi - R - 60)
            if self.in_notch(c, R + 60):
                continue
            if all(np.linalg.norm(c - o) > r + R + 400 for o, r, _ in self.somata):
                return c
        raise RuntimeError('no room for a soma of radius %g nm' % R)

    def spread_directions(self, count, min_angle):
        dirs = []
        while len(dirs) < count:
            d = _unit(self.rng.normal(size=3))
            if all(np.arccos(np.clip(d @ e, -1, 1)) > min_angle for e in dirs):
                dirs.append(d)
        return dirs

    def add_fragments(self):
        rng = self.rng
        for _ in range(self.p['dendrite_fragments']):
            for _attempt in range(50):
                r0 = rng.uniform(100, 240)
                start, inward = self.face_point(r0 + 100)
                d = _unit(inward + rng.normal(0, 0.45, 3))
                if self.obstacles.clear(start, r0) and self.soma_clear(start, r0):
                    break
            cell = self.new_cell('dendrite', _NEURITE + rng.normal(0, 5))
            dendrite = self.next_object('dendrite')
            seg = self.new_segment('dendrite', cell, dendrite=dendrite)
            self.grow(cell, seg, start, d, r0)
            self.obstacles.commit()

    def face_point(self, outside):
        """A point on a random face of the extent, ``outside`` nm beyond it, and the
        inward normal there."""
        rng = self.rng
        size = self.hi - self.lo
        areas = np.array([size[1] * size[2], size[0] * size[2], size[0] * size[1]])
        axis = rng.choice(3, p=areas / areas.sum())
        side = rng.integers(2)
        p = rng.uniform(self.lo, self.hi)
        p[axis] = self.lo[axis] - outside if side == 0 else self.hi[axis] + outside
        normal = np.zeros(3)
        normal[axis] = 1 if side == 0 else -1
        return p, normal

    def grow(self, cell, seg, start, direction, radius):
        """A tapering, branching dendrite from ``start``: capsules of segment ``seg``."""
        rng = self.rng
        r_min = 70.0
        stack = [(np.asarray(start, float), _unit(direction), radius, 0)]
        own_soma = [s for s in self.somata if s[2] == cell]
        while stack:
            p, d, r, depth = stack.pop()
            nodes = [(p, r)]
            for _step in range(400):
                length = float(np.clip(2.2 * r, 140, 420))
                r2 = max(r * np.exp(-length / 9000.0), r_min)
                for attempt in range(10):
                    d2 = _unit(d + rng.normal(0, 0.16 if attempt == 0 else 0.6, 3))
                    q = p + length * d2
                    probe = np.array([q, (p + q) / 2])
                    # Away from its own soma: out of it, or at least leaving it.
                    leaving = all(np.linalg.norm(q - c) >= min(np.linalg.norm(p - c)
                                                               + 0.3 * length, sr + r2)
                                  for c, sr, _ in own_soma)
                    if (leaving and self.obstacles.clear(probe, r2, ignore=(cell,))
                            and self.soma_clear(probe, r2, ignore=(cell,))):
                        break
                else:
                    break
                self.capsule(p, q, r, r2, seg)
                n = max(2, int(length / max(r2, 60)))
                self.obstacles.add(p + (q - p) * np.linspace(0, 1, n)[:, None],
                                   np.linspace(r, r2, n), cell)
                self.add_shaft_mitochondrion(p, q, r2, cell)
                p, d, r = q, d2, r2
                nodes.append((p, r))
                if not self.inside(p, r + 150):
                    break
                if depth < 2 and r > 1.6 * r_min and rng.random() < 0.35 * length / 1000:
                    stack.append((p, _tilted(d, rng.uniform(0.6, 1.1), rng), 0.75 * r,
                                  depth + 1))
                    r *= 0.85
            if len(nodes) > 1:
                self.branches.append((seg, cell, nodes))

    def add_shaft_mitochondrion(self, p, q, r, cell):
        if r < 110 or self.rng.random() > 0.35:
            return
        offset = _perpendicular(_unit(q - p), self.rng) * 0.3 * r
        self.mitochondria.append((p + offset, q + offset, float(np.clip(0.32 * r, 35, 110)),
                                  cell))

    def add_spines(self):
        """Spines along every dendrite, away from the somata.  Most heads get a synapse
        site: a place for a bouton touching the head, which an axon is routed through."""
        rng = self.rng
        self.sites = []
        for seg, cell, nodes in self.branches:
            info = self.segments[seg]
            soma = [(c, r) for c, r, sc in self.somata if sc == cell]
            next_site, walked = rng.uniform(150, 600), 0.0
            for (a, ra), (b, rb) in zip(nodes[:-1], nodes[1:]):
                length = np.linalg.norm(b - a)
                while walked + length >= next_site:
                    f = (next_site - walked) / length
                    p, r = a + f * (b - a), ra + f * (rb - ra)
                    next_site += rng.uniform(250, 600)
                    if (self.inside(p, 100) and rng.random() < 0.8
                            and all(np.linalg.norm(p - c) > sr + 500 for c, sr in soma)):
                        self.add_spine(p, _unit(b - a), r, seg, cell, info)
                walked += length
        self.obstacles.commit()

    def add_spine(self, p, t, r, seg, cell, info):
        rng = self.rng
        for _ in range(5):
            w = _tilted(t, rng.uniform(1.1, np.pi / 2), rng)
            r_head, r_neck = rng.uniform(95, 165), rng.uniform(36, 46)
            neck = rng.uniform(150, 550)
            head = p + w * (r + neck + r_head)
            n = max(3, int((neck + r) / 60))
            neck_points = p + w * 0.5 * r + w * (0.5 * r + neck) * np.linspace(0, 1, n)[:, None]
            points = np.vstack([neck_points, head])
            radii = np.r_[np.full(n, r_neck), r_head]
            if not (self.obstacles.clear(points, radii, ignore=(cell,), gap=15)
                    and self.soma_clear(points, radii, ignore=(cell,))):
                continue
            group = -len(self.segments)             # a spine keeps clear of other spines
            spinehead = self.next_object('spinehead')
            head_seg = self.new_segment('head', cell, neuron=info['neuron'],
                                        spinehead=spinehead)
            self.capsule(p + w * 0.5 * r, head, r_neck, r_neck, seg, sample=False)
            self.sphere(head, r_head, head_seg)
            self.obstacles.add(points, radii, group)
            if rng.random() < 0.75:
                self.add_site(head, r_head, w, head_seg, group, cell, info)
            return

    def add_site(self, head, r_head, w, head_seg, group, cell, info):
        rng = self.rng
        r_bouton = rng.uniform(120, 185)
        for _ in range(4):
            u = _tilted(w, rng.uniform(0, 0.9), rng)
            centre = head + u * (r_head + r_bouton - _CONTACT)
            if (self.inside(centre) and not self.in_notch(centre)
                    and self.obstacles.clear(centre, r_bouton, ignore=(cell, group), gap=15)
                    and self.soma_clear(centre, r_bouton)):
                break
        else:
            return
        site_group = -(10 ** 6) - len(self.sites)
        self.obstacles.add(centre, r_bouton, site_group)
        self.sites.append(dict(centre=centre, r_bouton=r_bouton, contact=-u, head=head_seg,
                               r_head=r_head, cell=cell, info=info, groups=(group, site_group),
                               direction=_perpendicular(u, rng), used=False))

    def add_axons(self):
        """Axons crossing the volume on smooth curved paths.  Most pass through one or two
        synapse sites, with a bouton there; the others pass near a dendrite."""
        rng = self.rng
        free = list(self.sites)
        rng.shuffle(free)
        for number in range(self.p['axons']):
            radius = rng.uniform(40, 60)
            sites = []
            if free and number < 0.85 * self.p['axons']:
                sites.append(free.pop())
                for n, other in enumerate(free):
                    ahead = (other['centre'] - sites[0]['centre']) @ sites[0]['direction']
                    if 600 < ahead < 3000 and rng.random() < 0.7:
                        sites.append(free.pop(n))
                        break
            path, pinned = self.axon_path(radius, sites)
            ignore = tuple(g for s in sites for g in s['groups'])
            path = self.repel(path, radius, pinned, ignore)
            cell = self.new_cell('axon', _NEURITE + rng.normal(0, 5))
            axon = self.next_object('axon')
            seg = self.new_segment('axon', cell, axon=axon)
            nodes = path[::6] if len(path) > 12 else path[[0, -1]]
            if not np.array_equal(nodes[-1], path[-1]):
                nodes = np.vstack([nodes, path[-1]])
            for a, b in zip(nodes[:-1], nodes[1:]):
                self.capsule(a, b, radius, radius, seg)
            self.obstacles.add(path, radius, cell)
            self.obstacles.commit()
            self.axons.append((seg, cell, path, radius))
            for site in sites:
                self.add_synapse(site, seg, cell)

    def axon_path(self, radius, sites):
        """Points 40 nm apart from a face of the volume to another, through the sites
        (along each site's direction); and which points must not move."""
        rng = self.rng
        if sites:
            through = []
            for site in sites:
                d = site['direction']
                through += [site['centre'] - 150 * d, site['centre'], site['centre'] + 150 * d]
            first, last = through[0], through[-1]
            d0, d1 = sites[0]['direction'], sites[-1]['direction']
            entry = first - d0 * (self.exit_distance(first, -d0) + 300)
            exit_ = last + d1 * (self.exit_distance(last, d1) + 300)
            bend = [(entry + first) / 2 + _perpendicular(d0, rng) * rng.uniform(0, 600)]
            points = [entry] + bend + through + [exit_]
        else:
            entry, _ = self.face_point(300)
            exit_, _ = self.face_point(300)
            if np.linalg.norm(exit_ - entry) < 0.6 * np.linalg.norm(self.hi - self.lo):
                exit_ = self.lo + self.hi - entry + rng.normal(0, 400, 3)
            waypoints = []
            if self.branches and rng.random() < 0.6:
                # Pass close to a dendrite: room for a synapse on its shaft.
                seg, cell, nodes = self.branches[rng.integers(len(self.branches))]
                (a, ra), (b, _rb) = nodes[rng.integers(len(nodes) - 1)], nodes[-1]
                if self.inside(a):
                    t = _unit(b - a) if np.linalg.norm(b - a) > 0 else _unit(rng.normal(size=3))
                    waypoints.append(a + _perpendicular(t, rng) * (ra + radius
                                                                   + rng.uniform(60, 200)))
            if rng.random() < 0.5:
                waypoints.append(rng.uniform(self.lo, self.hi))
            axis = exit_ - entry
            waypoints.sort(key=lambda w: (w - entry) @ axis)
            points = [entry] + waypoints + [exit_]
        path = _catmull_rom(points, 40.0)
        pinned = np.zeros(len(path), bool)
        for site in sites:
            pinned |= np.linalg.norm(path - site['centre'], axis=1) < 160
        return path, pinned

    def exit_distance(self, p, d):
        """Distance from p along unit d to the boundary of the extent."""
        with np.errstate(divide='ignore'):
            steps = np.where(d > 0, (self.hi - p) / d, np.where(d < 0, (self.lo - p) / d, np.inf))
        return float(max(0.0, steps.min()))

    def repel(self, path, radius, pinned, ignore):
        """Move an axon's path out of the cells laid out so far, keeping it smooth; pinned
        points stay."""
        path = path.copy()
        free = ~pinned
        free[[0, -1]] = False
        for it in range(14):
            move = self.obstacles.push(path, radius, ignore=ignore)
            for c, r, _cell in self.somata:
                v = path - c
                d = np.linalg.norm(v, axis=1)
                deficit = np.maximum(r + radius + _CLEARANCE - d, 0)
                move += v / np.maximum(d, 1e-6)[:, None] * deficit[:, None]
            path[free] += 0.9 * move[free]
            if it < 10:
                for _ in range(2):
                    smooth = path.copy()
                    smooth[1:-1] = (path[:-2] + 2 * path[1:-1] + path[2:]) / 4
                    path[free] = smooth[free]
        return path

    def add_synapse(self, site, axon_seg, axon_cell):
        synapse = self.next_object('presynapse')
        self.next_object('postsynapse')
        self.segments[site['head']]['postsynapse'] = synapse
        axon = self.segments[axon_seg]['axon']
        bouton = self.new_segment('bouton', axon_cell, axon=axon, presynapse=synapse)
        self.add_bouton(site['centre'], site['r_bouton'], bouton, axon_cell, site['contact'])
        info = self.segments[site['head']]
        self.synapses.append(dict(kind=1, presynapse=bouton, postsynapse=site['head'],
                                  axon=axon, dendrite=site['info']['dendrite'],
                                  spinehead=info['spinehead'], neuron=info['neuron'],
                                  contact=site['centre'] + site['contact'] * site['r_bouton']))
        self.densities.append((site['centre'] + site['contact'] * (site['r_bouton']
                                                                   - _CONTACT / 2),
                               site['contact'], 0.7 * min(site['r_head'], site['r_bouton']),
                               site['cell']))

    def add_bouton(self, centre, radius, seg, cell, contact_dir=None):
        rng = self.rng
        self.sphere(centre, radius, seg)
        self.obstacles.add(centre, radius, cell)
        self.boutons.setdefault(cell, []).append(centre)
        if contact_dir is None:
            return
        # Synaptic vesicles crowd the half of the bouton facing the contact.
        count = rng.integers(25, 50)
        v = rng.normal(size=(4 * count, 3))
        v /= np.linalg.norm(v, axis=1)[:, None]
        v *= (radius - 28) * rng.random(4 * count)[:, None] ** (1 / 3)
        v = v[v @ contact_dir > -0.2 * radius][:count]
        self.vesicles.extend((centre + x, cell) for x in v)
        if rng.random() < 0.4:
            m = centre - contact_dir * 0.5 * radius
            self.mitochondria.append((m, m, 0.3 * radius, cell))

    def add_shaft_synapses(self):
        rng = self.rng
        axis_points, axis_info = [], []
        for seg, cell, nodes in self.branches:
            for (a, ra), (b, rb) in zip(nodes[:-1], nodes[1:]):
                n = max(2, int(np.linalg.norm(b - a) / 50))
                f = np.linspace(0, 1, n, endpoint=False)
                axis_points.append(a + (b - a) * f[:, None])
                axis_info.extend((seg, cell, ra + x * (rb - ra)) for x in f)
        if not axis_points:
            return
        axis_points = np.vstack(axis_points)
        tree = cKDTree(axis_points)
        for aseg, acell, path, ar in self.axons:
            d, idx = tree.query(path)
            radius = np.array([axis_info[i][2] for i in idx])
            gap = d - radius
            close = (gap < 200) & (gap > ar)
            runs = np.split(np.arange(len(path)), np.flatnonzero(np.diff(close.astype(int))) + 1)
            for run in runs:
                if not close[run[0]] or rng.random() > 0.5:
                    continue
                i = run[np.argmin(gap[run])]
                q, axis_point = path[i], axis_points[idx[i]]
                seg, cell, r = axis_info[idx[i]]
                if not self.inside(q) or any(np.linalg.norm(q - o) < 700
                                             for o in self.boutons.get(acell, [])):
                    continue
                if any(np.linalg.norm(axis_point - c) < sr + 300 for c, sr, _ in self.somata):
                    continue
                w = _unit(axis_point - q)
                r_bouton = rng.uniform(110, 170)
                shift = max(0.0, min(d[i] - r - r_bouton + _CONTACT, r_bouton - ar - 10))
                r_bouton = d[i] - r - shift + _CONTACT
                if not 90 <= r_bouton <= 220:
                    continue
                centre = q + w * shift
                if not (self.obstacles.clear(centre, r_bouton, ignore=(cell, acell), gap=10)
                        and self.soma_clear(centre, r_bouton)):
                    continue
                info = self.segments[seg]
                synapse = self.next_object('presynapse')
                self.next_object('postsynapse')
                contact = axis_point - w * r
                r_patch = min(0.85 * r_bouton, 0.9 * r)
                patch = self.new_segment('patch', cell, neuron=info['neuron'],
                                         dendrite=info['dendrite'], postsynapse=synapse)
                self.relabels.append((contact, r_patch, seg, patch))
                self.samples.append((patch, contact + w * 0.45 * r_patch, 0.45 * r_patch))
                axon = self.segments[aseg]['axon']
                bouton_seg = self.new_segment('bouton', acell, axon=axon, presynapse=synapse)
                self.add_bouton(centre, r_bouton, bouton_seg, acell, contact_dir=w)
                self.synapses.append(dict(kind=2, presynapse=bouton_seg, postsynapse=patch,
                                          axon=axon, dendrite=info['dendrite'], spinehead=-1,
                                          neuron=info['neuron'], contact=contact))
                self.densities.append((contact + w * _CONTACT / 2, w, 0.7 * r_patch, cell))
        self.obstacles.commit()

    def add_varicosities(self):
        """Boutons without a synapse here: swellings along the axons."""
        rng = self.rng
        for aseg, acell, path, ar in self.axons:
            for i in rng.integers(0, len(path), rng.integers(0, 3)):
                q = path[i]
                r = rng.uniform(90, 140)
                if (not self.inside(q) or any(np.linalg.norm(q - o) < 700
                                              for o in self.boutons.get(acell, []))
                        or not self.obstacles.clear(q, r, ignore=(acell,))
                        or not self.soma_clear(q, r)):
                    continue
                seg = self.new_segment('bouton', acell, axon=self.segments[aseg]['axon'])
                self.add_bouton(q, r, seg, acell)
        self.obstacles.commit()


# ----------------------------------------------------------------------------
# Regions: a jittered lattice whose Voronoi cells cut every segment into supervoxels

class _Lattice:
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
            jitter = (_hash_uniform(self.seed, 100 + axis, k, j, i) - 0.5) * 2 * self.JITTER
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


# ----------------------------------------------------------------------------
# The generator: global tables, tiles in threads, then object files and truth

class _Generator:

    def __init__(self, size, seed, report):
        self.size = size
        self.seed = seed
        self.report = report
        self.layout = dataset_layout(size)
        self.p = SIZES[size]
        self.tile = self.layout['tile_size']
        self.vs = np.array(VOXEL_SIZE)

    # -- set-up

    def prepare(self):
        g = self.geometry = _Geometry(self.size, self.seed, self.layout).build()
        grid_voxels = np.array(self.layout['grid_shape']) * self.tile
        self.lattice = lat = _Lattice(self.seed, self.p['region_spacing'], grid_voxels, self.vs)
        nseg = len(g.segments)
        # Glia: each region cell goes to the glia cell whose coarse seed is nearest to the
        # region's seed, so glia borders follow region borders.
        gx, gy, gz = (np.arange(n) for n in lat.shape)
        seeds = np.stack([s.ravel() for s in lat.seeds(
            gx[None, None, :], gy[None, :, None], gz[:, None, None])], axis=1)
        coarse = _Lattice(self.seed + 7919, self.p['glia_spacing'], grid_voxels, self.vs)
        cx, cy, cz = (np.arange(n) for n in coarse.shape)
        glia_seeds = np.stack([s.ravel() for s in coarse.seeds(
            cx[None, None, :], cy[None, :, None], cz[:, None, None])], axis=1)
        _, nearest = cKDTree(glia_seeds).query(seeds)
        rng = np.random.default_rng([self.seed, 2])
        glia_cells = [g.new_cell('glia', _GLIA + rng.normal(0, 4)) for _ in range(len(glia_seeds))]
        glia_segments = [g.new_segment('glia', c) for c in glia_cells]
        self.glia_segment_of_cell = np.asarray(glia_segments, np.int64)[nearest]
        self.seg_cell = np.array([s['cell'] for s in g.segments], np.int32)
        self.seg_kind = np.array([s['kind'] for s in g.segments])
        self.cell_intensity = np.array([c['intensity'] for c in g.cells], np.float32)
        self.first_glia_segment = nseg

        # Primitives as arrays, with voxel bounding boxes wide enough for the ECS margin.
        prims = g.prims
        self.pa = np.array([p[0] for p in prims])
        self.pb = np.array([p[1] for p in prims])
        self.pra = np.array([p[2] for p in prims])
        self.prb = np.array([p[3] for p in prims])
        self.pseg = np.array([p[4] for p in prims], np.int64)
        reach = np.maximum(self.pra, self.prb)[:, None] + _GAP + 1
        self.plo = np.floor((np.minimum(self.pa, self.pb) - reach) / self.vs).astype(int)
        self.phi = np.ceil((np.maximum(self.pa, self.pb) + reach) / self.vs).astype(int) + 1
        rel = g.relabels
        self.rc = np.array([r[0] for r in rel]).reshape(-1, 3)
        self.rr = np.array([r[1] for r in rel])
        self.rfrom = np.array([r[2] for r in rel], np.int64)
        self.rto = np.array([r[3] for r in rel], np.int64)
        self.rlo = np.floor((self.rc - self.rr[:, None]) / self.vs).astype(int) - 1
        self.rhi = np.ceil((self.rc + self.rr[:, None]) / self.vs).astype(int) + 2

        # Candidate regions (segment, lattice cell): every pair a voxel could produce.
        # Ids are drawn for all of them, so tiles need no coordination.
        keys = [self.glia_segment_of_cell * lat.count + np.arange(lat.count)]
        for lo, hi, seg in zip(self.plo, self.phi, self.pseg):
            keys.append(seg * lat.count + lat.cells_in(lo, hi))
        for lo, hi, seg in zip(self.rlo, self.rhi, self.rto):
            keys.append(seg * lat.count + lat.cells_in(lo, hi))
        self.keys = np.unique(np.concatenate(keys))
        n = len(self.keys)
        rng = np.random.default_rng([self.seed, 3])
        self.ids = (rng.choice(int(1.25 * n) + 16, n, replace=False) + 1).astype(np.uint32)

        # Sample points, rounded to voxels.
        self.sample_seg = np.array([s[0] for s in g.samples], np.int64)
        self.sample_voxel = np.rint(np.array([s[1] for s in g.samples]) / self.vs).astype(int)
        self.sample_depth = np.array([s[2] for s in g.samples])
        self.mito = g.mitochondria
        self.mlo = np.array([np.floor((np.minimum(a, b) - r) / self.vs) - 1
                             for a, b, r, _ in self.mito]).reshape(-1, 3).astype(int)
        self.mhi = np.array([np.ceil((np.maximum(a, b) + r) / self.vs) + 2
                             for a, b, r, _ in self.mito]).reshape(-1, 3).astype(int)
        self.vesicle_centre = np.array([v[0] for v in g.vesicles]).reshape(-1, 3)
        self.vesicle_cell = np.array([v[1] for v in g.vesicles], np.int32)

    # -- one tile

    def render(self, position):
        """Image and segmentation of one tile, and what it saw: region candidates and
        their voxel counts, and verified sample voxels."""
        t = self.tile
        core_lo = np.array(position) * t
        lo, hi = core_lo - HALO, core_lo + t + HALO
        shape = tuple((hi - lo)[::-1])
        xs, ys, zs = (((np.arange(a, b)) * v).astype(np.float32)
                      for a, b, v in zip(lo, hi, self.vs))
        best = np.full(shape, _GAP, np.float32)
        owner = np.zeros(shape, np.int32)                   # local segment index

        hit = np.flatnonzero(np.all(self.plo < hi, axis=1) & np.all(self.phi > lo, axis=1))
        rhit = np.flatnonzero(np.all(self.rlo < hi, axis=1) & np.all(self.rhi > lo, axis=1))
        local_cells_map, local_cells = self.lattice.nearest(lo, hi)
        glia_segs = self.glia_segment_of_cell[local_cells]
        segs = np.unique(np.concatenate([[0], self.pseg[hit], self.rto[rhit], self.rfrom[rhit],
                                         glia_segs]))
        local_of = {int(s): i for i, s in enumerate(segs)}

        for n in hit:
            a = np.maximum(self.plo[n], lo) - lo
            b = np.minimum(self.phi[n], hi) - lo
            sl = (slice(a[2], b[2]), slice(a[1], b[1]), slice(a[0], b[0]))
            d = _capsule_distance(xs[a[0]:b[0]], ys[a[1]:b[1]], zs[a[2]:b[2]],
                                  self.pa[n], self.pb[n], self.pra[n], self.prb[n])
            sub = best[sl]
            closer = d < sub
            np.copyto(sub, d, where=closer)
            # best keeps distances outside cells too (< _GAP: extracellular space)
            closer &= d < 0
            owner[sl][closer] = local_of[int(self.pseg[n])]
        for n in rhit:
            a = np.maximum(self.rlo[n], lo) - lo
            b = np.minimum(self.rhi[n], hi) - lo
            sl = (slice(a[2], b[2]), slice(a[1], b[1]), slice(a[0], b[0]))
            d = _capsule_distance(xs[a[0]:b[0]], ys[a[1]:b[1]], zs[a[2]:b[2]],
                                  self.rc[n], self.rc[n], self.rr[n], self.rr[n])
            sub = owner[sl]
            sub[(d < 0) & (sub == local_of[int(self.rfrom[n])])] = local_of[int(self.rto[n])]

        # Glia fill space away from cells where a smooth field says so; the rest is
        # extracellular space.
        field = _value_noise(self.seed, 11, 450.0, xs, ys, zs)
        glia = (owner == 0) & (best >= _GAP) & (field > 0.2)
        glia_local = np.searchsorted(segs, glia_segs).astype(np.int32)
        owner[glia] = glia_local[local_cells_map[glia]]

        cell = self.seg_cell[segs][owner]
        image = self.image(position, lo, hi, xs, ys, zs, cell, best)
        imaged = self.imaged(lo, hi)
        c = (slice(HALO, HALO + t),) * 3
        image[~imaged[c]] = 0
        owner_core = np.where(imaged[c], owner[c], 0)

        # Region ids: (local segment, local lattice cell) -> candidate -> id.
        ncells = len(local_cells)
        pair = owner_core * ncells + local_cells_map[c]
        counts = np.bincount(pair.ravel(), minlength=len(segs) * ncells)
        counts[:ncells] = 0                                  # segment 0: no region
        present = np.flatnonzero(counts)
        keys = segs[present // ncells] * self.lattice.count + local_cells[present % ncells]
        where = np.searchsorted(self.keys, keys)
        if np.any(where >= len(self.keys)) or np.any(self.keys[np.minimum(
                where, len(self.keys) - 1)] != keys):
            raise RuntimeError('synthetic: a region outside the candidate table')
        lut = np.zeros(len(counts), np.uint32)
        lut[present] = self.ids[where]
        segmentation = lut[pair]

        samples = self.check_samples(core_lo, lo, owner, imaged, segs)
        return image, segmentation, (where, counts[present]), samples

    def imaged(self, lo, hi):
        (x0, y0, z0), (x1, y1, z1) = self.layout['extent']
        (nx0, ny0, _), (nx1, ny1, _) = self.layout['notch']
        x, y, z = (np.arange(a, b) for a, b in zip(lo, hi))
        in_xy = (((x >= x0) & (x < x1))[None, :] & ((y >= y0) & (y < y1))[:, None]
                 & ~(((x >= nx0) & (x < nx1))[None, :] & ((y >= ny0) & (y < ny1))[:, None]))
        return ((z >= z0) & (z < z1))[:, None, None] & in_xy[None]

    def image(self, position, lo, hi, xs, ys, zs, cell, best):
        """EM-like grey levels of the work box: cytoplasm, membranes, organelles, noise,
        blur; returns the tile (halo cut off) as uint8."""
        g = self.geometry
        img = self.cell_intensity[cell]
        img += (_value_noise(self.seed, 12, 70.0, xs, ys, zs) - 0.5) * 24
        inside = np.all(self.mlo < hi, axis=1) & np.all(self.mhi > lo, axis=1)
        for n in np.flatnonzero(inside):
            a_, b_, r, host = self.mito[n]
            self.paint(img, cell, host, lo, hi, xs, ys, zs, a_, b_, r,
                       [(-18.0, _MITO_RIM), (-1e9, _MITO)])
        for centre, r, host in g.nuclei:
            self.paint(img, cell, host, lo, hi, xs, ys, zs, centre, centre, r,
                       [(-20.0, _ENVELOPE), (-1e9, _NUCLEUS)])
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
        img[boundary & (cell > 0)] = _MEMBRANE
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
        s = np.maximum(blo, lo) - lo
        e = np.minimum(bhi, hi) - lo
        if np.any(s >= e):
            return
        sl = (slice(s[2], e[2]), slice(s[1], e[1]), slice(s[0], e[0]))
        d = _capsule_distance(xs[s[0]:e[0]], ys[s[1]:e[1]], zs[s[2]:e[2]], a, b, r, r)
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
            img[z[mine], y[mine], x[mine]] = _VESICLE + 10 * (abs(dx) + abs(dy))

    def paint_density(self, img, cell, host, lo, hi, xs, ys, zs, centre, normal, r):
        # The postsynaptic density: a dark disc of the partner's cytoplasm at the contact.
        reach = r + 40
        blo = np.floor((centre - reach) / self.vs).astype(int)
        bhi = np.ceil((centre + reach) / self.vs).astype(int) + 1
        s = np.maximum(blo, lo) - lo
        e = np.minimum(bhi, hi) - lo
        if np.any(s >= e):
            return
        sl = (slice(s[2], e[2]), slice(s[1], e[1]), slice(s[0], e[0]))
        dx = (xs[s[0]:e[0]] - centre[0])[None, None, :]
        dy = (ys[s[1]:e[1]] - centre[1])[None, :, None]
        dz = (zs[s[2]:e[2]] - centre[2])[:, None, None]
        along = dx * normal[0] + dy * normal[1] + dz * normal[2]
        lateral2 = dx * dx + dy * dy + dz * dz - along * along
        disc = (np.abs(along) < 30) & (lateral2 < r * r) & (cell[sl] == host)
        img[sl][disc] = _PSD

    def check_samples(self, core_lo, lo, owner, imaged, segs):
        """Sample voxels of this tile whose 6 neighbours are imaged and in their segment."""
        t = self.tile
        v = self.sample_voxel
        mine = np.flatnonzero(np.all(v >= core_lo, axis=1) & np.all(v < core_lo + t, axis=1))
        found = []
        for n in mine:
            seg = self.sample_seg[n]
            k = np.searchsorted(segs, seg)
            if k >= len(segs) or segs[k] != seg:
                continue
            x, y, z = v[n] - lo
            block = (slice(z - 1, z + 2), slice(y - 1, y + 2), slice(x - 1, x + 2))
            o, im = owner[block], imaged[block]
            star = [(1, 1, 1), (0, 1, 1), (2, 1, 1), (1, 0, 1), (1, 2, 1), (1, 1, 0), (1, 1, 2)]
            if all(o[s] == k and im[s] for s in star):
                found.append(n)
        return found

    # -- writing

    def write_tile(self, folder, position, image, segmentation):
        name = tile_name(position)
        chunk = min(SEGMENTATION_CHUNK, self.tile)
        # Compressed here (zlib releases the GIL, so threads compress in parallel) and
        # stored with direct chunk writes: exactly what HDF5's deflate filter would store.
        pieces = []
        for z, y, x in itertools.product(range(0, self.tile, chunk), repeat=3):
            block = np.ascontiguousarray(segmentation[z:z + chunk, y:y + chunk, x:x + chunk])
            pieces.append(((z, y, x), zlib.compress(block, SEGMENTATION_GZIP_LEVEL)))
        # h5py is not safe for files created and closed in threads at once (HDF5 errors
        # such as 'not a VOL connector ID'): one thread at a time writes.
        with _H5_LOCK, h5py.File(os.path.join(folder, 'image', name), 'w') as f:
            f.create_dataset('data', data=image)
        with _H5_LOCK, h5py.File(os.path.join(folder, 'segmentation', name), 'w') as f:
            d = f.create_dataset('data', shape=segmentation.shape, dtype=np.uint32,
                                 chunks=(chunk,) * 3, compression='gzip',
                                 compression_opts=SEGMENTATION_GZIP_LEVEL)
            # write_direct_chunk does not take h5py's own lock "phil" (h5py 3.10), which
            # other threads' h5py calls do (freeing the previous tile's File and Dataset
            # objects, for one): without it HDF5 is entered from two threads at once
            # ("no VOL object wrap context", now and then a crash).
            with phil:
                for offset, data in pieces:
                    d.id.write_direct_chunk(offset, data)
        return sum(os.path.getsize(os.path.join(folder, kind, name))
                   for kind in ('image', 'segmentation'))

    def run(self, work, final_folder):
        start = time.monotonic()
        self.prepare()
        for kind in ('image', 'segmentation', 'objects'):
            os.makedirs(os.path.join(work, kind))
        positions = self.layout['present']
        progress = Progress('connectome demo %s' % self.size, len(positions), unit='tiles',
                            report=self.report)
        region_voxels = np.zeros(len(self.keys), np.int64)
        samples = []
        bytes_written = 0

        def job(position):
            image, seg, regions, found = self.render(position)
            nbytes = self.write_tile(work, position, image, seg)
            return nbytes, regions, found

        workers = min(available_cores(), len(positions))
        with ThreadPoolExecutor(workers, thread_name_prefix='synthetic') as pool:
            # At most 2 tiles per thread in flight, so memory stays bounded.
            queue = list(reversed(positions))
            running = set()
            try:
                while queue or running:
                    while queue and len(running) < 2 * workers:
                        running.add(pool.submit(job, queue.pop()))
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for future in done:
                        nbytes, (where, counts), found = future.result()
                        np.add.at(region_voxels, where, counts)
                        samples.extend(found)
                        bytes_written += nbytes
                        progress.advance(1, nbytes)
            except BaseException:
                for future in running:
                    future.cancel()
                raise

        summary = self.finish(work, final_folder, region_voxels, samples)
        bytes_written += sum(os.path.getsize(os.path.join(work, n))
                             for n in ('truth.hdf5', 'README.txt'))
        bytes_written += sum(os.path.getsize(os.path.join(work, 'objects', n))
                             for n in os.listdir(os.path.join(work, 'objects')))
        seconds = time.monotonic() - start
        summary.update(bytes=bytes_written, seconds=seconds)
        objects = ', '.join('%d %s' % (summary['objects'][c], FILE_STEMS[c]) for c in CLASSES)
        summary['message'] = (
            'Wrote synthetic dataset %s (size %s, seed %d): %d image and %d segmentation tiles'
            ' of %d^3 (%d positions absent), %d regions, %s, %d glia cells; %s in %s'
            % (final_folder, self.size, self.seed, summary['tiles'], summary['tiles'],
               self.tile, summary['absent_tiles'], summary['regions'], objects,
               summary['glia_cells'], format_bytes(bytes_written), format_duration(seconds)))
        progress.finish(summary['message'])
        return summary

    def finish(self, work, final_folder, region_voxels, samples):
        """Objects present, their ids, the object files, truth.hdf5 and README.txt."""
        g = self.geometry
        lat = self.lattice
        present = np.flatnonzero(region_voxels)
        region_ids = self.ids[present]
        region_seg = self.keys[present] // lat.count
        order = np.argsort(region_ids)
        region_ids, region_seg = region_ids[order], region_seg[order]
        max_id = int(region_ids.max())
        nseg = len(g.segments)
        seg_present = np.zeros(nseg, bool)
        seg_present[region_seg] = True

        # Synapses count only if both sides have voxels; object ids follow list order.
        kept = [s for s in g.synapses
                if seg_present[s['presynapse']] and seg_present[s['postsynapse']]]
        provisional = {name: np.array([s[name] for s in g.segments], np.int64)
                       for name in CLASSES}
        for name, side in (('presynapse', 'presynapse'), ('postsynapse', 'postsynapse')):
            provisional[name][:] = -1
            for number, s in enumerate(kept):
                provisional[name][s[side]] = number
        object_of_seg = {}
        counts = {}
        for name in CLASSES:
            prov = provisional[name]
            used = np.unique(prov[seg_present & (prov >= 0)])
            new_id = np.zeros(max(int(prov.max()) + 2, 1), np.int32)
            new_id[used] = np.arange(1, len(used) + 1)
            object_of_seg[name] = np.where(prov >= 0, new_id[prov], 0)
            counts[name] = len(used)

        per_region = {}
        for name in CLASSES:
            a = np.zeros(max_id + 1, np.int32)
            a[region_ids] = object_of_seg[name][region_seg]
            per_region[name] = a
        cell_array = np.zeros(max_id + 1, np.int32)
        cell_array[region_ids] = self.seg_cell[region_seg]
        glia_ids = region_ids[self.seg_kind[region_seg] == 'glia']

        synapse_rows = self.synapse_table(kept, object_of_seg)
        sample_rows = self.sample_table(samples, object_of_seg)
        self.write_object_files(os.path.join(work, 'objects'), per_region, region_ids,
                                region_seg, object_of_seg)
        self.write_truth(os.path.join(work, 'truth.hdf5'), region_ids, glia_ids, cell_array,
                         per_region, sample_rows, synapse_rows, max_id)
        self.write_readme(os.path.join(work, 'README.txt'))
        glia_cells = len(np.unique(self.seg_cell[region_seg[self.seg_kind[region_seg] == 'glia']]))
        return dict(folder=final_folder, size=self.size, seed=self.seed,
                    tiles=len(self.layout['present']), absent_tiles=len(self.layout['absent']),
                    regions=len(region_ids), maximum_region_id=max_id, objects=counts,
                    synapses=len(kept), glia_cells=glia_cells)

    def synapse_table(self, kept, object_of_seg):
        dtype = [('presynapse', 'i4'), ('postsynapse', 'i4'), ('axon', 'i4'),
                 ('dendrite', 'i4'), ('spinehead', 'i4'), ('neuron', 'i4'), ('kind', 'i1'),
                 ('x', 'i4'), ('y', 'i4'), ('z', 'i4')]
        rows = np.zeros(len(kept), dtype)
        g = self.geometry
        seg_of = {}
        for name in ('axon', 'dendrite', 'spinehead', 'neuron'):
            # provisional object index -> final id, through any segment carrying it
            prov = np.array([s[name] for s in g.segments])
            m = {}
            for s, p in enumerate(prov):
                if p >= 0 and object_of_seg[name][s]:
                    m[p] = int(object_of_seg[name][s])
            seg_of[name] = m
        for n, s in enumerate(kept):
            x, y, z = np.rint(s['contact'] / self.vs).astype(int)
            rows[n] = (object_of_seg['presynapse'][s['presynapse']],
                       object_of_seg['postsynapse'][s['postsynapse']],
                       seg_of['axon'].get(s['axon'], 0), seg_of['dendrite'].get(s['dendrite'], 0),
                       seg_of['spinehead'].get(s['spinehead'], 0),
                       seg_of['neuron'].get(s['neuron'], 0), s['kind'], x, y, z)
        return rows

    def sample_table(self, samples, object_of_seg):
        """Up to 3 sample voxels per object, the deepest first."""
        samples = sorted(samples, key=lambda n: -self.sample_depth[n])
        tables = {}
        for name in CLASSES:
            taken = {}
            for n in samples:
                obj = int(object_of_seg[name][self.sample_seg[n]])
                if obj and len(taken.setdefault(obj, [])) < 3:
                    taken[obj].append(n)
            rows = [(obj,) + tuple(self.sample_voxel[n]) for obj in sorted(taken)
                    for n in taken[obj]]
            tables[name] = np.array(rows, np.int32).reshape(-1, 4)
        return tables

    def write_object_files(self, folder, per_region, region_ids, region_seg, object_of_seg):
        for name in CLASSES:
            stem = FILE_STEMS[name]
            ids = per_region[name][region_ids]
            order = np.lexsort((region_ids, ids))
            order = order[ids[order] > 0]
            members, owners = region_ids[order], ids[order]
            n = int(owners.max()) if len(owners) else 0
            lengths = np.bincount(owners, minlength=n + 1)[1:]
            objects = np.split(members, np.cumsum(lengths)[:-1]) if n else []
            path = os.path.join(folder, stem)
            self.write_object_hdf5(path + '.hdf5', name, objects, members, lengths,
                                   per_region[name])
            self.write_object_mat(path + '.mat', name, objects)
            self.write_object_csv(path + '.csv', name, objects)

    def write_object_hdf5(self, path, name, objects, members, lengths, per_region):
        with h5py.File(path, 'w') as f:
            if name in ('axon', 'postsynapse'):
                f.create_dataset('region_ids', data=members.astype(np.uint32))
                f.create_dataset('lengths', data=lengths.astype(np.int64))
                if name == 'postsynapse':
                    f.create_dataset('ids', data=np.arange(1, len(objects) + 1, dtype=np.int64))
            elif name == 'presynapse':
                f.create_dataset('region_ids', data=members.astype(np.uint32))
                f.create_dataset('offsets', data=np.r_[0, np.cumsum(lengths)].astype(np.int64))
            elif name == 'dendrite':
                g = f.create_group('dendrites')
                for k, regions in enumerate(objects, start=1):
                    g.create_dataset(str(k), data=regions.astype(np.uint32))
            elif name == 'neuron':
                g = f.create_group('neurons')
                for k, regions in enumerate(objects, start=1):
                    g.create_dataset('neuron_%03d' % k, data=regions.astype(np.uint32))
            else:
                f.create_dataset('object_id', data=per_region.astype(np.int32))

    def write_object_mat(self, path, name, objects):
        stem = FILE_STEMS[name]
        columns = [r.astype(np.float64) for r in objects]
        if name == 'dendrite' and columns:
            value = matlab.StructArray([{'segIds': c, 'id': float(k)}
                                        for k, c in enumerate(columns, start=1)])
        elif name == 'neuron' and columns:
            # Somata lie inside the volume, so every neuron is present, in soma order.
            value = matlab.StructArray([
                {'segIds': c, 'somaPosition': np.rint(soma / self.vs).reshape(1, 3) + 1}
                for c, (soma, _r, _cell) in zip(columns, self.geometry.somata)])
        else:
            value = matlab.Cell(columns)
        matlab.write_mat(path, {stem: value})

    def write_object_csv(self, path, name, objects):
        with open(path, 'w', newline='') as f:
            w = csv.writer(f)
            if name in ('dendrite', 'spinehead', 'postsynapse'):
                w.writerow(['region_id', 'object_id'])
                for k, regions in enumerate(objects, start=1):
                    w.writerows((int(r), k) for r in regions)
            else:
                for regions in objects:
                    w.writerow([int(r) for r in regions])

    def write_truth(self, path, region_ids, glia_ids, cell_array, per_region, samples,
                    synapses, max_id):
        layout = self.layout
        with h5py.File(path, 'w') as f:
            a = f.attrs
            a['voxel_size'] = np.array(VOXEL_SIZE)
            a['tile_size'] = self.tile
            a['grid_shape'] = np.array(layout['grid_shape'])
            a['extent'] = np.array(layout['extent'])
            a['notch'] = np.array(layout['notch'])
            a['absent_tiles'] = np.array(layout['absent'], np.int32).reshape(-1, 3)
            a['seed'] = self.seed
            a['size'] = self.size
            a['maximum_region_id'] = max_id
            a['classes'] = np.array(CLASSES, dtype=h5py.string_dtype())
            f.create_dataset('region_ids', data=region_ids.astype(np.uint32))
            f.create_dataset('glia_region_ids', data=glia_ids.astype(np.uint32))
            f.create_dataset('cell', data=cell_array, compression='gzip')
            objects = f.create_group('objects')
            samples_group = f.create_group('samples')
            for name in CLASSES:
                objects.create_dataset(name, data=per_region[name], compression='gzip')
                samples_group.create_dataset(name, data=samples[name])
            f.create_dataset('synapses', data=synapses)

    def write_readme(self, path):
        layout = self.layout
        (x0, y0, z0), (x1, y1, z1) = layout['extent']
        text = README % dict(
            size=self.size, seed=self.seed, t=self.tile, grid='%d x %d x %d' % layout['grid_shape'],
            present=len(layout['present']), absent=', '.join(
                tile_name(p)[:-5] for p in layout['absent']) or 'none',
            extent='x %d-%d, y %d-%d, z %d-%d' % (x0, x1 - 1, y0, y1 - 1, z0, z1 - 1),
            vs='%g x %g x %g' % VOXEL_SIZE)
        with open(path, 'w') as f:
            f.write(text)


README = """Synthetic connectome dataset written by ChimeraX-Connectome (connectome demo)
size %(size)s, seed %(seed)d; voxels %(vs)s nm (x, y, z)

image/x{X}y{Y}z{Z}.hdf5         EM tiles: dataset /data, uint8, %(t)d^3 voxels stored z,y,x
segmentation/x{X}y{Y}z{Z}.hdf5  region ids: /data, uint32, %(t)d^3 (z,y,x), 0 = unsegmented,
                                gzip level 4 in 64^3 chunks
    Tile xXyYzZ starts at voxel (X, Y, Z) * %(t)d.  Grid %(grid)s tile positions (x, y, z),
    %(present)d present; absent (nothing imaged there): %(absent)s.
    Imaged extent (0-based voxels, inclusive): %(extent)s, less an unimaged notch;
    voxels outside it are 0 in both kinds of tile.
objects/{axons,dendrites,spineheads,neurons,presynapses,postsynapses}.{hdf5,mat,csv}
    which regions make up each object; object ids are 1..N in list order.
    .mat: MATLAB v7.3 cell arrays or struct arrays (dendrites(k).segIds, neurons(k).segIds)
    .csv: region_id,object_id rows (dendrites, spineheads, postsynapses) or one line of
          region ids per object (axons, neurons, presynapses)
    .hdf5: a different common layout per class (see chimerax.connectome.synthetic)
truth.hdf5  ground truth: object id per region per class, sample voxels, synapses
"""
