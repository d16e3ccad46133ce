"""The files of a synthetic dataset, in the layouts described here, and reading its truth.

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
    objects/authors/*.hdf5          the objects in the authors' own layout (demo/authors.py)
    objects/other-layouts/          one example of each other layout connectome ids reads
    truth.hdf5                      the ground truth (below)
    README.txt                      this layout, short

Tile x2y4z3 starts at voxel (2T, 4T, 3T).  As in the original, the imaged extent starts
inside the first tile and ends inside the last (``dataset_layout``), and an unimaged notch
(a corner column through all z) leaves some tile positions of the bounding grid without
any imaged voxel: those files are absent.  Outside the imaged region tiles hold 0.

Object files (class: stem): axon: axons, dendrite: dendrites, spinehead: spineheads,
neuron: neurons, presynapse: presynapses, postsynapse: postsynapses.  Object ids are
1..N in list order; region ids inside an object are ascending.  Each class in one layout
per format:

    HDF5   {stem}.hdf5       /region_ids uint32 (all objects' ids, object 1 first),
                             /lengths int64 (N: regions per object)
    MAT    {stem}.mat        v7.3 (formats/matfile.py), one variable named like the stem:
                             a 1 x N cell of column vectors of doubles
    CSV    {stem}.csv        header ``region_id,object_id``, then one row per region

and under other-layouts/ one example of each other layout of the help page
(connectome.html#formats), each holding one class, named {class}-{layout}.{suffix}:
presynapses-offsets.hdf5 (/region_ids, /offsets: N + 1), postsynapses-ids.hdf5
(/region_ids, /lengths, /ids), dendrites-group.hdf5 (/dendrites/1, 2, ... '10': not in
id order when sorted), neurons-group.hdf5 (/neurons/neuron_001, ...), spineheads-lookup
.hdf5 (/object_id int32, index = region id), axons-pairs.hdf5 (/pairs n x 2),
axons-columns.hdf5 (/region_ids, /axon_ids), axons-table.hdf5 (compound /axons),
axons-vlen.hdf5 (variable-length /axons), neuron1-vector.hdf5 (/segIds of neuron 1),
dendrites-struct.mat (dendrites(k).segIds, .id), neurons-struct.mat (neurons(k).segIds,
.somaPosition: the soma centre in 1-based voxel x, y, z), spineheads-lookup.mat
(segToSpineHead: element k is region k), axons-pairs.mat (n x 2), axons-lines.csv (line
k: object k's region ids), axons-ids.txt ('k: regions' lines), spineheads-lookup.npy,
axons-ragged.npz (region_ids, lengths).

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
spinehead/neuron ids, kind 1 spine or 2 shaft, contact voxel x, y, z).  Group authors:
objects/{attribute} (what ``connectome ids`` must make from objects/authors/: axon,
dendrite, spinehead, neuron, presynapse, postsynapse, axonclass, dendriteclass,
synapsetype, spineheadvolume, asiarea) and the per-object tables behind them
(read_authors_truth).
"""

import csv
import itertools
import os
import zlib

import h5py
import numpy as np

from ..errors import InputError
from ..formats import matfile
from .parameters import CLASSES, FILE_STEMS, SEGMENTATION_CHUNK, SEGMENTATION_GZIP_LEVEL, VOXEL_SIZE

OTHER_LAYOUTS = 'other-layouts'    # under objects/: one example of each other layout


