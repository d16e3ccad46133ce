"""pipeline/wiring.py and the authors' skeletons on plain Python: the wiring derived from
the demo's files in the authors' layout is the demo's ground truth synapse by synapse
(also when a release lacks the per-synapse ids and they come from the regions), every
partner table equals the truth's synapse counts, filters pick what the truth says, the
wiring kept in a segmentation reads back unchanged and survives later attribute writes,
skeletons and region positions read as written, and bad input is an InputError."""

import os
import shutil

import h5py
import numpy as np
import pytest

from chimerax.connectome.demo import generate_dataset, read_authors_truth, read_truth
from chimerax.connectome.errors import InputError
from chimerax.connectome.formats.objectfiles import authors
from chimerax.connectome.pipeline import partners, wiring
from chimerax.connectome.pipeline.attributefile import AttributeFile

from test_attributes import write_segmentation


@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    # Seed 7 of the small size: 9 synapses, some onto the neuron, second contacts.
    folder = tmp_path_factory.mktemp('wiring') / 'data'
    generate_dataset(folder, size='small', seed=7)
    truth = read_truth(folder)
    return dict(folder=folder, authors=folder / 'objects' / 'authors',
                expected=read_authors_truth(folder), maximum=truth['maximum_region_id'])


def test_derived_wiring_is_the_truth(demo):
    t = demo['expected']
    w = wiring.derive(demo['authors'])
    assert w.count == t['synapse_type'].size >= 8
    for column, key in (('axon', 'synapse_axon'), ('dendrite', 'synapse_dendrite'),
                        ('spinehead', 'synapse_spinehead'), ('neuron', 'synapse_neuron'),
                        ('type', 'synapse_type')):
        assert np.array_equal(getattr(w, column), t[key]), column
    assert np.array_equal(w.asiarea, t['synapse_asi'].astype(np.float32), equal_nan=True)
    # synPosition is the contact voxel, 1-based.
    assert np.array_equal(w.position, t['synapse_contact'] + 1)
    assert np.array_equal(w.axon_class, t['axon_class'])
    assert np.array_equal(w.dendrite_class, t['dendrite_class'])
    assert np.array_equal(w.dendrite_neuron, t['dendrite_neuron'])
    assert [n for n, _ in w.category_names('type')] == list(t['synapse_types'])
    assert [n for n, _ in w.category_names('axonclass')] == list(t['axon_classes'])
    assert w.neuron.any() and (w.type == 2).any()     # onto the neuron; second contacts
    assert set(w.files) == {'axons', 'dendrites', 'synapses'}
    assert w.folder == os.path.abspath(demo['authors'])


def _truth_counts(rows, column, object_id):
    """{partner: count} of the truth's (axon, partner, count) rows for one object."""
    if column == 0:
        return {int(p): int(n) for a, p, n in rows if a == object_id}
    return {int(a): int(n) for a, p, n in rows if p == object_id}


def test_every_partner_table_is_the_truth(demo):
    t = demo['expected']
    w = wiring.derive(demo['authors'])
    tables = {'dendrite': t['partners_axon_dendrite'], 'neuron': t['partners_axon_neuron'],
              'spinehead': t['partners_axon_spinehead']}
    for name, rows in tables.items():
        for object_id in range(1, int(w.largest(name)) + 1):
            table = partners.partners(w, name, object_id, 'in')
            got = {r.id: r.synapses for r in table.rows}
            assert all(r.name == 'axon' and r.direction == 'in' for r in table.rows)
            assert got == _truth_counts(rows, 1, object_id), (name, object_id)
            assert table.totals['in'] == (sum(got.values()), len(got))
    for axon in range(1, t['axon_class'].size + 1):
        table = partners.partners(w, 'axon', axon, 'both')
        got = {r.id: r.synapses for r in table.rows if r.direction == 'out'}
        assert got == _truth_counts(tables['dendrite'], 0, axon), axon
        assert table.totals['in'] == (0, 0)
        # Each dendrite row names its neuron; rows are grouped by dendrite class.
        for r in table.rows:
            assert r.neuron == t['dendrite_neuron'][r.id - 1]
            assert r.category == t['dendrite_classes'][t['dendrite_class'][r.id - 1] - 1]
    # The lines: one per partner, in the form the issue asks for.
    neuron = int(np.argmax(np.bincount(w.neuron)[1:])) + 1
    lines = partners.partners(w, 'neuron', neuron, 'in').lines()
    truth = _truth_counts(tables['neuron'], 1, neuron)
    shown = [line.split() for line in lines if line.startswith('    axon ')]
    assert {int(s[1]): int(s[2]) for s in shown} == truth
    assert lines[0].startswith('neuron %d inputs: %d synapses from %d axons'
                               % (neuron, sum(truth.values()), len(truth)))


