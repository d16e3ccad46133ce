"""``connectome table`` at the real scale, on the authors' files the ids benchmark makes
(bench_ids.py ``authors_files``: 15,030,572 regions, 300,000 axons with skeletons,
100,000 dendrites, 400,000 synapses).

Each table is measured in a fresh process (peak memory sampled) once the wiring is
loaded (pipeline/wiring.py ``derive``, timed too), and beside it the same answer
computed by a plain pandas/numpy script over the authors' files, the way a user would
without the bundle (h5py reading the vectors into a DataFrame; groupby and crosstab;
per object, the agglomerate and the skeleton read one dataset at a time); the two
answers are checked equal and the figures reported as ratios.  Goals: every synapses,
partners or matrix table of the whole dataset in under 1 s; ``objects axon all`` with
path lengths in under 30 s; peak memory under 2 GB.

    python -m bench tables [--quick]
"""

import os
import tempfile
import shutil


from . import DATA
from .bench_combine import run_child
from .bench_ids import REGIONS, authors_files

VOXEL = (11.24, 11.24, 28.0)
TABLE_TARGET_S, OBJECTS_TARGET_S, TARGET_BYTES = 1.0, 30.0, 2 << 30
STEPS = (('load', 'the wiring loaded from the files'),
         ('synapses', 'synapses (every synapse, 12 columns)'),
         ('synapses_csv', 'synapses saved as CSV'),
         ('partners', 'partners of the dendrite with most synapses'),
         ('partners_axon', 'partners of the axon with most synapses'),
         ('matrix_classes', 'matrix axonclass x dendriteclass'),
         ('matrix_axons', 'matrix axon x dendrite of axons 1-1000'),
         ('sorted', 'synapses sortBy asiarea top 10'),
         ('objects', 'objects axon all (voxels, path lengths, box)'))

OURS_CHILD = '''
import os
from chimerax.connectome.formats.objectfiles.authors import AuthorsFile
from chimerax.connectome.pipeline import morphometry, tables, wiring

VOXEL = np.array(args['voxel'])
out = {}
t = time.perf_counter()
w = wiring.derive(args['folder'])
out['load'] = time.perf_counter() - t
everything = np.ones(w.count, bool)
t = time.perf_counter()
xyz = (w.position.astype(np.float64) - 1) * VOXEL
synapses = tables.synapse_table(w, everything, xyz, '')
out['synapses'] = time.perf_counter() - t
t = time.perf_counter()
synapses.write(args['csv'])
out['synapses_csv'] = time.perf_counter() - t
d = int(np.bincount(w.dendrite)[1:].argmax()) + 1
a = int(np.bincount(w.axon)[1:].argmax()) + 1
t = time.perf_counter()
p = tables.partner_table(w, 'dendrite', d, 'in')
out['partners'] = time.perf_counter() - t
t = time.perf_counter()
pa = tables.partner_table(w, 'axon', a, 'out')
out['partners_axon'] = time.perf_counter() - t
t = time.perf_counter()
m = tables.matrix_table(w, 'axonclass', 'dendriteclass', everything)
out['matrix_classes'] = time.perf_counter() - t
t = time.perf_counter()
m2 = tables.matrix_table(w, 'axon', 'dendrite', (w.axon >= 1) & (w.axon <= 1000))
out['matrix_axons'] = time.perf_counter() - t
t = time.perf_counter()
top = synapses.sorted_by('asiarea').top(10)
out['sorted'] = time.perf_counter() - t
t = time.perf_counter()
cpu = time.process_time()
truth = np.load(args['truth'])
files = {k: AuthorsFile(os.path.join(args['folder'], k + '.hdf5'))
         for k in ('segments', 'axons', 'dendrites')}
sources = morphometry.authors_sources(
    files, lambda name: truth[name] if name in truth.files else None, np.diag(VOXEL),
    lambda p: (np.asarray(p, np.float64) - 1) * VOXEL)
ids = morphometry.all_ids(w, 'axon', truth['axon'])
objects = morphometry.objects_table(w, 'axon', ids, sources)
out['objects'] = time.perf_counter() - t
out['objects_cpu'] = time.process_time() - cpu
out['check'] = dict(
    partners=sorted(zip(p.column('id').tolist(), p.column('synapses').tolist())),
    partners_axon=sorted(zip(pa.column('id').tolist(), pa.column('synapses').tolist())),
    matrix_classes={'%s|%s' % (r, c): int(m.column(c)[k]) for k, r in
                    enumerate(m.column('axonclass').tolist()) for c in m.columns[1:]},
    matrix_axons=int(sum(int(v.sum()) for v in m2.values[1:])),
    top=top.column('synapse').tolist(),
    rows=objects.rows, voxels=int(objects.column('voxels').sum()),
    regions=int(objects.column('regions').sum()),
    outputs=int(objects.column('outputs').sum()),
    length=float(np.nansum(objects.column('pathlength_um'))),
    xmax=float(np.nanmax(objects.column('xmax'))))
out['maxrss'] = peak_rss()
print(json.dumps(out))
'''

