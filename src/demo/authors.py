"""The synthetic dataset's objects in the authors' own layout (objects/authors/: axons.hdf5,
dendrites.hdf5, synapses.hdf5, segments.hdf5; formats/objectfiles/authors.py), and the
ground truth ``connectome ids FOLDER`` must make from them.

What the authors call a dendrite is every postsynaptic target, somata included, with the
spine heads attached to it: here the demo's dendrites 1..D with their spine heads (all
but about one in ten, left unattached as the real reconstruction leaves some), then one
soma per neuron (D + n).  A neuron's regions are then those of its soma and dendrites,
attached spine heads included; spine heads are also objects of their own.  Each axon, dendrite
and soma has a skeleton whose nodes are sample voxels verified to lie inside it (with
the region there), joined by a minimum spanning tree.  Synapses are the demo's (ids
1..S, so presynapse / postsynapse ids are the same) and, as in the real data, some
boutons that touch a second spine head make a second synapse (ids S+1 ...): such
regions are on several synapses, and the lowest synapse id is theirs.  Classes, spine
head volumes and synapse ASI areas follow from the geometry.  Pure: numpy, scipy, h5py.
"""

import os
from collections import Counter
from dataclasses import dataclass

import h5py
import numpy as np
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial.distance import pdist, squareform

from . import authorsfile as layout
from .parameters import VOXEL_SIZE

AXON_CLASSES = ('corticocortical', 'thalamocortical', 'inhibitory', 'other')
DENDRITE_CLASSES = ('soma', 'proximaldendrite', 'smoothdendrite', 'apicaldendrite',
                    'axoninitialsegment', 'otherdendrite')
SYNAPSE_TYPES = ('primaryspine', 'secondaryspine', 'shaft', 'soma')
SECOND_CONTACT = 150.0          # nm between a bouton and another head's surface


@dataclass(frozen=True)
class AuthorsSynapse:
    """One synapse as the authors' files list it: pre and post are segment numbers (the
    bouton; the spine head or the shaft's patch), type a SYNAPSE_TYPES code (1-based),
    axon, dendrite and head the final ids of its partners (0: none, dendrite in the
    authors' numbering), contact its voxel (0-based x, y, z) and asi the contact's area
    (um^2; NaN where unknown)."""
    pre: int
    post: int
    type: int
    axon: int
    dendrite: int
    head: int
    contact: np.ndarray
    asi: float