def test_min_synapses_and_groups():
    # A made-up wiring: axon 1 makes 3 synapses onto neuron 1, axon 2 one, axon 3 two.
    columns = dict(axon=[1, 1, 1, 2, 3, 3, 0], dendrite=[1, 1, 2, 2, 1, 2, 1],
                   spinehead=[0] * 7, neuron=[1] * 7, type=[1] * 7, asiarea=[np.nan] * 7)
    w = wiring.Wiring(columns, np.ones((7, 3)), [2, 2, 1], [1, 1], [1, 1],
                      {'axonclass': {'a': 1, 'b': 2}}, None, {})
    table = partners.partners(w, 'neuron', 1, 'in', min_synapses=2)
    assert [(r.id, r.synapses, r.category) for r in table.rows] == [(3, 2, 'a'), (1, 3, 'b')]
    assert table.totals['in'] == (6, 3)
    assert 'no axon' in table.notes['in']
    assert np.array_equal(np.flatnonzero(table.masks['in']), [0, 1, 2, 4, 5])
    lines = table.lines()
    assert lines[0] == 'neuron 1 inputs: 6 synapses from 3 axons, 2 with at least 2 synapses'
    assert lines[1:] == ['  a: 1 axon, 2 synapses', '    axon 3  2 synapses',
                         '  b: 1 axon, 3 synapses', '    axon 1  3 synapses']


def test_select_picks_what_the_truth_says(demo):
    t = demo['expected']
    w = wiring.derive(demo['authors'])
    axons = np.unique(t['synapse_axon'])[:3]
    ranges = [(int(a), int(a)) for a in axons]
    mask = partners.select(w, of=('axon', ranges))
    assert np.array_equal(mask, np.isin(t['synapse_axon'], axons))
    mask = partners.select(w, onto=('neuron', [(1, 1)]), types=['PrimarySpine'])
    assert np.array_equal(mask, (t['synapse_neuron'] == 1) & (t['synapse_type'] == 1))
    with pytest.raises(InputError, match='postsynaptic'):
        partners.select(w, of=('neuron', [(1, 1)]))
    with pytest.raises(InputError, match='no synapse type spiny; the types are'):
        partners.select(w, types=['spiny'])


def test_in_ranges_against_brute_force():
    rng = np.random.default_rng(3)
    for _ in range(50):
        ranges = []
        for _ in range(rng.integers(1, 12)):
            a = int(rng.integers(1, 90))
            ranges.append((a, a + int(rng.integers(0, 8))))
        values = rng.integers(0, 100, 400)
        brute = np.array([any(a <= v <= b for a, b in ranges) for v in values])
        assert np.array_equal(partners.in_ranges(values, ranges), brute)


def _segmentation(tmp_path, maximum):
    labels = np.zeros((8, 8, 8), np.uint32)
    labels[0, 0, 0] = maximum
    return write_segmentation(tmp_path / 'seg.cmap', labels)


def test_a_wiring_with_a_hundred_thousand_category_names(demo, tmp_path):
    seg = _segmentation(tmp_path, demo['maximum'])
    w = wiring.derive(demo['authors'])
    w.categories['type'] = {'type %d' % k: k for k in range(1, 100001)}
    AttributeFile(seg).write_wiring(w)
    assert AttributeFile(seg).wiring().categories == w.categories
    # Files written before keep the texts as the group's HDF5 attributes.
    w = wiring.derive(demo['authors'])
    AttributeFile(seg).write_wiring(w)
    with h5py.File(seg, 'r+') as f:
        g = f['attributes/.connectome']
        for key in wiring.TEXTS:
            text = g[key][()]
            del g[key]
            g.attrs[key] = text.decode()
    kept = AttributeFile(seg).wiring()
    assert kept.categories == w.categories and kept.folder == w.folder
    assert kept.files == w.files and kept.notes == w.notes


