"""Per object of a class: its regions, voxels and volume, synapses in and out, path
length over its skeleton, spine heads and spine density, and the box of its regions: the
``objects`` table of ``connectome table`` (pipeline/tables.py).

Regions come from the segmentation's per-region attribute of the class (``connectome
ids``), voxels from the authors' segments.hdf5 /segments/voxelCount (per region), inputs
and outputs from the wiring (pipeline/wiring.py: an object's inputs are the synapses onto
it, its outputs the synapses it makes; in the authors' files only axons make synapses
and only dendrites, spine heads and neurons receive them).  A path length is the sum of
its skeleton's edge lengths in scene units (nm) over 1000 (um); a neuron's is the sum of
its dendrites'; spine heads have no skeleton (empty).  A dendrite's spine heads are
those with regions in it (the authors attach a spine head's regions to its dendrite); a
neuron's, those of its dendrites.  The box is that of its regions' positions (a voxel
in each region, segments.hdf5 /segments/position) in scene coordinates.  Pure: numpy.
"""

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np

from ..errors import InputError
from ..formats import h5matrices
from ..formats.objectfiles import authors
from .tables import Table
from .wiring import CLASSES, NOUNS, POST, PRE, counted

OBJECT_COLUMNS = ('id', 'regions', 'voxels', 'volume_um3', 'inputs', 'outputs',
                  'pathlength_um', 'spineheads', 'spines_per_um',
                  'xmin', 'ymin', 'zmin', 'xmax', 'ymax', 'zmax')
SKELETON_CLASSES = ('axon', 'dendrite')


@dataclass(frozen=True)
class ObjectSources:
    """Where the objects table reads what the wiring does not hold: ``per_region(name)``
    (the segmentation's per-region attribute, or None), ``voxel_counts`` (per region id,
    index 0 = region 0; None without segments.hdf5), ``axes`` (3 x 3: the scene vector of
    one voxel step along x, y, z, columns), ``positions(regions)`` ((n, 3) scene
    coordinates of a voxel in each region, or None) and ``skeletons(name, ids)`` (a
    formats/h5matrices.py SkeletonSet, or None without skeletons)."""
    per_region: Callable
    voxel_counts: Optional[np.ndarray]
    axes: np.ndarray
    positions: Optional[Callable] = None
    skeletons: Optional[Callable] = None


def authors_sources(files, per_region, axes, to_scene):
    """The ObjectSources of the authors' files ``files`` ({'segments' | 'axons' |
    'dendrites': open formats/objectfiles/authors.AuthorsFile}, those there are),
    ``per_region(name)`` and ``to_scene`` (1-based voxel x, y, z -> scene)."""
    voxel_counts = positions = None
    segments = files.get('segments')
    if segments is not None:
        voxel_counts = np.r_[0, np.asarray(segments.node('/segments/voxelCount')[()],
                                           np.int64)]

        def positions(regions):
            return to_scene(segments.region_positions(regions))

    def skeletons(name, ids):
        kind, path = authors.SKELETONS[name]
        f = files.get(kind)
        if f is None or f.describe(path) != 'group':
            return None
        group = f.node(path)
        return h5matrices.read_skeletons(f.path, f.file, group, ids)
    return ObjectSources(per_region, voxel_counts, np.asarray(axes, np.float64), positions,
                         skeletons)


def path_lengths(skeletons, axes):
    """(ids, path lengths in um) of a formats/h5matrices.py SkeletonSet: per object the
    sum of its edges' lengths in scene units (nm) / 1000."""
    nodes = skeletons.nodes
    steps = (nodes[skeletons.edges[:, 1]] - nodes[skeletons.edges[:, 0]]) @ \
        np.asarray(axes, np.float64).T
    lengths = np.bincount(skeletons.edge_owner, weights=np.sqrt((steps * steps).sum(axis=1)),
                          minlength=skeletons.ids.size)
    return skeletons.ids, lengths / 1000.0


def all_ids(wiring, name, per_region):
    """Every object of a class: 1..N where the files say how many there are, else those
    with a region or a synapse."""
    if wiring.knows_count(name) and name != 'neuron':
        return np.arange(1, wiring.largest(name) + 1, dtype=np.int64)
    found = [np.unique(wiring.ids(name))]
    if per_region is not None:
        found.append(np.unique(per_region))
    if name == 'neuron':
        found.append(np.unique(wiring.dendrite_neuron))
    ids = np.unique(np.concatenate(found).astype(np.int64))
    return ids[ids > 0]


def _per_object(keys, ids, weights=None):
    """Sums of ``weights`` (or counts) of ``keys`` per object ``ids``."""
    keys = np.asarray(keys, np.int64)
    top = int(max(keys.max(initial=0), ids.max(initial=0))) + 1
    sums = np.bincount(keys, weights=weights, minlength=top)
    return sums[ids]