class AuthorsExport:
    """Everything the authors' files hold, made from the generator's tables."""

    def __init__(self, gen, region_ids, region_seg, region_position, region_voxels,
                 object_of_seg, counts, kept, synapse_rows, samples, max_id):
        self.g = gen.geometry
        self.seed = gen.seed
        self.vs = np.array(VOXEL_SIZE)
        self.region_ids = region_ids
        self.region_seg = region_seg
        self.region_position = region_position
        self.region_voxels = region_voxels
        self.object_of_seg = object_of_seg
        self.counts = counts
        self.kept = kept
        self.synapse_rows = synapse_rows
        self.samples = samples              # [(sample, region id)]
        self.sample_seg = gen.sample_seg
        self.sample_voxel = gen.sample_voxel
        self.max_id = max_id
        self.rng = np.random.default_rng([gen.seed, 40])
        segs = self.g.segments
        self.kind = np.array([s['kind'] for s in segs])
        order = np.argsort(region_seg, kind='stable')
        self._by_seg = (region_seg[order], region_ids[order])
        self.build()

    def regions_of(self, seg):
        segs, ids = self._by_seg
        lo, hi = np.searchsorted(segs, seg), np.searchsorted(segs, seg, side='right')
        return ids[lo:hi]

    # -- the tables

    def build(self):
        o = self.object_of_seg
        nseg = len(self.g.segments)
        D = self.counts['dendrite']
        n_neurons = self.counts['neuron']
        # Authors' dendrite of each segment: the demo's dendrite, or D + neuron for a soma.
        dendrite = o['dendrite'].astype(np.int64).copy()
        soma = self.kind == 'soma'
        dendrite[soma] = D + o['neuron'][soma]
        # Spine heads attached to their dendrite (through the neck), most of them.
        final = {seg['dendrite']: int(o['dendrite'][s]) for s, seg in
                 enumerate(self.g.segments) if seg['kind'] == 'dendrite'}
        self.attached = np.zeros(nseg, bool)
        attach_rng = np.random.default_rng([self.seed, 41])
        for s, seg in enumerate(self.g.segments):
            if seg['kind'] == 'head' and attach_rng.random() >= 0.1:
                dendrite[s] = final.get(seg['dendrite_of'], 0)
                self.attached[s] = dendrite[s] > 0
        self.dendrite_of_seg = dendrite
        self.n_dendrites = D + n_neurons
        target = np.isin(self.kind, ('soma', 'dendrite', 'patch')) | self.attached
        self.neuron_of_seg = np.where(target, o['neuron'], 0)

        # Per dendrite: its neuron (0: a fragment from outside) and class.
        neuron_id = np.zeros(self.n_dendrites, np.int64)
        for s in range(nseg):
            d = dendrite[s]
            if d and self.neuron_of_seg[s]:
                neuron_id[d - 1] = self.neuron_of_seg[s]
        self.neuron_id = neuron_id
        dclass = np.zeros(self.n_dendrites, np.int64)
        code = {n: k for k, n in enumerate(DENDRITE_CLASSES, start=1)}
        seen = set()
        for d in range(D):
            if neuron_id[d]:
                # The first dendrite of each neuron reaches up: apical.
                dclass[d] = code['apicaldendrite' if neuron_id[d] not in seen
                                 else 'proximaldendrite']
                seen.add(neuron_id[d])
            else:
                dclass[d] = code[self.rng.choice(['otherdendrite', 'smoothdendrite'],
                                                 p=[0.7, 0.3])]
        dclass[D:] = code['soma']
        self.dendrite_class = dclass

        # Axon classes from their synapses: as many on shafts as on spines -> inhibitory.
        n_axons = self.counts['axon']
        spine = np.zeros(n_axons + 1, np.int64)
        shaft = np.zeros(n_axons + 1, np.int64)
        for row in self.synapse_rows:
            (spine if row['kind'] == 1 else shaft)[row['axon']] += 1
        aclass = np.zeros(n_axons, np.int64)
        for a in range(1, n_axons + 1):
            if spine[a] + shaft[a] == 0:
                aclass[a - 1] = 4
            elif shaft[a] >= spine[a]:
                aclass[a - 1] = 3
            else:
                aclass[a - 1] = 1 if self.rng.random() < 0.7 else 2
        self.axon_class = aclass

        # Spine heads: volume of the head sphere (um^3), unknown where the volume's
        # boundary cuts it.
        n_heads = self.counts['spinehead']
        volume = np.full(n_heads, np.nan, np.float32)
        self.head_seg = np.zeros(n_heads + 1, np.int64)
        for s, seg in enumerate(self.g.segments):
            h = o['spinehead'][s]
            if self.kind[s] == 'head' and h:
                self.head_seg[h] = s
                r, c = seg['radius'], seg['centre']
                if self.g.inside(c, -r) and not self.g.in_notch(c, r):
                    volume[h - 1] = 4.0 / 3.0 * np.pi * r ** 3 / 1e9
        self.head_volume = volume
        self.synapses = self.synapse_list()

    def synapse_list(self):
        """[AuthorsSynapse]: the demo's synapses first, then second contacts."""
        o = self.object_of_seg
        out = []
        for s, row in zip(self.kept, self.synapse_rows):
            post = s.postsynapse
            out.append(AuthorsSynapse(pre=s.presynapse, post=post,
                                      type=1 if s.kind == 1 else 3, axon=int(row['axon']),
                                      dendrite=int(self.dendrite_of_seg[post]),
                                      head=int(row['spinehead']),
                                      contact=np.array([row['x'], row['y'], row['z']]),
                                      asi=self.asi(s) if s.kind == 1 else np.nan))
        # Second contacts: a spine synapse's bouton within reach of another spine head.
        segs = self.g.segments
        heads = np.flatnonzero((self.kind == 'head') & (o['spinehead'] > 0))
        if heads.size:
            centres = np.array([segs[h]['centre'] for h in heads])
            radii = np.array([segs[h]['radius'] for h in heads])
            for s in list(self.kept):
                if s.kind != 1:
                    continue
                b = segs[s.presynapse]
                gap = np.linalg.norm(centres - b['centre'], axis=1) - radii - b['radius']
                gap[heads == s.postsynapse] = np.inf
                k = int(np.argmin(gap))
                if gap[k] < SECOND_CONTACT:
                    h = heads[k]
                    u = (centres[k] - b['centre']) / max(np.linalg.norm(
                        centres[k] - b['centre']), 1e-6)
                    contact = np.rint((b['centre'] + u * b['radius']) / self.vs).astype(int)
                    out.append(AuthorsSynapse(pre=s.presynapse, post=int(h), type=2,
                                              axon=int(o['axon'][s.presynapse]),
                                              dendrite=int(self.dendrite_of_seg[h]),
                                              head=int(o['spinehead'][h]), contact=contact,
                                              asi=np.nan))
        return out

    def asi(self, s):
        """The contact's area (um^2): the synaptic density's disc."""
        segs = self.g.segments
        r = 0.7 * min(segs[s.postsynapse]['radius'], segs[s.presynapse]['radius'])
        return float(np.pi * r * r / 1e6)

    # -- per-region truth

    def truth(self):
        """{attribute: per-region array} that ``connectome ids FOLDER`` must write."""
        n = self.max_id + 1
        ids, segs = self.region_ids, self.region_seg
        o = self.object_of_seg
        out = {}
        for name in ('axon', 'spinehead'):
            a = np.zeros(n, np.int32)
            a[ids] = o[name][segs]
            out[name] = a
        out['dendrite'] = np.zeros(n, np.int32)
        out['dendrite'][ids] = self.dendrite_of_seg[segs]
        out['neuron'] = np.zeros(n, np.int32)
        out['neuron'][ids] = self.neuron_of_seg[segs]
        big = np.iinfo(np.int32).max
        for name, side in (('presynapse', 'pre'), ('postsynapse', 'post')):
            lowest = np.full(n, big, np.int64)
            for k, syn in enumerate(self.synapses, start=1):
                r = self.regions_of(getattr(syn, side))
                lowest[r] = np.minimum(lowest[r], k)
            out[name] = np.where(lowest == big, 0, lowest).astype(np.int32)
        out['axonclass'] = np.r_[0, self.axon_class].astype(np.int32)[out['axon']]
        out['dendriteclass'] = np.r_[0, self.dendrite_class].astype(np.int32)[out['dendrite']]
        types = np.array([s.type for s in self.synapses], np.int32)
        asi = np.array([s.asi for s in self.synapses], np.float32)
        out['synapsetype'] = np.r_[0, types].astype(np.int32)[out['postsynapse']]
        out['asiarea'] = np.r_[np.float32(np.nan), asi].astype(np.float32)[out['postsynapse']]
        out['spineheadvolume'] = np.r_[np.float32(np.nan), self.head_volume].astype(
            np.float32)[out['spinehead']]
        return out

    # -- wiring: who connects to whom

    def partner_counts(self):
        """{'axon_dendrite' | 'axon_neuron' | 'axon_spinehead': (n, 3) int32 rows (axon,
        partner, synapses)}, counted synapse by synapse from the list written (rows in
        order of axon, then partner; partner 0 = none is left out)."""
        out = {}
        for name, key in (('axon_dendrite', 'dendrite'), ('axon_neuron', 'neuron'),
                          ('axon_spinehead', 'head')):
            counts = Counter()
            for s in self.synapses:
                partner = (getattr(s, key) if key != 'neuron'
                           else int(self.neuron_of_seg[s.post]))
                if s.axon and partner:
                    counts[(s.axon, partner)] += 1
            rows = [(a, p, n) for (a, p), n in sorted(counts.items())]
            out[name] = np.array(rows, np.int32).reshape(-1, 3)
        return out

    # -- skeletons

    def object_skeletons(self):
        """{'axon': [...], 'dendrite': [...]}: the skeletons written, made once."""
        if not hasattr(self, '_skeletons'):
            self._skeletons = {
                'axon': self.skeletons(self.object_of_seg['axon'], self.counts['axon']),
                'dendrite': self.skeletons(self.dendrite_of_seg, self.n_dendrites)}
        return self._skeletons

    def skeletons(self, object_of_seg, count):
        """A layout.Skeleton per object 1..count."""
        nodes = [[] for _ in range(count + 1)]
        for n, region in self.samples:
            obj = int(object_of_seg[self.sample_seg[n]])
            if obj:
                nodes[obj].append((tuple(self.sample_voxel[n] + 1), region))
        first_region = {}
        for r, s in zip(self.region_ids, self.region_seg):
            obj = int(object_of_seg[s])
            if obj and obj not in first_region:
                first_region[obj] = r
        out = []
        position = dict(zip(self.region_ids.tolist(), self.region_position.tolist()))
        for obj in range(1, count + 1):
            found = sorted(set(nodes[obj]))
            if not found:
                # No verified sample: one node at a voxel of one of its regions.
                r = int(first_region[obj])
                found = [(tuple(np.array(position[r]) + 1), r)]
            xyz = np.array([p for p, _ in found], np.int64)
            seg_ids = np.array([r for _, r in found], np.int64)
            if len(found) > 1:
                tree = minimum_spanning_tree(squareform(pdist(xyz * self.vs)) + 1e-9)
                i, j = tree.nonzero()
                edges = np.sort(np.stack([i, j], axis=1), axis=1) + 1
                edges = np.unique(edges, axis=0)
            else:
                edges = np.zeros((0, 2), np.int64)
            out.append(layout.Skeleton(xyz, edges, seg_ids))
        return out

    # -- files

    def write(self, folder, info):
        os.makedirs(folder, exist_ok=True)
        o = self.object_of_seg
        with h5py.File(os.path.join(folder, 'axons.hdf5'), 'w') as f:
            layout.write_categorical(f, '/axons/class', self.axon_class, AXON_CLASSES)
            layout.write_vectors(f, '/axons/agglomerate', self.members(o['axon'],
                                                                       self.counts['axon']))
            layout.write_skeletons(f, '/axons/skeleton', self.object_skeletons()['axon'])
            layout.write_info(f, info)
        with h5py.File(os.path.join(folder, 'dendrites.hdf5'), 'w') as f:
            f.create_dataset('/dendrites/neuronId', data=self.neuron_id.astype(np.uint32))
            layout.write_categorical(f, '/dendrites/class', self.dendrite_class,
                                     DENDRITE_CLASSES)
            layout.write_vectors(f, '/dendrites/agglomerate',
                                 self.members(self.dendrite_of_seg, self.n_dendrites))
            layout.write_skeletons(f, '/dendrites/skeleton',
                                   self.object_skeletons()['dendrite'])
            layout.write_vectors(f, '/spineHeads/agglomerate',
                                 self.members(o['spinehead'], self.counts['spinehead']))
            f.create_dataset('/spineHeads/volume', data=self.head_volume.astype(np.float32))
            layout.write_info(f, info)
        syn = self.synapses
        with h5py.File(os.path.join(folder, 'synapses.hdf5'), 'w') as f:
            layout.write_categorical(f, '/synapses/type', [s.type for s in syn],
                                     SYNAPSE_TYPES)
            layout.write_vectors(f, '/synapses/preSegIds',
                                 [self.regions_of(s.pre) for s in syn])
            layout.write_vectors(f, '/synapses/postSegIds',
                                 [self.regions_of(s.post) for s in syn])
            for name, side in (('prePosition', 'pre'), ('synPosition', None),
                               ('postPosition', 'post')):
                rows = [s.contact + 1 if side is None else self.inside_voxel(getattr(s, side))
                        for s in syn]
                layout.write_matrix(f, '/synapses/' + name, np.array(rows).reshape(-1, 3))
            for name, key in (('preAxonId', 'axon'), ('preSplitAxonId', 'axon'),
                              ('postDendriteId', 'dendrite'), ('postSpineHeadId', 'head')):
                f.create_dataset('/synapses/' + name,
                                 data=np.array([getattr(s, key) for s in syn], np.uint32))
            f.create_dataset('/synapses/asiArea', data=np.array([s.asi for s in syn]))
            layout.write_info(f, info)
        with h5py.File(os.path.join(folder, 'segments.hdf5'), 'w') as f:
            position = np.zeros((self.max_id, 3), np.int64)
            count = np.zeros(self.max_id, np.int64)
            position[self.region_ids - 1] = self.region_position + 1
            count[self.region_ids - 1] = self.region_voxels
            layout.write_matrix(f, '/segments/position', position)
            f.create_dataset('/segments/voxelCount', data=count.astype(np.uint32))
            layout.write_info(f, info)

    def members(self, object_of_seg, count):
        """Region ids of objects 1..count (ascending within each)."""
        owner = np.asarray(object_of_seg)[self.region_seg]
        order = np.lexsort((self.region_ids, owner))
        order = order[owner[order] > 0]
        lengths = np.bincount(owner[order], minlength=count + 1)[1:]
        return np.split(self.region_ids[order], np.cumsum(lengths)[:-1]) if count else []

    def inside_voxel(self, seg):
        """A voxel (1-based x,y,z) inside a segment: a verified sample if it has one,
        else a voxel of its first region."""
        if not hasattr(self, '_sample_of_seg'):
            self._sample_of_seg = {}
            for n, _region in self.samples:
                self._sample_of_seg.setdefault(int(self.sample_seg[n]), n)
        if seg in self._sample_of_seg:
            return self.sample_voxel[self._sample_of_seg[seg]] + 1
        r = int(self.regions_of(seg)[0])
        k = int(np.searchsorted(self.region_ids, r))
        return self.region_position[k] + 1
