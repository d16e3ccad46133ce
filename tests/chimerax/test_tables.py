"""`connectome table` in real ChimeraX on the demo's files in the authors' layout: every
kind of table against the demo's ground truth (truth.hdf5 /authors: the synapse table,
partner counts, skeleton nodes and edges; voxels counted in the demo's own segmentation
tiles), CSV and TSV files read back with Python's csv module under the documented
columns, sorting and top rows, the counts of `ids`, the panel, `synapses`, `partners`
and the tables agreeing, and bad arguments refused with a UserError naming the
problem."""

import csv
import glob

import h5py
import numpy as np
import pytest

from segfixtures import LogCapture, combined_demo, settings  # noqa: F401
from segfixtures import DEMO_VOXEL as VOXEL
from chimerax.connectome.demo import read_authors_truth

SYNAPSE_COLUMNS = ['synapse', 'axon', 'axonclass', 'dendrite', 'dendriteclass', 'spinehead',
                   'neuron', 'type', 'asiarea', 'x', 'y', 'z']
OBJECT_COLUMNS = ['id', 'regions', 'voxels', 'volume_um3', 'inputs', 'outputs',
                  'pathlength_um', 'spineheads', 'spines_per_um']


@pytest.fixture(scope='module')
def demo(tmp_path_factory, _process_session):
    from chimerax.core.commands import run
    s = _process_session
    root = tmp_path_factory.mktemp('tables')
    data = combined_demo(s, root, seed=7)
    folder = data / 'objects' / 'authors'
    run(s, 'connectome ids %s %s' % (root / 'segmentation.cmap', folder))
    return dict(root=root, data=data, folder=folder, expected=read_authors_truth(data),
                seg=root / 'segmentation.cmap', image=root / 'image.cmap')


def read_csv(path, delimiter=','):
    with open(path, newline='', encoding='utf-8') as f:
        reader = csv.DictReader(f, delimiter=delimiter)
        return reader.fieldnames, list(reader)


def number(text):
    return float('nan') if text == '' else float(text)


def test_synapse_table_is_the_truth_and_round_trips(session, run, demo, tmp_path):
    t = demo['expected']
    n = t['synapse_type'].size
    path = tmp_path / 'synapses.csv'
    with LogCapture(session) as log:
        table = run('connectome table %s synapses save %s' % (demo['seg'], path))
    assert table.rows == n
    assert '<table' in log.text and 'Saved the table (%d rows)' % n in log.text
    columns, rows = read_csv(path)
    assert columns == SYNAPSE_COLUMNS
    assert [int(r['synapse']) for r in rows] == list(range(1, n + 1))
    axon_classes, dendrite_classes = t['axon_classes'], t['dendrite_classes']
    # Positions as the markers are placed: scene coordinates of the contact voxel (nm).
    xyz = np.asarray(t['synapse_contact'], float) * np.array(VOXEL)
    for k, r in enumerate(rows):
        assert int(r['axon']) == t['synapse_axon'][k]
        assert int(r['dendrite']) == t['synapse_dendrite'][k]
        assert int(r['spinehead']) == t['synapse_spinehead'][k]
        assert int(r['neuron']) == t['synapse_neuron'][k]
        assert r['type'] == t['synapse_types'][t['synapse_type'][k] - 1]
        assert r['axonclass'] == axon_classes[t['axon_class'][t['synapse_axon'][k] - 1] - 1]
        assert r['dendriteclass'] == dendrite_classes[
            t['dendrite_class'][t['synapse_dendrite'][k] - 1] - 1]
        asi = t['synapse_asi'][k]
        assert (r['asiarea'] == '') if np.isnan(asi) else \
            number(r['asiarea']) == pytest.approx(asi, rel=1e-5)
        assert [float(r[c]) for c in 'xyz'] == pytest.approx(xyz[k].tolist(), abs=0.01)
    # Picked as connectome synapses picks, and TSV by the file's extension.
    onto = t['synapse_neuron'] == 1
    path = tmp_path / 'onto.tsv'
    table = run('connectome table %s synapses onto neuron 1 type primaryspine save %s'
                % (demo['seg'], path))
    want = np.flatnonzero(onto & (t['synapse_type'] == 1)) + 1
    columns, rows = read_csv(path, '\t')
    assert columns == SYNAPSE_COLUMNS
    assert [int(r['synapse']) for r in rows] == want.tolist()
    markers = run('connectome synapses %s onto neuron 1 type primaryspine' % demo['seg'])
    assert sorted(markers.atoms.residues.numbers.tolist()) == want.tolist()


