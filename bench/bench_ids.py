"""``connectome ids`` at the real scale: 15,030,572 regions.

Part 1, one class in the fastest generic layouts: about a million objects whose region
lists total 15 million ids.  Goal: read, build and write all arrays for one class in
under 5 s.  The object file is written once into bench-data/ in the fastest layouts a
lab would produce (HDF5 ragged ids + lengths, HDF5 per-region lookup) and, for
comparison, CSV region_id,object_id rows.

Part 2, the authors' files as they publish them (formats/objectfiles/authors.py):
axons.hdf5 (300,000 axons), dendrites.hdf5 (100,000 dendrites, 400,000 spine heads),
synapses.hdf5 (400,000 synapses, a pre- and a postsynaptic group), skeleton groups for
every axon and dendrite (nodes, edges, segIds), segments.hdf5: about 1.6 million object
datasets and 1.2 million skeleton datasets, written once (a few minutes) into
bench-data/authors-*/.  Goal: the whole ``connectome ids SEGMENTATION FOLDER`` step (all
eleven attributes read, built and written) in under 30 s, peak memory under 2 GB,
measured in a fresh process; beside it, the same groups read one dataset at a time
through h5py, the way a generic reader must.

The segmentation is a small Chimera map whose ``maximum_segment_id`` says 15,030,572:
building and writing an attribute array depends on the number of regions, not on the
voxels.  Each phase is timed separately.

    python -m bench ids [--quick]
"""

import os
import shutil
import tempfile
import time

import h5py
import numpy as np

from . import DATA
from .bench_combine import run_child

REGIONS = 15_030_572
OBJECTS = 1_000_000
MEMBERSHIPS = 15_000_000
TARGET_S = 5.0
# The authors' files at the real scale
AXONS, DENDRITES, SPINE_HEADS, SYNAPSES = 300_000, 100_000, 400_000, 400_000
AXON_REGIONS, DENDRITE_REGIONS = 9_000_000, 5_000_000
FOLDER_TARGET_S = 30.0
FOLDER_TARGET_BYTES = 2 << 30


def object_files(folder, regions, objects, memberships):
    """(paths by layout, truth array): memberships drawn from 1..regions, each region in
    at most one object, object sizes skewed like axons (a few huge, most small)."""
    os.makedirs(folder, exist_ok=True)
    paths = {'hdf5 ragged': os.path.join(folder, 'ragged.hdf5'),
             'hdf5 lookup': os.path.join(folder, 'lookup.hdf5'),
             'csv pairs': os.path.join(folder, 'pairs.csv')}
    truth_path = os.path.join(folder, 'truth.npy')
    tag = os.path.join(folder, 'version-%d-%d-%d' % (regions, objects, memberships))
    if all(os.path.exists(p) for p in paths.values()) and os.path.exists(tag):
        return paths, np.load(truth_path)
    rng = np.random.default_rng(0)
    members = rng.permutation(np.arange(1, regions + 1))[:memberships]
    sizes = rng.pareto(1.2, objects) + 1
    lengths = np.floor(sizes / sizes.sum() * memberships).astype(np.int64)
    np.add.at(lengths, rng.integers(0, objects, memberships - lengths.sum()), 1)
    owner = np.repeat(np.arange(1, objects + 1), lengths)
    truth = np.zeros(regions + 1, np.int32)
    truth[members] = owner
    with h5py.File(paths['hdf5 ragged'], 'w') as f:
        f['region_ids'] = members.astype(np.uint32)
        f['lengths'] = lengths
    with h5py.File(paths['hdf5 lookup'], 'w') as f:
        f['object_id'] = truth
    with open(paths['csv pairs'], 'w') as f:
        f.write('region_id,object_id\n')
        block = 1_000_000
        for i in range(0, members.size, block):
            rows = np.stack([members[i:i + block], owner[i:i + block]], axis=1)
            f.write('\n'.join('%d,%d' % (a, b) for a, b in rows.tolist()))
            f.write('\n')
    np.save(truth_path, truth)
    open(tag, 'w').close()
    return paths, truth


def segmentation(path, maximum):
    from chimerax.connectome.formats.cmap import ChimeraMapWriter
    w = ChimeraMapWriter(path, (16, 16, 16), np.uint32)
    try:
        lv = w.levels[0]
        block = np.full(lv.chunk_shape, maximum, np.uint32)
        w.write_chunk(0, (0, 0, 0), lv.codec.encode(block))
        w.set_maximum_segment_id(maximum)
    finally:
        w.close()


