"""The global description every tile is rasterised from: cells, their segments (the parts
that become objects: a soma, a dendrite tree, a spine head, an axon, a bouton ...) and
the primitives (tapered capsules, spheres) that make them, laid out in nm so that cells
keep clear of each other (Obstacles).  Dendrites and axons are grown by the mixins in
dendrites.py and axons.py.  Pure: numpy, scipy.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.spatial import cKDTree

from .axons import Axons
from .dendrites import Dendrites
from .parameters import CLASSES, CLEARANCE, ECS, SIZES, VOXEL_SIZE


@dataclass(frozen=True)
class Cell:
    """One cell: its kind ('neuron', 'dendrite', 'axon', 'glia'; 'none' for cell 0, the
    extracellular space) and its grey level in the EM image."""
    kind: str
    intensity: float


class Capsule(NamedTuple):
    """A tapered capsule of a segment (a sphere where a == b): end points a and b in nm
    and the radii there."""
    a: np.ndarray
    b: np.ndarray
    ra: float
    rb: float
    segment: int


class Sample(NamedTuple):
    """A point (nm) inside a segment and how far inside it lies (nm): the candidates for
    truth.hdf5's sample voxels."""
    segment: int
    point: np.ndarray
    depth: float


class Obstacles:
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

    def clear(self, points, radii, ignore=(), gap=CLEARANCE):
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

    def push(self, points, radius, ignore=(), gap=CLEARANCE, k=12):
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


class Geometry(Dendrites, Axons):
    """Cells, their segments and the primitives (tapered capsules, spheres) that make them,
    plus image-only detail (nuclei, mitochondria, vesicles, synaptic densities)."""

    def __init__(self, size, seed, layout):
        self.parameters = SIZES[size]
        self.seed = seed
        self.rng = np.random.default_rng([seed, 1])
        self.vs = np.array(VOXEL_SIZE)
        start, stop = (np.array(v) for v in layout.extent)
        self.lo = start * self.vs
        self.hi = (stop - 1) * self.vs
        self.notch = [np.array(layout.notch[0]) * self.vs,
                      (np.array(layout.notch[1]) - 1) * self.vs]
        self.cells = [Cell('none', ECS)]
        self.segments = []
        self.counters = {name: 0 for name in CLASSES}
        self.prims = []             # Capsule
        self.relabels = []          # axons.Relabel
        self.mitochondria = []      # (a, b, radius, cell)
        self.nuclei = []            # (centre, radius, cell)
        self.vesicles = []          # axons.Vesicle
        self.densities = []         # (centre, normal, radius, cell)
        self.samples = []           # Sample
        self.somata = []            # (centre, radius, cell)
        self.branches = []          # (segment, cell, [(point, radius)...])
        self.axons = []             # (segment, cell, path points, radius)
        self.synapses = []          # axons.Synapse
        self.boutons = {}           # axon cell -> [bouton centres]
        self.obstacles = Obstacles()
        self.new_segment('none', 0)

    # -- bookkeeping

    def new_cell(self, kind, intensity):
        self.cells.append(Cell(kind, intensity))
        return len(self.cells) - 1

    def new_segment(self, kind, cell, **classes):
        # A dict, not a record: its provisional object number per class is read by class
        # name (CLASSES), a head gets its postsynapse once a bouton touches it, and heads
        # and boutons gain a centre and radius.
        seg = dict(kind=kind, cell=cell)
        for name in CLASSES:
            seg[name] = classes.get(name, -1)
        self.segments.append(seg)
        return len(self.segments) - 1

    def next_object(self, name):
        self.counters[name] += 1
        return self.counters[name] - 1

    def capsule(self, a, b, ra, rb, segment, sample=True):
        self.prims.append(Capsule(np.asarray(a, float), np.asarray(b, float), float(ra),
                                  float(rb), segment))
        if sample:
            self.add_sample(segment, (np.asarray(a) + b) / 2, (ra + rb) / 2)

    def sphere(self, c, r, segment):
        self.capsule(c, c, r, r, segment, sample=False)
        self.add_sample(segment, np.asarray(c, float), r)
        for axis in range(3):
            for sign in (-0.45, 0.45):
                self.add_sample(segment, c + sign * r * np.eye(3)[axis], 0.55 * r)

    def add_sample(self, segment, point, depth):
        self.samples.append(Sample(segment, point, depth))

    def inside(self, p, margin=0.0):
        return bool(np.all(p >= self.lo - margin) and np.all(p <= self.hi + margin))

    def in_notch(self, p, margin=0.0):
        return bool(np.all(p[:2] >= self.notch[0][:2] - margin)
                    and np.all(p[:2] <= self.notch[1][:2] + margin))

    def soma_clear(self, points, radii, ignore=(), gap=CLEARANCE):
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

    def exit_distance(self, p, d):
        """Distance from p along unit d to the boundary of the extent."""
        with np.errstate(divide='ignore'):
            steps = np.where(d > 0, (self.hi - p) / d, np.where(d < 0, (self.lo - p) / d, np.inf))
        return float(max(0.0, steps.min()))