def test_partner_table_is_the_truth(session, run, demo, tmp_path):
    t = demo['expected']
    rows = t['partners_axon_neuron']
    for neuron in sorted(set(rows[:, 1].tolist())):
        path = tmp_path / ('partners%d.csv' % neuron)
        run('connectome table %s partners neuron %d save %s' % (demo['seg'], neuron, path))
        columns, found = read_csv(path)
        assert columns == ['class', 'id', 'category', 'synapses', 'asiarea']
        assert {int(r['id']): int(r['synapses']) for r in found} == {
            int(a): int(c) for a, p, c in rows if p == neuron}
        assert {r['class'] for r in found} == {'axon'}
        for r in found:
            pick = (t['synapse_axon'] == int(r['id'])) & (t['synapse_neuron'] == neuron)
            asi = t['synapse_asi'][pick]
            if np.isfinite(asi).any():
                assert number(r['asiarea']) == pytest.approx(np.nansum(asi), rel=1e-5)
            else:
                assert r['asiarea'] == ''
            assert r['category'] == t['axon_classes'][t['axon_class'][int(r['id']) - 1] - 1]
    axon = int(t['partners_axon_dendrite'][0, 0])
    table = run('connectome table %s partners axon %d direction out' % (demo['seg'], axon))
    assert dict(zip(table.column('id').tolist(), table.column('synapses').tolist())) == {
        int(p): int(c) for a, p, c in t['partners_axon_dendrite'] if a == axon}


def test_matrices_are_the_truth(session, run, demo, tmp_path):
    t = demo['expected']
    path = tmp_path / 'matrix.csv'
    run('connectome table %s matrix axon dendrite save %s' % (demo['seg'], path))
    columns, rows = read_csv(path)
    assert columns[0] == 'axon'
    found = {(int(r['axon']), int(c)): int(r[c]) for r in rows for c in columns[1:]
             if int(r[c])}
    assert found == {(int(a), int(p)): int(c) for a, p, c in t['partners_axon_dendrite']}
    # Between categories, summing ASI areas, and picked by of.
    axons = sorted(set(t['synapse_axon'].tolist()) - {0})[:3]
    table = run('connectome table %s matrix axonclass dendriteclass of axon %s by asi'
                % (demo['seg'], ','.join(map(str, axons))))
    names_a, names_d = t['axon_classes'], t['dendrite_classes']
    want = {}
    for k in np.flatnonzero(np.isin(t['synapse_axon'], axons)).tolist():
        key = (names_a[t['axon_class'][t['synapse_axon'][k] - 1] - 1],
               names_d[t['dendrite_class'][t['synapse_dendrite'][k] - 1] - 1])
        asi = t['synapse_asi'][k]
        want[key] = want.get(key, 0.0) + (0.0 if np.isnan(asi) else asi)
    got = {(a, c): float(table.column(c)[i]) for i, a in enumerate(
        table.column('axonclass').tolist()) for c in table.columns[1:]}
    assert {k: v for k, v in got.items() if v} == pytest.approx(
        {k: v for k, v in want.items() if v}, rel=1e-5)