class DatasetFiles:
    """Writes the files of one dataset: tiles, object files, truth."""

    def __init__(self, size, seed, layout):
        self.size = size
        self.seed = seed
        self.layout = layout
        self.tile = layout.tile_size
        self.vs = np.array(VOXEL_SIZE)

    def encode_segmentation(self, segmentation):
        """The deflated chunks of a segmentation tile, [(offset, bytes)]: exactly what
        HDF5's deflate filter would store.  No HDF5 call, so worker threads compress in
        parallel (zlib releases the GIL)."""
        chunk = min(SEGMENTATION_CHUNK, self.tile)
        pieces = []
        for z, y, x in itertools.product(range(0, self.tile, chunk), repeat=3):
            block = np.ascontiguousarray(segmentation[z:z + chunk, y:y + chunk, x:x + chunk])
            pieces.append(((z, y, x), zlib.compress(block, SEGMENTATION_GZIP_LEVEL)))
        return pieces

    def write_tile(self, folder, position, image, pieces):
        """Write the EM tile and the encoded segmentation tile at a position; returns the
        bytes written.  HDF5 calls: one thread only (HDF5 is not thread-safe)."""
        name = tile_name(position)
        chunk = min(SEGMENTATION_CHUNK, self.tile)
        with h5py.File(os.path.join(folder, 'image', name), 'w') as f:
            f.create_dataset('data', data=image)
        with h5py.File(os.path.join(folder, 'segmentation', name), 'w') as f:
            d = f.create_dataset('data', shape=(self.tile,) * 3, dtype=np.uint32,
                                 chunks=(chunk,) * 3, compression='gzip',
                                 compression_opts=SEGMENTATION_GZIP_LEVEL)
            for offset, data in pieces:
                d.id.write_direct_chunk(offset, data)
        return sum(os.path.getsize(os.path.join(folder, kind, name))
                   for kind in ('image', 'segmentation'))

    def write_object_files(self, folder, per_region, region_ids, somata):
        """Every class in the three formats labs most often hand over, one layout per
        format, and one example of each other documented layout under OTHER_LAYOUTS;
        ``somata``: soma centres (nm) in neuron order."""
        lists = {name: object_lists(per_region[name], region_ids) for name in CLASSES}
        for name in CLASSES:
            objects = lists[name]
            path = os.path.join(folder, FILE_STEMS[name])
            with h5py.File(path + '.hdf5', 'w') as f:
                write_ragged(f, objects)
            matfile.write_mat(path + '.mat', {FILE_STEMS[name]: matfile.Cell(
                [r.astype(np.float64) for r in objects])})
            with open(path + '.csv', 'w', newline='') as f:
                w = csv.writer(f)
                w.writerow(['region_id', 'object_id'])
                w.writerows(pair_rows(objects).tolist())
        self.write_other_layouts(os.path.join(folder, OTHER_LAYOUTS), lists, per_region,
                                 somata)

    def write_other_layouts(self, folder, lists, per_region, somata):
        """One file per layout of the help page (connectome.html#formats) not written
        above, each holding one class, named {class}-{layout}.{suffix}."""
        os.makedirs(folder)
        axons, dendrites, neurons = lists['axon'], lists['dendrite'], lists['neuron']
        pre, post = lists['presynapse'], lists['postsynapse']
        heads = per_region['spinehead']

        def hdf5(name, write):
            with h5py.File(os.path.join(folder, name), 'w') as f:
                write(f)
        hdf5('presynapses-offsets.hdf5', lambda f: write_ragged(f, pre, offsets=True))
        hdf5('postsynapses-ids.hdf5', lambda f: write_ragged(f, post, ids=True))
        hdf5('dendrites-group.hdf5', lambda f: write_group(f, 'dendrites', dendrites, '%d'))
        hdf5('neurons-group.hdf5', lambda f: write_group(f, 'neurons', neurons,
                                                         'neuron_%03d'))
        hdf5('spineheads-lookup.hdf5',
             lambda f: f.create_dataset('object_id', data=heads.astype(np.int32)))
        rows = pair_rows(axons)
        hdf5('axons-pairs.hdf5', lambda f: f.create_dataset('pairs', data=rows))
        hdf5('axons-columns.hdf5', lambda f: f.update(region_ids=rows[:, 0],
                                                      axon_ids=rows[:, 1]))
        table = np.zeros(len(rows), dtype=[('region_id', np.uint32), ('axon_id', np.uint32)])
        table['region_id'], table['axon_id'] = rows[:, 0], rows[:, 1]
        hdf5('axons-table.hdf5', lambda f: f.create_dataset('axons', data=table))

        def vlen(f):
            d = f.create_dataset('axons', (len(axons),), dtype=h5py.vlen_dtype(np.uint32))
            for k, regions in enumerate(axons):
                d[k] = regions.astype(np.uint32)
        hdf5('axons-vlen.hdf5', vlen)
        hdf5('neuron1-vector.hdf5', lambda f: f.create_dataset(
            'segIds', data=(neurons[0] if neurons else np.zeros(0)).astype(np.uint32)))
        matfile.write_mat(os.path.join(folder, 'dendrites-struct.mat'), {
            'dendrites': matfile.StructArray([{'segIds': r.astype(np.float64), 'id': float(k)}
                                              for k, r in enumerate(dendrites, start=1)])})
        # Somata lie inside the volume, so every neuron is present, in soma order.
        matfile.write_mat(os.path.join(folder, 'neurons-struct.mat'), {
            'neurons': matfile.StructArray([
                {'segIds': r.astype(np.float64),
                 'somaPosition': np.rint(soma / self.vs).reshape(1, 3) + 1}
                for r, soma in zip(neurons, somata)])})
        # MATLAB indexes from 1: element k is region k.
        matfile.write_mat(os.path.join(folder, 'spineheads-lookup.mat'),
                          {'segToSpineHead': heads[1:].astype(np.float64)})
        matfile.write_mat(os.path.join(folder, 'axons-pairs.mat'),
                          {'axons': rows.astype(np.float64)})
        with open(os.path.join(folder, 'axons-lines.csv'), 'w', newline='') as f:
            csv.writer(f).writerows([int(r) for r in regions] for regions in axons)
        with open(os.path.join(folder, 'axons-ids.txt'), 'w') as f:
            f.writelines('%d: %s\n' % (k, ' '.join(map(str, regions)))
                         for k, regions in enumerate(axons, start=1))
        np.save(os.path.join(folder, 'spineheads-lookup.npy'), heads.astype(np.int32))
        np.savez(os.path.join(folder, 'axons-ragged.npz'),
                 region_ids=np.concatenate(axons or [np.zeros(0)]).astype(np.uint32),
                 lengths=np.array([len(r) for r in axons], np.int64))

    def write_truth(self, path, region_ids, glia_ids, cell_array, per_region, samples,
                    synapses, max_id, export=None):
        layout = self.layout
        with h5py.File(path, 'w') as f:
            a = f.attrs
            a['voxel_size'] = np.array(VOXEL_SIZE)
            a['tile_size'] = self.tile
            a['grid_shape'] = np.array(layout.grid_shape)
            a['extent'] = np.array(layout.extent)
            a['notch'] = np.array(layout.notch)
            a['absent_tiles'] = np.array(layout.absent, np.int32).reshape(-1, 3)
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
            if export is not None:
                write_authors_truth(f.create_group('authors'), export)

    def write_readme(self, path):
        layout = self.layout
        (x0, y0, z0), (x1, y1, z1) = layout.extent
        text = README % dict(
            size=self.size, seed=self.seed, t=self.tile, grid='%d x %d x %d' % layout.grid_shape,
            present=len(layout.present), absent=', '.join(
                tile_name(p)[:-5] for p in layout.absent) or 'none',
            extent='x %d-%d, y %d-%d, z %d-%d' % (x0, x1 - 1, y0, y1 - 1, z0, z1 - 1),
            vs='%g x %g x %g' % VOXEL_SIZE)
        with open(path, 'w') as f:
            f.write(text)


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