def main(flags):
    quick = '--quick' in flags
    generic(quick)
    authors_folder(quick)


def generic(quick):
    from chimerax.connectome.pipeline import attributes
    from chimerax.connectome.pipeline.attributefile import AttributeFile
    from chimerax.connectome.formats.objectfiles import read_object_file
    scale = 20 if quick else 1
    regions, objects, memberships = REGIONS // scale, OBJECTS // scale, MEMBERSHIPS // scale
    folder = os.path.join(DATA, 'ids-%d' % regions)
    t = time.monotonic()
    paths, truth = object_files(folder, regions, objects, memberships)
    print('object files: %d regions, %d objects, %d region ids (%s; ready in %.1f s)'
          % (regions, objects, memberships, folder, time.monotonic() - t))
    work = tempfile.mkdtemp(prefix='bench-ids-', dir=DATA)
    try:
        seg = os.path.join(work, 'seg.cmap')
        segmentation(seg, regions)
        for layout, path in paths.items():
            t0 = time.monotonic()
            table = read_object_file(path)
            t1 = time.monotonic()
            values, stats = attributes.build_attribute('axon', table.regions, table.objects,
                                                       table.count, regions)
            t2 = time.monotonic()
            AttributeFile(seg).write({'axon': values})
            t3 = time.monotonic()
            assert np.array_equal(values, truth), layout
            with h5py.File(seg, 'r') as f:
                assert np.array_equal(f['attributes/axon'][()], truth)
            total = t3 - t0
            print('%-12s read %5.2f s  build %5.2f s  write %5.2f s  total %5.2f s'
                  '  (%s; target %.0f s: %.2fx of it)'
                  % (layout, t1 - t0, t2 - t1, t3 - t2, total,
                     'met' if total <= TARGET_S else 'MISSED', TARGET_S, total / TARGET_S))
        print('file grew to %.1f MB after %d writes of a %.1f MB array (old arrays are not'
              ' reclaimed)' % (os.path.getsize(seg) / 1e6, len(paths), values.nbytes / 1e6))
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------------------
# The authors' files