def objects_table(wiring, name, ids, sources, title=''):
    """One row per object ``ids`` (sorted, unique) of class ``name``: OBJECT_COLUMNS."""
    if name not in CLASSES:
        raise InputError('%s is not an object class (%s)' % (name, ', '.join(CLASSES)))
    ids = np.asarray(ids, np.int64)
    if not ids.size:
        raise InputError('no %s is picked' % NOUNS[name])
    values = sources.per_region(name)
    if values is None:
        raise InputError('the segmentation has no %s attribute (run connectome ids)' % name)
    values = np.asarray(values, np.int64)
    notes = []
    regions = _per_object(values[1:], ids)
    if sources.voxel_counts is not None:
        counts = np.zeros(values.size, np.float64)
        n = min(values.size, sources.voxel_counts.size)
        counts[:n] = sources.voxel_counts[:n]
        voxels = _per_object(values, ids, counts).astype(np.int64)
        volume = voxels * abs(float(np.linalg.det(sources.axes))) / 1e9
    else:
        voxels = np.zeros(ids.size, np.int64)
        volume = np.full(ids.size, np.nan)
        notes.append('no segments.hdf5: voxels 0 and volume unknown')
    zero = np.zeros(ids.size, np.int64)
    inputs = _per_object(wiring.ids(name), ids).astype(np.int64) if name in POST else zero
    outputs = _per_object(wiring.ids(name), ids).astype(np.int64) if name in PRE else zero
    length = _lengths(wiring, name, ids, sources, notes)
    spines = _spineheads(name, ids, values, sources)
    with np.errstate(divide='ignore', invalid='ignore'):
        density = np.where(length > 0, spines / length, np.nan)
    box = _boxes(ids, values, sources)
    columns = (ids, regions.astype(np.int64), voxels, volume, inputs, outputs, length,
               spines, density) + tuple(box[:, k] for k in range(6))
    return Table('objects', counted(ids.size, NOUNS[name]) + ((' ' + title) if title
                                                              else ''),
                 OBJECT_COLUMNS, columns, name, 'id', tuple(notes))


def _lengths(wiring, name, ids, sources, notes):
    """Path length (um) per object; NaN where there is no skeleton."""
    out = np.full(ids.size, np.nan)
    skeleton_of = {'axon': 'axon', 'dendrite': 'dendrite', 'neuron': 'dendrite'}.get(name)
    if skeleton_of is None:
        return out
    if name == 'neuron':
        neuron = np.asarray(wiring.dendrite_neuron, np.int64)
        wanted = np.flatnonzero(np.isin(neuron, ids)) + 1
    else:
        wanted = ids
    found = sources.skeletons(skeleton_of, wanted) if sources.skeletons else None
    if found is None:
        notes.append('no skeletons: path lengths unknown')
        return out
    owners, lengths = path_lengths(found, sources.axes)
    if name == 'neuron':
        owners = neuron[owners - 1]
        sums = _per_object(owners, ids, lengths)
        return np.where(_per_object(owners, ids) > 0, sums, np.nan)
    out[np.searchsorted(ids, owners)] = lengths
    return out


def _spineheads(name, ids, values, sources):
    """Spine heads with regions in each dendrite (or neuron); 0 for other classes."""
    if name not in ('dendrite', 'neuron'):
        return np.zeros(ids.size, np.int64)
    heads = sources.per_region('spinehead')
    if heads is None:
        return np.zeros(ids.size, np.int64)
    heads = np.asarray(heads, np.int64)
    n = min(heads.size, values.size)
    both = (heads[:n] > 0) & np.isin(values[:n], ids)
    pairs = np.unique(np.stack([values[:n][both], heads[:n][both]]), axis=1)
    return _per_object(pairs[0], ids).astype(np.int64)


def _grouping(keys):
    """A stable order of ``keys`` (non-negative ints below 2^32): two passes of numpy's
    radix sort on 16-bit halves, several times faster than sorting the whole keys."""
    keys = np.asarray(keys, np.int64)
    low = np.argsort((keys & 0xFFFF).astype(np.uint16), kind='stable')
    high = np.argsort((keys[low] >> 16).astype(np.uint16), kind='stable')
    return low[high]


def _boxes(ids, values, sources):
    """(n, 6) xmin, ymin, zmin, xmax, ymax, zmax of each object's region positions;
    NaN without positions or regions."""
    box = np.full((ids.size, 6), np.nan)
    if sources.positions is None or not ids.size:
        return box
    # Each region's row in ids (-1: none), through a lookup table of the ids.
    lookup = np.full(max(int(values.max(initial=0)), int(ids.max())) + 1, -1, np.int64)
    lookup[ids] = np.arange(ids.size)
    owner = lookup[values]
    owner[0] = -1
    regions = np.flatnonzero(owner >= 0)
    if not regions.size:
        return box
    owner = owner[regions]
    xyz = np.asarray(sources.positions(regions), np.float64)
    order = _grouping(owner)
    owner, xyz = owner[order], xyz[order]
    starts = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    box[owner[starts], :3] = np.minimum.reduceat(xyz, starts, axis=0)
    box[owner[starts], 3:] = np.maximum.reduceat(xyz, starts, axis=0)
    return box
