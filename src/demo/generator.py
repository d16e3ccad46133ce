"""The generator of a synthetic dataset: global tables (geometry, region candidates and
their ids) made once, then every tile rendered on its own in worker threads (EM image,
region ids, the regions and sample voxels it saw), then object files and ground truth
from what the tiles saw.  Pure: numpy, scipy, h5py.
"""

import dataclasses
import os
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

import numpy as np
from scipy.spatial import cKDTree

from ..parallel import available_cores
from ..progress import Progress, format_bytes, format_duration
from .authors import AuthorsExport
from .files import DatasetFiles
from .geometry import Geometry
from .image import EMImage
from .parameters import CLASSES, FILE_STEMS, GAP, GLIA, HALO, SIZES, VOXEL_SIZE, dataset_layout
from .regions import Lattice
from .shapes import capsule_distance, clip_box, value_noise


@dataclasses.dataclass(frozen=True)
class DemoSummary:
    """What generate_dataset wrote: the folder, size and seed; tiles (files of each kind)
    and absent_tiles (grid positions without an imaged voxel); regions and the
    maximum_region_id; objects ({class: count}); synapses; glia_cells; bytes written, the
    seconds it took and the message logged."""
    folder: str
    size: str
    seed: int
    tiles: int
    absent_tiles: int
    regions: int
    maximum_region_id: int
    objects: dict
    synapses: int
    glia_cells: int
    # filled in by Generator.run once every file is closed
    bytes: int = 0
    seconds: float = 0.0
    message: str = ''