def test_matrix_of_synapse_types(session, run, demo):
    """Which axon classes make spine and shaft synapses: axon classes x synapse types."""
    t = demo['expected']
    table = run('connectome table %s matrix axonclass synapsetype' % demo['seg'])
    want = {}
    for k in np.flatnonzero(t['synapse_axon'] > 0).tolist():
        key = (t['axon_classes'][t['axon_class'][t['synapse_axon'][k] - 1] - 1],
               t['synapse_types'][t['synapse_type'][k] - 1])
        want[key] = want.get(key, 0) + 1
    got = {(a, c): int(table.column(c)[i]) for i, a in enumerate(
        table.column('axonclass').tolist()) for c in table.columns[1:]}
    assert {k: v for k, v in got.items() if v} == want


def tile_voxels(data, size):
    """Voxels per region, counted in the demo's segmentation tiles."""
    counts = np.zeros(size, np.int64)
    for p in glob.glob(str(data / 'segmentation' / '*.hdf5')):
        with h5py.File(p, 'r') as f:
            labels = f['data'][()].ravel().astype(np.int64)
        counts += np.bincount(labels, minlength=size)[:size]
    return counts


def truth_lengths(t, name):
    """{id: path length in um} from the truth's skeleton nodes and edges (voxel x, y, z
    and 1-based node numbers, concatenated over objects 1..N)."""
    nodes = t['%s_skeleton_nodes' % name].astype(float) * np.array(VOXEL)
    edges = t['%s_skeleton_edges' % name].astype(np.int64)
    node_counts = t['%s_skeleton_node_counts' % name]
    edge_counts = t['%s_skeleton_edge_counts' % name]
    out, n0, e0 = {}, 0, 0
    for k, (nn, ne) in enumerate(zip(node_counts.tolist(), edge_counts.tolist())):
        own = nodes[n0:n0 + nn]
        e = edges[e0:e0 + ne] - 1
        e = e[e[:, 0] != e[:, 1]]
        out[k + 1] = float(np.linalg.norm(own[e[:, 1]] - own[e[:, 0]], axis=1).sum()) / 1000
        n0, e0 = n0 + nn, e0 + ne
    return out


def test_objects_tables_are_the_truth(session, run, demo, tmp_path):
    t = demo['expected']
    per_region = t['objects']
    voxels = tile_voxels(demo['data'], per_region['axon'].size)
    voxel_um3 = np.prod(VOXEL) / 1e9
    for name in ('axon', 'dendrite'):
        path = tmp_path / ('%s.csv' % name)
        run('connectome table %s objects %s all save %s' % (demo['seg'], name, path))
        columns, rows = read_csv(path)
        assert columns[:len(OBJECT_COLUMNS)] == OBJECT_COLUMNS
        assert columns[len(OBJECT_COLUMNS):] == ['xmin', 'ymin', 'zmin', 'xmax', 'ymax',
                                                 'zmax']
        owner = per_region[name]
        n = int(owner.max())
        assert [int(r['id']) for r in rows] == list(range(1, n + 1))
        lengths = truth_lengths(t, name)
        heads = per_region['spinehead']
        for r in rows:
            i = int(r['id'])
            mine = owner == i
            assert int(r['regions']) == np.count_nonzero(mine)
            assert int(r['voxels']) == voxels[mine].sum()
            assert number(r['volume_um3']) == pytest.approx(voxels[mine].sum() * voxel_um3,
                                                            rel=1e-5)
            key = 'synapse_' + name
            assert int(r['inputs' if name == 'dendrite' else 'outputs']) == \
                np.count_nonzero(t[key] == i)
            assert int(r['outputs' if name == 'dendrite' else 'inputs']) == 0
            assert number(r['pathlength_um']) == pytest.approx(lengths[i], rel=1e-5)
            spines = np.unique(heads[mine & (heads > 0)]).size if name == 'dendrite' else 0
            assert int(r['spineheads']) == spines
            if spines:
                assert number(r['spines_per_um']) == pytest.approx(spines / lengths[i],
                                                                   rel=1e-5)
    # A neuron: its dendrites' path lengths summed; sorted by inputs, the top rows.
    table = run('connectome table %s objects dendrite all sortBy inputs top 3' % demo['seg'])
    inputs = np.bincount(t['synapse_dendrite'])[1:]
    assert table.column('inputs').tolist() == sorted(inputs.tolist(), reverse=True)[:3]
    lengths = truth_lengths(t, 'dendrite')
    table = run('connectome table %s objects neuron 1' % demo['seg'])
    dendrites = np.flatnonzero(t['dendrite_neuron'] == 1) + 1
    assert table.column('pathlength_um')[0] == pytest.approx(
        sum(lengths[d] for d in dendrites.tolist()), rel=1e-5)
    assert table.column('inputs')[0] == np.count_nonzero(t['synapse_neuron'] == 1)
    # The dendrites of a neuron, each with its spine density.
    table = run('connectome table %s objects dendrite of neuron 1 sortBy spines_per_um'
                % demo['seg'])
    assert sorted(table.column('id').tolist()) == dendrites.tolist()
    density = table.column('spines_per_um')
    assert (np.diff(density[np.isfinite(density)]) <= 0).all()