PANDAS_CHILD = '''
import os
import h5py
import pandas as pd

VOXEL = np.array(args['voxel'])
folder = args['folder']
out = {}


def names(ds):
    return {int(v): k for k, v in ds.attrs.items() if k != 'info'}


t = time.perf_counter()
with h5py.File(os.path.join(folder, 'synapses.hdf5'), 'r') as f:
    s = f['synapses']
    df = pd.DataFrame({'axon': s['preAxonId'][()].astype(np.int64),
                       'dendrite': s['postDendriteId'][()].astype(np.int64),
                       'spinehead': s['postSpineHeadId'][()].astype(np.int64),
                       'typecode': s['type'][()], 'asiarea': s['asiArea'][()]})
    type_names = names(s['type'])
    position = s['synPosition'][()].T
with h5py.File(os.path.join(folder, 'axons.hdf5'), 'r') as f:
    axon_class = f['axons/class'][()]
    axon_names = names(f['axons/class'])
with h5py.File(os.path.join(folder, 'dendrites.hdf5'), 'r') as f:
    dendrite_class = f['dendrites/class'][()]
    dendrite_names = names(f['dendrites/class'])
    neuron = f['dendrites/neuronId'][()].astype(np.int64)
out['load'] = time.perf_counter() - t

t = time.perf_counter()
df.insert(0, 'synapse', np.arange(1, len(df) + 1))
axons = pd.Series([axon_names.get(int(c), '') for c in axon_class],
                  index=np.arange(1, axon_class.size + 1))
dendrites = pd.Series([dendrite_names.get(int(c), '') for c in dendrite_class],
                      index=np.arange(1, dendrite_class.size + 1))
df['axonclass'] = df['axon'].map(axons).fillna('')
df['dendriteclass'] = df['dendrite'].map(dendrites).fillna('')
df['neuron'] = df['dendrite'].map(pd.Series(neuron, index=np.arange(1, neuron.size + 1))
                                  ).fillna(0).astype(np.int64)
df['type'] = df['typecode'].map(type_names).fillna('')
xyz = (position.astype(np.float64) - 1) * VOXEL
df['x'], df['y'], df['z'] = xyz[:, 0], xyz[:, 1], xyz[:, 2]
table = df[['synapse', 'axon', 'axonclass', 'dendrite', 'dendriteclass', 'spinehead',
            'neuron', 'type', 'asiarea', 'x', 'y', 'z']]
out['synapses'] = time.perf_counter() - t
t = time.perf_counter()
table.to_csv(args['csv'], index=False)
out['synapses_csv'] = time.perf_counter() - t
d = int(table['dendrite'][table['dendrite'] > 0].value_counts().idxmax())
a = int(table['axon'][table['axon'] > 0].value_counts().idxmax())
t = time.perf_counter()
p = table[(table['dendrite'] == d) & (table['axon'] > 0)].groupby('axon').agg(
    synapses=('synapse', 'size'), asiarea=('asiarea', 'sum'))
out['partners'] = time.perf_counter() - t
t = time.perf_counter()
pa = table[(table['axon'] == a) & (table['dendrite'] > 0)].groupby('dendrite').agg(
    synapses=('synapse', 'size'), asiarea=('asiarea', 'sum'))
out['partners_axon'] = time.perf_counter() - t
t = time.perf_counter()
known = table[(table['axonclass'] != '') & (table['dendriteclass'] != '')]
m = pd.crosstab(known['axonclass'], known['dendriteclass'])
out['matrix_classes'] = time.perf_counter() - t
t = time.perf_counter()
sub = table[table['axon'].between(1, 1000) & (table['dendrite'] > 0)]
m2 = pd.crosstab(sub['axon'], sub['dendrite'])
out['matrix_axons'] = time.perf_counter() - t
t = time.perf_counter()
top = table.sort_values('asiarea', ascending=False, kind='stable').head(10)
out['sorted'] = time.perf_counter() - t

# Objects: each axon's agglomerate and skeleton read one dataset at a time.
t = time.perf_counter()
cpu = time.process_time()
with h5py.File(os.path.join(folder, 'segments.hdf5'), 'r') as f:
    voxel_count = f['segments/voxelCount'][()].astype(np.int64)
    position = f['segments/position'][()]
rows = []
with h5py.File(os.path.join(folder, 'axons.hdf5'), 'r') as f:
    agglomerates, skeletons = f['axons/agglomerate'], f['axons/skeleton']
    for k in range(1, axon_class.size + 1):
        regions = agglomerates[str(k)][()].astype(np.int64)
        length = np.nan
        if str(k) in skeletons:
            nodes = skeletons[str(k)]['nodes'][()].T.astype(np.float64) * VOXEL
            edges = skeletons[str(k)]['edges'][()].T.astype(np.int64) - 1
            edges = edges[edges[:, 0] != edges[:, 1]]
            length = np.linalg.norm(nodes[edges[:, 1]] - nodes[edges[:, 0]], axis=1).sum() / 1000
        xyz = (position[:, regions - 1].T.astype(np.float64) - 1) * VOXEL
        rows.append((k, regions.size, voxel_count[regions - 1].sum(), length,
                     xyz[:, 0].max() if regions.size else np.nan))
objects = pd.DataFrame(rows, columns=['id', 'regions', 'voxels', 'pathlength_um', 'xmax'])
objects['outputs'] = np.bincount(table['axon'], minlength=axon_class.size + 1)[1:]
out['objects'] = time.perf_counter() - t
out['objects_cpu'] = time.process_time() - cpu
out['check'] = dict(
    partners=sorted((int(i), int(n)) for i, n in p['synapses'].items()),
    partners_axon=sorted((int(i), int(n)) for i, n in pa['synapses'].items()),
    matrix_classes={'%s|%s' % (r, c): int(m.loc[r, c]) for r in m.index for c in m.columns},
    matrix_axons=int(m2.values.sum()),
    top=top['synapse'].tolist(),
    rows=len(objects), voxels=int(objects['voxels'].sum()),
    regions=int(objects['regions'].sum()), outputs=int(objects['outputs'].sum()),
    length=float(np.nansum(objects['pathlength_um'])),
    xmax=float(np.nanmax(objects['xmax'])))
out['maxrss'] = peak_rss()
print(json.dumps(out))
'''