def write_authors_truth(group, export):
    """truth.hdf5 /authors: what ``connectome ids`` must make from objects/authors/
    (objects/{attribute}), the per-object tables behind it, the category names, and the
    wiring: each synapse's axon, dendrite, spine head and neuron, the synapse counts of
    each pair of partners (partners_axon_dendrite, _neuron, _spinehead: rows axon,
    partner, count) and the skeletons (<class>_skeleton_nodes, _edges and their counts per
    object), all from the generator's own tables, never read back from the files."""
    objects = group.create_group('objects')
    for name, values in export.truth().items():
        objects.create_dataset(name, data=values, compression='gzip')
    group['axon_class'] = export.axon_class.astype(np.int32)
    group['dendrite_class'] = export.dendrite_class.astype(np.int32)
    group['dendrite_neuron'] = export.neuron_id.astype(np.int32)
    group['spinehead_volume'] = export.head_volume
    syn = export.synapses
    group['synapse_type'] = np.array([s.type for s in syn], np.int32)
    group['synapse_asi'] = np.array([s.asi for s in syn], np.float64)
    group['synapse_axon'] = np.array([s.axon for s in syn], np.int32)
    group['synapse_contact'] = np.array([s.contact for s in syn], np.int32).reshape(-1, 3)
    # The wiring: each synapse's partners, and synapse counts per pair of partners.
    group['synapse_dendrite'] = np.array([s.dendrite for s in syn], np.int32)
    group['synapse_spinehead'] = np.array([s.head for s in syn], np.int32)
    group['synapse_neuron'] = np.array([export.neuron_of_seg[s.post] for s in syn], np.int32)
    for name, rows in export.partner_counts().items():
        group['partners_' + name] = rows
    # Skeletons: the nodes (1-based voxel x, y, z) and edges (1-based node indices) of
    # every object, concatenated, with the number of each per object.
    for name, skeletons in export.object_skeletons().items():
        group['%s_skeleton_nodes' % name] = np.concatenate(
            [np.asarray(s.nodes, np.int32).reshape(-1, 3) for s in skeletons])
        group['%s_skeleton_node_counts' % name] = np.array([len(s.nodes) for s in skeletons],
                                                          np.int32)
        group['%s_skeleton_edges' % name] = np.concatenate(
            [np.asarray(s.edges, np.int32).reshape(-1, 2) for s in skeletons])
        group['%s_skeleton_edge_counts' % name] = np.array(
            [len(np.asarray(s.edges).reshape(-1, 2)) for s in skeletons], np.int32)
    from .authors import AXON_CLASSES, DENDRITE_CLASSES, SYNAPSE_TYPES
    for key, names in (('axon_classes', AXON_CLASSES), ('dendrite_classes', DENDRITE_CLASSES),
                       ('synapse_types', SYNAPSE_TYPES)):
        group.attrs[key] = np.array(names, dtype=h5py.string_dtype())