def test_counts_agree_across_commands(session, run, demo, window, settings):
    """ids' listing, the panel, synapses, partners and every table count a synapse as a
    row of the authors' synapses file."""
    t = demo['expected']
    n = t['synapse_type'].size
    owning = np.unique(t['objects']['presynapse'][t['objects']['presynapse'] > 0]).size
    assert owning < n          # the demo's second contacts: a region on two synapses
    with LogCapture(session) as log:
        run('connectome ids %s' % demo['seg'])
    text = ('%d synapses (%d own a region: a region on several synapses holds the lowest'
            ' id)' % (n, owning))
    assert 'presynapse: %d regions, %s' % (t['objects']['presynapse'].size - 1, text) \
        in log.text
    run('open %s' % demo['image'])
    run('open %s' % demo['seg'])
    panel = run('connectome panel')
    try:
        assert panel.object_count_text('presynapse') == text
    finally:
        panel.delete()
    assert run('connectome table #2 synapses').rows == n
    with LogCapture(session) as log:
        run('connectome synapses #2')
    assert 'Drew %d of %d synapses' % (n, n) in log.text
    axons = run('connectome table #2 objects axon all')
    assert axons.column('outputs').sum() == np.count_nonzero(t['synapse_axon'] > 0)
    for neuron in sorted(set(t['synapse_neuron'].tolist()) - {0}):
        partners = run('connectome partners #2 neuron %d direction in' % neuron)
        table = run('connectome table #2 partners neuron %d' % neuron)
        objects = run('connectome table #2 objects neuron %d' % neuron)
        assert sum(r.synapses for r in partners.rows) == table.column('synapses').sum() \
            == objects.column('inputs')[0] == np.count_nonzero(t['synapse_neuron'] == neuron)


@pytest.mark.parametrize('args,message', [
    ('objects glia', 'glia is not an object class'),
    ('objects axon 999', 'no axon has id 999: the largest axon id is'),
    ('partners neuron 99', 'no neuron has id 99'),
    ('partners neuron', 'a partners table is of one object'),
    ('synapses of axon 1 onto neuron 1 type shaft', 'no synapse is of axon 1 onto'),
    ('synapses onto axon 1', 'axon is presynaptic'),
    ('matrix neuron dendrite', 'do not say which neuron an axon is of'),
    ('matrix axon glia', 'a matrix\'s columns are postsynaptic'),
    ('matrix axon dendrite of 1', None),
    ('synapses sortBy colour', 'the synapses table has no column colour'),
    ('synapses type kiss', 'no synapse type kiss'),
    ('objects dendrite of neuron 99', 'no neuron has id 99'),
    ('objects axon onto neuron 1', 'an objects table picks its objects by id'),
])
def test_bad_arguments_name_the_problem(session, run, demo, args, message):
    from chimerax.core.errors import UserError
    if message is None:     # of without a class is of the matrix's rows
        assert run('connectome table %s %s' % (demo['seg'], args)).rows == 1
        return
    with pytest.raises(UserError, match='connectome table: .*' + message):
        run('connectome table %s %s' % (demo['seg'], args))