def test_kept_in_the_segmentation_and_kept_by_later_writes(demo, tmp_path):
    seg = _segmentation(tmp_path, demo['maximum'])
    AttributeFile(seg).write({'axon': demo['expected']['objects']['axon']})
    w = wiring.derive(demo['authors'])
    AttributeFile(seg).write_wiring(w)
    with h5py.File(seg, 'r') as f:
        assert sorted(f['attributes']) == ['.connectome', 'axon']
        # Nothing a name lookup for an attribute could find: dotted names, 2-D tables
        # and scalar texts (which an HDF5 attribute could not hold past 64 KiB).
        def names(name, node):
            last = name.rsplit('/', 1)[-1]
            assert last.startswith('.') or not name.startswith('attributes/.'), name
            if isinstance(node, h5py.Dataset) and name.startswith('attributes/.'):
                assert node.ndim == 2 or (node.ndim == 0 and node.dtype.kind == 'S'), name
        f.visititems(names)
        assert all(a.startswith('.') for a in f['attributes/.connectome'].attrs)
    assert AttributeFile(seg).class_names() == ['axon']
    assert [n for n, _, _ in AttributeFile(seg).listing()] == ['axon']
    # A later attribute write keeps the wiring (hard-linked into the new group).
    AttributeFile(seg).write({'dendrite': demo['expected']['objects']['dendrite']})
    back = AttributeFile(seg).wiring()
    for name in wiring.INTEGER_COLUMNS + ('asiarea', 'position', 'axon_class',
                                          'dendrite_class', 'dendrite_neuron'):
        assert np.array_equal(getattr(back, name), getattr(w, name), equal_nan=True), name
    assert back.categories == w.categories and back.folder == w.folder
    assert back.files == w.files and wiring.changed_files(back) == []
    syn = demo['authors'] / 'synapses.hdf5'
    st = os.stat(syn)
    os.utime(syn, ns=(1, 1))
    try:
        assert wiring.changed_files(back) == ['synapses.hdf5']
    finally:
        os.utime(syn, ns=(st.st_atime_ns, st.st_mtime_ns))
    empty = tmp_path / 'empty'
    empty.mkdir()
    assert AttributeFile(_segmentation(empty, 10)).wiring() is None


def test_ids_derived_from_the_regions_when_the_release_lacks_them(demo, tmp_path):
    t = demo['expected']
    folder = tmp_path / 'authors'
    shutil.copytree(demo['authors'], folder)
    with h5py.File(folder / 'synapses.hdf5', 'a') as f:
        for name in ('preAxonId', 'postDendriteId', 'postSpineHeadId'):
            del f['/synapses/' + name]
    per_region = t['objects']
    with pytest.raises(InputError, match='run connectome ids first'):
        wiring.derive(folder)
    w = wiring.derive(folder, per_region=per_region.get)
    for column, key in (('axon', 'synapse_axon'), ('dendrite', 'synapse_dendrite'),
                        ('spinehead', 'synapse_spinehead'), ('neuron', 'synapse_neuron')):
        assert np.array_equal(getattr(w, column), t[key]), column
    assert len(w.notes) == 3 and 'most of its regions' in w.notes[0]


def test_majority_of_regions_lowest_among_equals():
    group = authors.ObjectGroup(np.array([1, 2, 3, 4, 5, 6, 7]),
                                np.array([1, 1, 1, 2, 2, 3, 3]), 4, '')
    lookup = np.array([0, 5, 5, 9, 7, 3, 0, 0])
    assert wiring._majority(group, lookup, None, '').tolist() == [5, 3, 0, 0]


def test_skeletons_read_as_written(demo):
    t = demo['expected']
    for name in ('axon', 'dendrite'):
        kind, group = authors.SKELETONS[name]
        counts = t['%s_skeleton_node_counts' % name]
        with authors.AuthorsFile(demo['authors'] / (kind + '.hdf5')) as f:
            skeletons = f.skeletons(group, range(1, counts.size + 1))
        nodes = np.split(t['%s_skeleton_nodes' % name], np.cumsum(counts)[:-1])
        edges = np.split(t['%s_skeleton_edges' % name],
                         np.cumsum(t['%s_skeleton_edge_counts' % name])[:-1])
        for s, n, e in zip(skeletons, nodes, edges):
            assert np.array_equal(s.nodes, n)
            assert np.array_equal(s.edges, e - 1)
        assert [s.id for s in skeletons] == list(range(1, counts.size + 1))