def read_authors_truth(folder):
    """truth.hdf5 /authors as a dict: 'objects' ({attribute: per-region array}), the
    per-object tables and the category names (tuples, code = index + 1)."""
    path = os.path.join(os.fspath(folder), 'truth.hdf5')
    with h5py.File(path, 'r') as f:
        g = f.get('authors')
        if g is None:
            raise InputError('%s has no authors\' layout truth (made by an older version)'
                             % path, path)
        out = {'objects': {name: g['objects'][name][()] for name in g['objects']}}
        for name, node in g.items():
            if isinstance(node, h5py.Dataset):
                out[name] = node[()]
        for key, value in g.attrs.items():
            out[key] = tuple(v.decode() if isinstance(v, bytes) else str(v) for v in value)
    return out


def object_lists(per_region, region_ids):
    """The region ids of objects 1..N (ascending within each) of a per-region array."""
    ids = per_region[region_ids]
    order = np.lexsort((region_ids, ids))
    order = order[ids[order] > 0]
    members, owners = region_ids[order], ids[order]
    n = int(owners.max()) if len(owners) else 0
    lengths = np.bincount(owners, minlength=n + 1)[1:]
    return np.split(members, np.cumsum(lengths)[:-1]) if n else []


def write_ragged(f, objects, offsets=False, ids=False):
    """/region_ids (all objects' ids, object 1 first) with /lengths, or /offsets (N + 1:
    object k is region_ids[offsets[k-1]:offsets[k]]), and with ``ids`` /ids 1..N."""
    lengths = np.array([len(r) for r in objects], np.int64)
    f.create_dataset('region_ids', data=np.concatenate(objects or [np.zeros(0)])
                     .astype(np.uint32))
    if offsets:
        f.create_dataset('offsets', data=np.r_[0, np.cumsum(lengths)].astype(np.int64))
    else:
        f.create_dataset('lengths', data=lengths)
    if ids:
        f.create_dataset('ids', data=np.arange(1, len(objects) + 1, dtype=np.int64))


def write_group(f, name, objects, member):
    """Group /name of one uint32 dataset per object, named ``member % k``."""
    g = f.create_group(name)
    for k, regions in enumerate(objects, start=1):
        g.create_dataset(member % k, data=regions.astype(np.uint32))


def pair_rows(objects):
    """(n, 2) uint32 rows of region id and object id."""
    rows = [(int(r), k) for k, regions in enumerate(objects, start=1) for r in regions]
    return np.array(rows, np.uint32).reshape(-1, 2)


def tile_name(position):
    """File name of the tile at grid position (x, y, z)."""
    return 'x%dy%dz%d.hdf5' % tuple(position)


README = """Synthetic connectome dataset written by ChimeraX-Connectome (connectome demo)
size %(size)s, seed %(seed)d; voxels %(vs)s nm (x, y, z)

image/x{X}y{Y}z{Z}.hdf5         EM tiles: dataset /data, uint8, %(t)d^3 voxels stored z,y,x
segmentation/x{X}y{Y}z{Z}.hdf5  region ids: /data, uint32, %(t)d^3 (z,y,x), 0 = unsegmented,
                                gzip level 4 in 64^3 chunks
    Tile xXyYzZ starts at voxel (X, Y, Z) * %(t)d.  Grid %(grid)s tile positions (x, y, z),
    %(present)d present; absent (nothing imaged there): %(absent)s.
    Imaged extent (0-based voxels, inclusive): %(extent)s, less an unimaged notch;
    voxels outside it are 0 in both kinds of tile.
objects/authors/{axons,dendrites,synapses,segments}.hdf5
    the objects in the authors' own layout (their MATLAB export; see
    chimerax.connectome.formats.objectfiles.authors): connectome ids SEG objects/authors
objects/{axons,dendrites,spineheads,neurons,presynapses,postsynapses}.{hdf5,mat,csv}
    which regions make up each object; object ids are 1..N in list order.
    .hdf5: /region_ids with /lengths (regions per object)
    .mat: MATLAB v7.3 cell arrays, cell k = object k's region ids
    .csv: region_id,object_id rows
objects/other-layouts/
    one example of each other layout connectome ids reads, named {class}-{layout}
    (see chimerax.connectome.demo.files)
truth.hdf5  ground truth: object id per region per class, sample voxels, synapses
"""