class Generator:

    def __init__(self, size, seed, report):
        self.size = size
        self.seed = seed
        self.report = report
        self.layout = dataset_layout(size)
        self.parameters = SIZES[size]
        self.tile = self.layout.tile_size
        self.files = DatasetFiles(size, seed, self.layout)
        self.vs = np.array(VOXEL_SIZE)

    # -- set-up

    def prepare(self):
        g = self.geometry = Geometry(self.size, self.seed, self.layout).build()
        grid_voxels = np.array(self.layout.grid_shape) * self.tile
        self.lattice = lat = Lattice(self.seed, self.parameters.region_spacing, grid_voxels,
                                     self.vs)
        nseg = len(g.segments)
        # Glia: each region cell goes to the glia cell whose coarse seed is nearest to the
        # region's seed, so glia borders follow region borders.
        gx, gy, gz = (np.arange(n) for n in lat.shape)
        seeds = np.stack([s.ravel() for s in lat.seeds(
            gx[None, None, :], gy[None, :, None], gz[:, None, None])], axis=1)
        coarse = Lattice(self.seed + 7919, self.parameters.glia_spacing, grid_voxels, self.vs)
        cx, cy, cz = (np.arange(n) for n in coarse.shape)
        glia_seeds = np.stack([s.ravel() for s in coarse.seeds(
            cx[None, None, :], cy[None, :, None], cz[:, None, None])], axis=1)
        _, nearest = cKDTree(glia_seeds).query(seeds)
        rng = np.random.default_rng([self.seed, 2])
        glia_cells = [g.new_cell('glia', GLIA + rng.normal(0, 4)) for _ in range(len(glia_seeds))]
        glia_segments = [g.new_segment('glia', c) for c in glia_cells]
        self.glia_segment_of_cell = np.asarray(glia_segments, np.int64)[nearest]
        self.seg_cell = np.array([s['cell'] for s in g.segments], np.int32)
        self.seg_kind = np.array([s['kind'] for s in g.segments])
        self.cell_intensity = np.array([c.intensity for c in g.cells], np.float32)
        self.first_glia_segment = nseg

        # Primitives as arrays, with voxel bounding boxes wide enough for the ECS margin.
        prims = g.prims
        self.pa = np.array([p.a for p in prims])
        self.pb = np.array([p.b for p in prims])
        self.pra = np.array([p.ra for p in prims])
        self.prb = np.array([p.rb for p in prims])
        self.pseg = np.array([p.segment for p in prims], np.int64)
        reach = np.maximum(self.pra, self.prb)[:, None] + GAP + 1
        self.plo = np.floor((np.minimum(self.pa, self.pb) - reach) / self.vs).astype(int)
        self.phi = np.ceil((np.maximum(self.pa, self.pb) + reach) / self.vs).astype(int) + 1
        rel = g.relabels
        self.rc = np.array([r.centre for r in rel]).reshape(-1, 3)
        self.rr = np.array([r.radius for r in rel])
        self.rfrom = np.array([r.from_segment for r in rel], np.int64)
        self.rto = np.array([r.to_segment for r in rel], np.int64)
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
        self.sample_seg = np.array([s.segment for s in g.samples], np.int64)
        self.sample_voxel = np.rint(np.array([s.point for s in g.samples]) / self.vs).astype(int)
        self.sample_depth = np.array([s.depth for s in g.samples])
        self.em = EMImage(self.seed, g, self.cell_intensity)

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
        best = np.full(shape, GAP, np.float32)
        owner = np.zeros(shape, np.int32)                   # local segment index

        hit = np.flatnonzero(np.all(self.plo < hi, axis=1) & np.all(self.phi > lo, axis=1))
        rhit = np.flatnonzero(np.all(self.rlo < hi, axis=1) & np.all(self.rhi > lo, axis=1))
        local_cells_map, local_cells = self.lattice.nearest(lo, hi)
        glia_segs = self.glia_segment_of_cell[local_cells]
        segs = np.unique(np.concatenate([[0], self.pseg[hit], self.rto[rhit], self.rfrom[rhit],
                                         glia_segs]))
        local_of = {int(s): i for i, s in enumerate(segs)}

        for n in hit:
            a, b, sl = clip_box(self.plo[n], self.phi[n], lo, hi)
            d = capsule_distance(xs[a[0]:b[0]], ys[a[1]:b[1]], zs[a[2]:b[2]],
                                  self.pa[n], self.pb[n], self.pra[n], self.prb[n])
            sub = best[sl]
            closer = d < sub
            np.copyto(sub, d, where=closer)
            # best keeps distances outside cells too (< GAP: extracellular space)
            closer &= d < 0
            owner[sl][closer] = local_of[int(self.pseg[n])]
        for n in rhit:
            a, b, sl = clip_box(self.rlo[n], self.rhi[n], lo, hi)
            d = capsule_distance(xs[a[0]:b[0]], ys[a[1]:b[1]], zs[a[2]:b[2]],
                                  self.rc[n], self.rc[n], self.rr[n], self.rr[n])
            sub = owner[sl]
            sub[(d < 0) & (sub == local_of[int(self.rfrom[n])])] = local_of[int(self.rto[n])]

        # Glia fill space away from cells where a smooth field says so; the rest is
        # extracellular space.
        field = value_noise(self.seed, 11, 450.0, xs, ys, zs)
        glia = (owner == 0) & (best >= GAP) & (field > 0.2)
        glia_local = np.searchsorted(segs, glia_segs).astype(np.int32)
        owner[glia] = glia_local[local_cells_map[glia]]

        cell = self.seg_cell[segs][owner]
        image = self.em.render(position, lo, hi, xs, ys, zs, cell, best)
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
        # One voxel of each region seen here (segments.hdf5's positions): the last one
        # in z,y,x order, found with one scatter.
        last = np.zeros(len(counts), np.int32)
        last[pair.ravel()] = np.arange(pair.size, dtype=np.int32)
        z, y, x = np.unravel_index(last[present], pair.shape)
        voxels = np.stack([x, y, z], axis=1) + core_lo

        samples = self.check_samples(core_lo, lo, owner, imaged, segs, segmentation)
        return image, segmentation, (where, counts[present], voxels), samples

    def imaged(self, lo, hi):
        (x0, y0, z0), (x1, y1, z1) = self.layout.extent
        (nx0, ny0, _), (nx1, ny1, _) = self.layout.notch
        x, y, z = (np.arange(a, b) for a, b in zip(lo, hi))
        in_xy = (((x >= x0) & (x < x1))[None, :] & ((y >= y0) & (y < y1))[:, None]
                 & ~(((x >= nx0) & (x < nx1))[None, :] & ((y >= ny0) & (y < ny1))[:, None]))
        return ((z >= z0) & (z < z1))[:, None, None] & in_xy[None]

    def check_samples(self, core_lo, lo, owner, imaged, segs, segmentation):
        """Sample voxels of this tile whose 6 neighbours are imaged and in their segment:
        [(sample, region id there)]."""
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
                cx, cy, cz = v[n] - core_lo
                found.append((n, int(segmentation[cz, cy, cx])))
        return found

    def run(self, work, final_folder):
        start = time.monotonic()
        self.prepare()
        for kind in ('image', 'segmentation', 'objects'):
            os.makedirs(os.path.join(work, kind))
        positions = self.layout.present
        progress = Progress('connectome demo %s' % self.size, len(positions), unit='tiles',
                            report=self.report)
        region_voxels = np.zeros(len(self.keys), np.int64)
        region_position = np.zeros((len(self.keys), 3), np.int64)
        # What each tile saw, applied below in tile order: tiles finish in any order, and
        # a region seen by several tiles takes the position the last one gives, and the
        # samples' order decides ties, so the dataset must not depend on which finished
        # first.
        seen = {}
        bytes_written = 0

        def job(position):
            image, seg, regions, found = self.render(position)
            return position, image, self.files.encode_segmentation(seg), regions, found

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
                        position, image, pieces, (where, counts, voxels), found = \
                            future.result()
                        # Written here: HDF5 is called from one thread only.
                        nbytes = self.files.write_tile(work, position, image, pieces)
                        np.add.at(region_voxels, where, counts)
                        seen[position] = (where, voxels, found)
                        bytes_written += nbytes
                        progress.advance(1, nbytes)
            except BaseException:
                for future in running:
                    future.cancel()
                raise

        samples = []
        for position in positions:
            where, voxels, found = seen.pop(position)
            region_position[where] = voxels
            samples.extend(found)
        summary = self.finish(work, final_folder, region_voxels, region_position, samples)
        bytes_written += sum(os.path.getsize(os.path.join(work, n))
                             for n in ('truth.hdf5', 'README.txt'))
        bytes_written += sum(os.path.getsize(os.path.join(top, n))
                             for top, _, names in os.walk(os.path.join(work, 'objects'))
                             for n in names)
        seconds = time.monotonic() - start
        objects = ', '.join('%d %s' % (summary.objects[c], FILE_STEMS[c]) for c in CLASSES)
        message = (
            'Wrote synthetic dataset %s (size %s, seed %d): %d image and %d segmentation tiles'
            ' of %d^3 (%d positions absent), %d regions, %s, %d glia cells; %s in %s'
            % (final_folder, self.size, self.seed, summary.tiles, summary.tiles,
               self.tile, summary.absent_tiles, summary.regions, objects,
               summary.glia_cells, format_bytes(bytes_written), format_duration(seconds)))
        summary = dataclasses.replace(summary, bytes=bytes_written, seconds=seconds,
                                      message=message)
        progress.finish(summary.message)
        return summary

    def finish(self, work, final_folder, region_voxels, region_position, samples):
        """Objects present, their ids, the object files, truth.hdf5 and README.txt; returns
        the DemoSummary less bytes, seconds and message."""
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
                if seg_present[s.presynapse] and seg_present[s.postsynapse]]
        provisional = {name: np.array([s[name] for s in g.segments], np.int64)
                       for name in CLASSES}
        provisional['presynapse'][:] = -1
        provisional['postsynapse'][:] = -1
        for number, s in enumerate(kept):
            provisional['presynapse'][s.presynapse] = number
            provisional['postsynapse'][s.postsynapse] = number
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
        # Somata lie inside the volume, so every neuron is present, in soma order.
        self.files.write_object_files(os.path.join(work, 'objects'), per_region, region_ids,
                                      [soma for soma, _r, _cell in g.somata])
        export = AuthorsExport(self, region_ids, region_seg, region_position[present][order],
                               region_voxels[present][order], object_of_seg, counts, kept,
                               synapse_rows, samples, max_id)
        export.write(os.path.join(work, 'objects', 'authors'),
                     'Synthetic dataset written by ChimeraX-Connectome (connectome demo, size'
                     ' %s, seed %d) in the layout of the authors\' MATLAB export'
                     % (self.size, self.seed))
        self.files.write_truth(os.path.join(work, 'truth.hdf5'), region_ids, glia_ids, cell_array,
                         per_region, sample_rows, synapse_rows, max_id, export)
        self.files.write_readme(os.path.join(work, 'README.txt'))
        glia_cells = len(np.unique(self.seg_cell[region_seg[self.seg_kind[region_seg] == 'glia']]))
        return DemoSummary(folder=final_folder, size=self.size, seed=self.seed,
                           tiles=len(self.layout.present), absent_tiles=len(self.layout.absent),
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
            x, y, z = np.rint(s.contact / self.vs).astype(int)
            rows[n] = (object_of_seg['presynapse'][s.presynapse],
                       object_of_seg['postsynapse'][s.postsynapse],
                       seg_of['axon'].get(s.axon, 0), seg_of['dendrite'].get(s.dendrite, 0),
                       seg_of['spinehead'].get(s.spinehead, 0),
                       seg_of['neuron'].get(s.neuron, 0), s.kind, x, y, z)
        return rows

    def sample_table(self, samples, object_of_seg):
        """Up to 3 sample voxels per object, the deepest first."""
        samples = sorted((n for n, _region in samples), key=lambda n: -self.sample_depth[n])
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