def test_a_big_table_is_cut_in_the_log_not_in_the_file(session, run, demo, tmp_path,
                                                       monkeypatch):
    from chimerax.connectome.pipeline import tables
    monkeypatch.setattr(tables, 'SHOWN_ROWS', 2)
    path = tmp_path / 'all.csv'
    with LogCapture(session) as log:
        table = run('connectome table %s synapses save %s' % (demo['seg'], path))
    assert 'Showing the first 2 of %d rows; save FILE writes them all.' % table.rows \
        in log.text
    assert len(read_csv(path)[1]) == table.rows


def test_panel_shows_the_last_table(session, run, demo, window, settings, tmp_path):
    """The panel's table: the last table, sortable as numbers; a row double-clicked runs
    connectome show for its object, Export the table's command with save FILE."""
    from chimerax.core.errors import UserError
    t = demo['expected']
    run('open %s' % demo['image'])
    run('open %s' % demo['seg'])
    run('connectome table #2 objects dendrite all')
    panel = run('connectome panel')
    try:
        w = panel.table_widget
        n = int(t['objects']['dendrite'].max())
        assert w.rowCount() == n and panel.export_button.isEnabled()
        columns = [w.horizontalHeaderItem(c).text() for c in range(w.columnCount())]
        assert columns[:len(OBJECT_COLUMNS)] == OBJECT_COLUMNS
        from Qt.QtCore import Qt
        inputs = columns.index('inputs')
        w.sortItems(inputs, Qt.SortOrder.DescendingOrder)
        shown = [w.item(r, inputs).data(Qt.ItemDataRole.DisplayRole) for r in range(n)]
        assert shown == sorted(np.bincount(t['synapse_dendrite'], minlength=n + 1)[1:]
                               .tolist(), reverse=True)
        top = w.item(0, columns.index('id')).data(Qt.ItemDataRole.DisplayRole)
        with LogCapture(session) as log:
            panel.table_row_chosen(0, inputs)
        assert log.commands[0] == 'connectome show #2 dendrite %d' % top
        path = tmp_path / 'dendrites.csv'
        with LogCapture(session) as log:
            panel.export_table(str(path))
        assert log.commands[0] == 'connectome table #2 objects dendrite all save %s' % path
        assert len(read_csv(path)[1]) == n
        # A new table replaces it; a class column goes to that object.
        run('connectome table #2 synapses')
        assert w.rowCount() == t['synapse_type'].size
        columns = [w.horizontalHeaderItem(c).text() for c in range(w.columnCount())]
        axon = w.item(0, columns.index('axon')).data(Qt.ItemDataRole.DisplayRole)
        assert panel.table_show_command(0, columns.index('axon')) == \
            'connectome show #2 axon %d' % axon
        none = np.flatnonzero(t['synapse_neuron'] == 0)[0]
        row = [w.item(r, 0).data(Qt.ItemDataRole.DisplayRole) for r in range(w.rowCount())
               ].index(int(none) + 1)
        with pytest.raises(UserError, match='this row has no neuron'):
            panel.table_show_command(row, columns.index('neuron'))
        with pytest.raises(UserError, match='this row is no object'):
            panel.table_show_command(row, columns.index('type'))
        # Closing its segmentation forgets the table (a later #2 is another model).
        run('close #2')
        assert not w.isVisible() and not panel.export_button.isEnabled()
        assert panel.table_label.text() == 'Table'
    finally:
        panel.delete()