def test_region_positions_in_blocks(demo):
    with authors.AuthorsFile(demo['authors'] / 'segments.hdf5') as f:
        every = f.file['/segments/position'][()].T
        regions = np.array([9, 3, 3, 1, every.shape[0], 120, 77])
        for block in (1, 5, 1 << 20):
            assert np.array_equal(f.region_positions(regions, block), every[regions - 1])
        with pytest.raises(InputError, match='segments.hdf5: /segments/position lists'):
            f.region_positions([every.shape[0] + 1])


@pytest.mark.parametrize('case', ['no synapses file', 'position shape', 'dendrite past neuronId',
                                  'count differs', 'edge past the nodes', 'nodes shape'])
def test_bad_input_names_file_and_dataset(demo, tmp_path, case):
    folder = tmp_path / 'authors'
    shutil.copytree(demo['authors'], folder)
    syn = folder / 'synapses.hdf5'
    if case == 'no synapses file':
        os.remove(syn)
        with pytest.raises(InputError, match='has no synapses file'):
            wiring.derive(folder)
        return
    if case in ('edge past the nodes', 'nodes shape'):
        with h5py.File(folder / 'axons.hdf5', 'a') as f:
            g = f['/axons/skeleton/2']
            if case == 'nodes shape':
                nodes = g['nodes'][()]
                del g['nodes']
                g['nodes'] = nodes.T
                match = 'axons.hdf5: /axons/skeleton/2/nodes is .* not 3 x k'
            else:
                edges = g['edges'][()]
                edges[0, 0] = g['nodes'].shape[1] + 1
                g['edges'][...] = edges
                match = 'axons.hdf5: /axons/skeleton/2/edges names node'
        with authors.AuthorsFile(folder / 'axons.hdf5') as f:
            with pytest.raises(InputError, match=match):
                f.skeletons('/axons/skeleton', [1, 2])
        return
    with h5py.File(syn, 'a') as f:
        if case == 'position shape':
            p = f['/synapses/synPosition'][()]
            del f['/synapses/synPosition']
            f['/synapses/synPosition'] = p[:2]
            match = r'synapses.hdf5: /synapses/synPosition is 2x\d+, not 3 x'
        elif case == 'dendrite past neuronId':
            d = f['/synapses/postDendriteId'][()]
            d[0] = 999
            f['/synapses/postDendriteId'][...] = d
            match = 'synapse 1 is onto dendrite 999, but dendrites.hdf5 lists'
        else:
            a = f['/synapses/preAxonId'][()]
            del f['/synapses/preAxonId']
            f['/synapses/preAxonId'] = a[:-1]
            match = r'synapses.hdf5: /synapses/preAxonId holds \d+ values, the other'
    with pytest.raises(InputError, match=match):
        wiring.derive(folder)


def test_truth_partner_counts_match_its_synapses(demo):
    """The truth's partner tables and its synapse list agree (two ways the generator
    records the same wiring)."""
    t = demo['expected']
    for name, key in (('dendrite', 'synapse_dendrite'), ('neuron', 'synapse_neuron'),
                      ('spinehead', 'synapse_spinehead')):
        rows = t['partners_axon_' + name]
        pairs = np.stack([t['synapse_axon'], t[key]], axis=1)
        pairs = pairs[(pairs > 0).all(axis=1)]
        assert rows[:, 2].sum() == len(pairs)
        for a, p, n in rows:
            assert ((pairs[:, 0] == a) & (pairs[:, 1] == p)).sum() == n


def test_one_of_a_kind_is_singular():
    """"1 synapse from 1 axon onto 1 dendrite", never "onto 1 dendrites"."""
    columns = dict(axon=[1], dendrite=[2], spinehead=[0], neuron=[1], type=[1],
                   asiarea=[np.nan])
    w = wiring.Wiring(columns, np.ones((1, 3)), [1], [1, 1], [0, 1],
                      {'axonclass': {'a': 1}}, None, {})
    assert w.describe() == '1 synapse from 1 axon onto 1 dendrite (0 spine heads, 1 neuron)'
    table = partners.partners(w, 'neuron', 1, 'in')
    assert table.lines()[0] == 'neuron 1 inputs: 1 synapse from 1 axon'