def authors_files(folder, scale):
    """The authors' four files at 1/scale of the real counts, made once (cached with a
    version tag); returns the counts and the ground truth of three attributes."""
    from chimerax.connectome.demo import authorsfile as layout
    regions = REGIONS // scale
    counts = dict(regions=regions, axons=AXONS // scale, dendrites=DENDRITES // scale,
                  spine_heads=SPINE_HEADS // scale, synapses=SYNAPSES // scale)
    tag = os.path.join(folder, 'version-2-%d' % scale)
    truth_path = os.path.join(folder, 'truth.npz')
    if os.path.exists(tag):
        return counts, dict(np.load(truth_path))
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    rng = np.random.default_rng(1)
    ids = rng.permutation(np.arange(1, regions + 1, dtype=np.int64))
    n_ax, n_de = AXON_REGIONS // scale, DENDRITE_REGIONS // scale

    def split(members, n):
        sizes = rng.pareto(1.3, n) + 1
        lengths = np.maximum(1, np.floor(sizes / sizes.sum() * members.size)).astype(np.int64)
        over = int(lengths.sum()) - members.size
        while over > 0:             # trim the largest objects until the ids suffice
            k = int(np.argmax(lengths))
            cut = min(over, int(lengths[k]) - 1)
            lengths[k] -= cut
            over -= cut
        return np.split(members[:int(lengths.sum())], np.cumsum(lengths)[:-1])

    axons = split(ids[:n_ax], counts['axons'])
    dendrites = split(ids[n_ax:n_ax + n_de], counts['dendrites'])
    heads = split(ids[n_ax + n_de:n_ax + n_de + 3 * counts['spine_heads']],
                  counts['spine_heads'])

    def skeletons(objects):
        for members in objects:
            k = min(members.size, 20)
            nodes = rng.integers(1, 5000, (k, 3))
            edges = np.stack([np.arange(1, k), np.arange(2, k + 1)], axis=1)
            yield layout.Skeleton(nodes, edges, members[:k])
    info = 'bench_ids.py: synthetic files in the authors\' layout'
    t = time.monotonic()
    with h5py.File(os.path.join(folder, 'axons.hdf5'), 'w') as f:
        layout.write_categorical(f, '/axons/class', rng.integers(1, 5, len(axons)),
                                 ('Corticocortical', 'Thalamocortical', 'Inhibitory', 'Other'))
        layout.write_vectors(f, '/axons/agglomerate', axons)
        layout.write_skeletons(f, '/axons/skeleton', skeletons(axons))
        layout.write_info(f, info)
    print('  axons.hdf5 written in %.0f s' % (time.monotonic() - t), flush=True)
    with h5py.File(os.path.join(folder, 'dendrites.hdf5'), 'w') as f:
        neuron = np.where(rng.random(len(dendrites)) < 0.3,
                          rng.integers(1, 200, len(dendrites)), 0)
        f.create_dataset('/dendrites/neuronId', data=neuron.astype(np.uint32))
        layout.write_categorical(f, '/dendrites/class', rng.integers(1, 7, len(dendrites)),
                                 ('Soma', 'ProximalDendrite', 'SmoothDendrite',
                                  'ApicalDendrite', 'AxonInitialSegment', 'OtherDendrite'))
        layout.write_vectors(f, '/dendrites/agglomerate', dendrites)
        layout.write_skeletons(f, '/dendrites/skeleton', skeletons(dendrites))
        layout.write_vectors(f, '/spineHeads/agglomerate', heads)
        f.create_dataset('/spineHeads/volume',
                         data=rng.gamma(2, 0.03, len(heads)).astype(np.float32))
        layout.write_info(f, info)
    print('  dendrites.hdf5 written in %.0f s' % (time.monotonic() - t), flush=True)
    n_syn = counts['synapses']
    with h5py.File(os.path.join(folder, 'synapses.hdf5'), 'w') as f:
        layout.write_categorical(f, '/synapses/type', rng.integers(1, 4, n_syn),
                                 ('PrimarySpine', 'SecondarySpine', 'Shaft'))
        # Boutons: 1-3 axon regions, drawn with repeats (a bouton on several synapses).
        pre = [ids[rng.integers(0, n_ax, rng.integers(1, 4))] for _ in range(n_syn)]
        post = [h[:rng.integers(1, h.size + 1)] for h in
                (heads[k] for k in rng.integers(0, len(heads), n_syn))]
        layout.write_vectors(f, '/synapses/preSegIds', pre)
        layout.write_vectors(f, '/synapses/postSegIds', post)
        for name in ('prePosition', 'synPosition', 'postPosition'):
            layout.write_matrix(f, '/synapses/' + name, rng.integers(1, 5000, (n_syn, 3)))
        for name in ('preAxonId', 'preSplitAxonId', 'postDendriteId', 'postSpineHeadId'):
            f.create_dataset('/synapses/' + name,
                             data=rng.integers(0, 1000, n_syn).astype(np.uint32))
        asi = rng.gamma(2, 0.1, n_syn)
        asi[rng.random(n_syn) < 0.3] = np.nan
        f.create_dataset('/synapses/asiArea', data=asi)
        layout.write_info(f, info)
    with h5py.File(os.path.join(folder, 'segments.hdf5'), 'w') as f:
        layout.write_matrix(f, '/segments/position',
                            rng.integers(1, 5000, (regions, 3)).astype(np.uint32))
        f.create_dataset('/segments/voxelCount',
                         data=rng.integers(1, 5000, regions).astype(np.uint32))
        layout.write_info(f, info)
    print('  all files written in %.0f s' % (time.monotonic() - t), flush=True)
    truth = {}
    for name, objects in (('axon', axons), ('dendrite', dendrites), ('spinehead', heads)):
        a = np.zeros(regions + 1, np.int32)
        for k, members in enumerate(objects, start=1):
            a[members] = k
        truth[name] = a
    lowest = np.full(regions + 1, np.iinfo(np.int32).max, np.int64)
    for k, members in enumerate(pre, start=1):
        lowest[members] = np.minimum(lowest[members], k)
    truth['presynapse'] = np.where(lowest == np.iinfo(np.int32).max, 0, lowest).astype(np.int32)
    np.savez(truth_path, **truth)
    open(tag, 'w').close()
    return counts, truth


FOLDER_CHILD = '''
import h5py
import numpy as np
from chimerax.connectome.pipeline import objectmap
from chimerax.connectome.pipeline.attributefile import AttributeFile
from chimerax.connectome.progress import Progress

lines = []
progress = Progress('connectome ids: reading', 0, 'datasets',
                    lambda message, final: lines.append(message), interval=2.0)

def report(done, total):
    progress.total = total
    progress.advance(done - progress.done)

t0 = time.perf_counter()
seg = AttributeFile(args['seg']).survey()
requests, files, missing = objectmap.folder_requests(args['folder'])
result = objectmap.build(requests, seg.stored_maximum, report=report)
t1 = time.perf_counter()
AttributeFile(args['seg']).write(result.arrays, None, result.metadata)
t2 = time.perf_counter()
check = {}
with h5py.File(args['seg'], 'r') as f:
    truth = np.load(args['truth'])
    for name in truth.files:
        check[name] = bool(np.array_equal(f['attributes'][name][()], truth[name]))
print(json.dumps({'read_build': t1 - t0, 'write': t2 - t1, 'total': t2 - t0,
                  'maxrss': peak_rss(), 'attributes': sorted(result.arrays),
                  'check': check, 'messages': result.messages, 'progress': lines[:3]}))
'''

H5PY_CHILD = '''
import h5py
t = time.perf_counter()
n = 0
with h5py.File(args['path'], 'r') as f:
    g = f[args['group']]
    names = list(g.keys())
    for name in names:
        n += g[name][()].size
print(json.dumps({'wall': time.perf_counter() - t, 'datasets': len(names), 'values': n,
                  'maxrss': peak_rss()}))
'''


def authors_folder(quick):
    from chimerax.connectome.progress import format_bytes
    scale = 20 if quick else 1
    folder = os.path.join(DATA, 'authors-%d' % (REGIONS // scale))
    t = time.monotonic()
    counts, truth = authors_files(folder, scale)
    size = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder)
               if n.endswith('.hdf5'))
    datasets = counts['axons'] + counts['dendrites'] + counts['spine_heads'] + \
        2 * counts['synapses']
    print('authors\' files: %d regions, %d axons, %d dendrites, %d spine heads, %d synapses:'
          ' %d object datasets + %d skeleton datasets, %s (%s; ready in %.1f s)'
          % (counts['regions'], counts['axons'], counts['dendrites'], counts['spine_heads'],
             counts['synapses'], datasets, 3 * (counts['axons'] + counts['dendrites']),
             format_bytes(size), folder, time.monotonic() - t), flush=True)
    work = tempfile.mkdtemp(prefix='bench-ids-', dir=DATA)
    try:
        np.savez(os.path.join(work, 'truth.npz'), **truth)
        runs = []
        # Cold: the files' pages dropped from the page cache first (as after a reboot or
        # on a first run), then warm: the same again with the files cached.
        for cache in ('cold', 'warm'):
            if cache == 'cold':
                _evict(folder)
            seg = os.path.join(work, 'seg-%s.cmap' % cache)
            segmentation(seg, counts['regions'])
            r = run_child(FOLDER_CHILD, seg=seg, folder=folder,
                          truth=os.path.join(work, 'truth.npz'))
            assert all(r['check'].values()), r['check']
            runs.append(r)
            met = r['total'] <= FOLDER_TARGET_S and r['peak_rss'] <= FOLDER_TARGET_BYTES
            print('connectome ids SEG FOLDER, %s cache: read and build %.2f s, write %.2f s'
                  ' (%d attributes), total %.2f s, peak memory %s (%s; targets %.0f s and %s:'
                  ' %.2fx and %.2fx of them); %s equal to the truth'
                  % (cache, r['read_build'], r['write'], len(r['attributes']), r['total'],
                     format_bytes(r['peak_rss']), 'met' if met else 'MISSED',
                     FOLDER_TARGET_S, format_bytes(FOLDER_TARGET_BYTES),
                     r['total'] / FOLDER_TARGET_S, r['peak_rss'] / FOLDER_TARGET_BYTES,
                     ', '.join(sorted(r['check']))), flush=True)
        for line in r['progress']:
            print('  progress: %s' % line)
        for line in r['messages']:
            print('  ' + line)
        # The same groups one dataset at a time through h5py, as a generic reader must.
        per = []
        for path, group in (('dendrites.hdf5', '/spineHeads/agglomerate'),
                            ('synapses.hdf5', '/synapses/preSegIds')):
            h = run_child(H5PY_CHILD, path=os.path.join(folder, path), group=group)
            per.append(h['wall'] / h['datasets'])
            print('  h5py one dataset at a time, %s %s: %d datasets in %.2f s (%.1f us each)'
                  % (path, group, h['datasets'], h['wall'], 1e6 * h['wall'] / h['datasets']))
        print('  h5py at that rate for the %d object datasets: %.0f s for reading alone'
              ' (%.1fx the whole FOLDER step)' % (datasets, datasets * np.mean(per),
                                                  datasets * np.mean(per) / r['total']))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _evict(folder):
    """Drop these files' pages from the page cache (theirs only: other work on the
    machine keeps its cache)."""
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