def main(flags):
    from chimerax.connectome.progress import format_bytes
    quick = '--quick' in flags
    scale = 20 if quick else 1
    folder = os.path.join(DATA, 'authors-%d' % (REGIONS // scale))
    counts, _ = authors_files(folder, scale)
    print('authors\' files: %d regions, %d axons, %d dendrites, %d synapses (%s)'
          % (counts['regions'], counts['axons'], counts['dendrites'], counts['synapses'],
             folder), flush=True)
    work = tempfile.mkdtemp(prefix='bench-tables-', dir=DATA)
    try:
        ours = run_child(OURS_CHILD, folder=folder, voxel=VOXEL,
                         truth=os.path.join(folder, 'truth.npz'),
                         csv=os.path.join(work, 'ours.csv'))
        plain = run_child(PANDAS_CHILD, folder=folder, voxel=VOXEL,
                          csv=os.path.join(work, 'pandas.csv'))
        a, b = ours['check'], plain['check']
        for key in a:
            if key == 'length':
                assert abs(a[key] - b[key]) <= 1e-6 * abs(b[key]), (key, a[key], b[key])
            elif key == 'xmax':
                assert abs(a[key] - b[key]) < 1e-3, (key, a[key], b[key])
            elif key == 'partners' or key == 'partners_axon':
                assert [list(x) for x in a[key]] == [list(x) for x in b[key]], key
            else:
                assert a[key] == b[key], (key, a[key], b[key])
        with open(os.path.join(work, 'ours.csv')) as f1, \
                open(os.path.join(work, 'pandas.csv')) as f2:
            assert sum(1 for _ in f1) == sum(1 for _ in f2)
        print('%-48s %10s %10s %8s  %s' % ('step', 'bundle', 'pandas', 'ratio', 'target'))
        for key, label in STEPS:
            target = OBJECTS_TARGET_S if key == 'objects' else \
                None if key in ('load', 'synapses_csv') else TABLE_TARGET_S
            mine, theirs = ours[key], plain[key]
            print('%-48s %9.3fs %9.3fs %7.2fx  %s'
                  % (label, mine, theirs, theirs / max(mine, 1e-9),
                     '' if target is None else '%s (%.0f s)' % (
                         'met' if mine <= target else 'MISSED', target)))
        print('objects axon all, CPU time of the process (the machine is shared): bundle'
              ' %.1f s, pandas %.1f s' % (ours['objects_cpu'], plain['objects_cpu']))
        with open('/proc/loadavg') as f:
            print('load average at the end: %s' % f.read().split()[0])
        print('peak memory: bundle %s, pandas %s (target %s: %s); answers equal (partners,'
              ' matrices, sorted rows, objects: rows, regions, voxels, outputs, path length,'
              ' box)' % (format_bytes(ours['peak_rss']), format_bytes(plain['peak_rss']),
                         format_bytes(TARGET_BYTES),
                         'met' if ours['peak_rss'] <= TARGET_BYTES else 'MISSED'),
              flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
