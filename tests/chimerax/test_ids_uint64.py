"""`connectome ids` on a store whose uint64 region ids are above 2^32 (issue 24, item 2),
in real ChimeraX: the demo's segmentation written by CloudVolume twice, once with its
own ids and once with every id moved above 2^32, and the demo's object files in the
authors' layout twice likewise.  Everything a user asks of the two (attributes,
`connectome color ... axon`, `connectome at`, `synapses`, `partners`, `table synapses`)
gives the same answers, the original ids where a region id is shown; the object files'
ids the store has not shown yet grow the id map, which is kept with the attributes so a
reopen keeps their meaning."""

import os
import shutil

import h5py
import numpy as np
import pytest

import segfixtures
import stores
from segfixtures import LogCapture

pytestmark = pytest.mark.chimerax

BIG = 2 ** 40 + 12345                   # added to every region id but 0
REGION_GROUPS = {'axons': ('/axons/agglomerate', '/axons/skeleton'),
                 'dendrites': ('/dendrites/agglomerate', '/spineHeads/agglomerate',
                               '/dendrites/skeleton'),
                 'synapses': ('/synapses/preSegIds', '/synapses/postSegIds')}


def moved_above_2_32(folder):
    """Rewrite the region ids of the authors' files in ``folder`` as uint64 BIG + id
    (every vector of region ids, the skeletons' segIds too).  segments.hdf5 is removed:
    a per-region vector (index = region id) cannot exist for such ids."""
    from chimerax.connectome.formats.objectfiles import authors
    files = authors.find_files(folder)
    os.remove(files['segments'])
    for kind, groups in REGION_GROUPS.items():
        with h5py.File(files[kind], 'r+') as f:
            for path in groups:
                group = f[path]
                for name in list(group):
                    parent, key = (group[name], 'segIds') if path.endswith('skeleton') \
                        else (group, name)
                    ids = np.asarray(parent[key][()], np.uint64)
                    ids[ids > 0] += np.uint64(BIG)
                    del parent[key]
                    parent.create_dataset(key, data=ids)


@pytest.fixture(scope='module')
def data(tmp_path_factory, _process_session):
    import hdf5plugin  # noqa: F401   (the .cmap's blosc filter)
    root = tmp_path_factory.mktemp('ids64')
    demo = segfixtures.combined_demo(_process_session, root, seed=11)
    with h5py.File(root / 'segmentation.cmap', 'r') as f:
        seg = f['/Chimera/image1/data_zyx'][()].astype(np.uint64)
    big = seg.copy()
    big[seg > 0] += np.uint64(BIG)
    out = {'root': root, 'image': root / 'image.cmap', 'seg': seg}
    for kind, volume in (('small', seg), ('big', big)):
        out[kind] = stores.precomputed_cloudvolume(
            root / kind, [volume], [], resolution=segfixtures.DEMO_VOXEL, chunk=(64, 64, 64))
        out[kind + '_folder'] = root / (kind + '_authors')
        shutil.copytree(demo / 'objects' / 'authors', out[kind + '_folder'])
    moved_above_2_32(out['big_folder'])
    return out


def points(seg, count=60, seed=3):
    """Voxels (i, j, k) inside regions, and a few in none."""
    rng = np.random.default_rng(seed)
    inside = np.argwhere(seg > 0)
    outside = np.argwhere(seg == 0)
    picked = [inside[i] for i in rng.choice(len(inside), count, replace=False)]
    picked += [outside[i] for i in rng.choice(len(outside), 3, replace=False)]
    return [tuple(int(c) for c in reversed(p)) for p in picked]


def answers(session, run, data, kind):
    """What the commands give for the store ``kind`` (small or big) and its folder."""
    from chimerax.connectome.session import compat
    from chimerax.connectome.pipeline.attributefile import AttributeFile
    run('close session')
    (image,) = run('open %s' % data['image'])
    (seg,) = run('open %s format precomputed' % data[kind])
    store = seg.data.store
    assert (store.id_map is not None) == (kind == 'big')
    with LogCapture(session) as log:
        run('connectome ids #2 %s' % data[kind + '_folder'])
    got = {'log': log.text, 'store': store, 'model': seg}
    got['attributes'] = {name: AttributeFile(store_attributes(store)).read(name)
                         for name in ('axon', 'dendrite', 'spinehead', 'neuron',
                                      'presynapse', 'axonclass', 'spineheadvolume')}
    got['at'] = [run('connectome at %.4f,%.4f,%.4f segmentation #2'
                     % tuple(seg.data.ijk_to_xyz(p))) for p in points(data['seg'])]
    if store.id_map is not None:
        got['complete before color'] = store.id_map.complete
    run('connectome color #2 map #1 attributes axon')
    got['rgba'] = compat.segmentation_rgba(image).copy()
    markers = run('connectome synapses #2')
    got['synapses'] = (markers.atoms.residues.numbers.copy(), markers.atoms.coords.copy(),
                       markers.atoms.colors.copy())
    wiring = AttributeFile(store_attributes(store)).wiring()
    both = (wiring.axon > 0) & (wiring.dendrite > 0)
    axon = np.bincount(wiring.axon[both]).argmax()    # the busiest with partners
    got['partners'] = run('connectome partners #2 axon %d' % axon)
    got['table'] = run('connectome table #2 synapses')
    return got


def store_attributes(store):
    from chimerax.connectome.formats import sidecar
    return sidecar.default_path(store)


def same_table(a, b):
    assert a.columns == b.columns and a.rows == b.rows and a.rows
    for x, y in zip(a.values, b.values):
        np.testing.assert_array_equal(x, y)


def test_ids_of_a_store_above_2_32_answer_as_with_small_ids(session, run, data):
    from chimerax.connectome.formats import sidecar
    small = answers(session, run, data, 'small')
    big = answers(session, run, data, 'big')
    store = big['store']
    regions = np.unique(data['seg'])
    regions = regions[regions > 0]
    values = store.id_map.known_values(regions + np.uint64(BIG))
    # connectome ids and at read no more than they need; ChimeraX's segmentation colors
    # (connectome color runs it) gave every id of the store its value first, as its
    # tables need (StoreGrid.find_attribute).
    assert big['complete before color'] is None
    assert store.id_map.complete is not None
    known = values > 0
    assert known.all()
    for name, a in small['attributes'].items():
        assert not np.nan_to_num(a[regions[~known].astype(np.int64)]).any(), name
    values, regions = values[known], regions[known].astype(np.int64)

    # Each region's attributes: its compact value's in the big store, its id's in the small.
    for name, a in small['attributes'].items():
        b = big['attributes'][name]
        assert len(b) <= len(store.id_map), name
        # Values given after the arrays were written (chunks read since) are past their
        # end: regions in no object, as ChimeraX and the readout read them.
        past = values >= len(b)
        assert not np.nan_to_num(a[regions[past]]).any(), name
        np.testing.assert_array_equal(b[values[~past]], a[regions[~past]], err_msg=name)
        assert np.count_nonzero(np.nan_to_num(b)) == np.count_nonzero(np.nan_to_num(a)), name
    assert "Region ids above 2^32 read through the store's id map" in big['log'], big['log']
    assert 'were given values' in big['log'], big['log']
    # The map is kept with the attributes, and no maximum_segment_id (the map grows).
    path = store_attributes(store)
    kept = sidecar.saved_ids(path)
    np.testing.assert_array_equal(kept, store.id_map.ids[:len(kept)])
    assert len(kept) >= len(big['attributes']['axon'])
    with h5py.File(path, 'r') as f:
        assert sidecar.MAXIMUM not in f[sidecar.STORE].attrs

    # connectome at: the original id, the same objects.
    for p, s, b in zip(points(data['seg']), small['at'], big['at']):
        want = dict(s, region=s['region'] + BIG if s['region'] else 0)
        assert b == want, p
    # Colours: each region's colour by its value is the small store's by its id.
    # (a value past the table's end, given since, is drawn uncoloured: white)
    rgba = np.full((len(store.id_map), 4), 255, np.uint8)
    rgba[:len(big['rgba'])] = big['rgba']
    np.testing.assert_array_equal(rgba[values], small['rgba'][regions])
    # The wiring, partners and the synapse table.
    for x, y in zip(small['synapses'], big['synapses']):
        np.testing.assert_array_equal(x, y)
    assert small['partners'].rows, small['partners'].lines()
    assert small['partners'].lines() == big['partners'].lines()
    same_table(small['table'], big['table'])

    # Reopened: the saved map is used again, so the attributes keep their meaning.
    run('close session')
    (seg,) = run('open %s format precomputed' % data['big'])
    np.testing.assert_array_equal(seg.data.store.id_map.ids[:len(kept)], kept)
    again = [run('connectome at %.4f,%.4f,%.4f segmentation #1'
                 % tuple(seg.data.ijk_to_xyz(p))) for p in points(data['seg'])]
    assert again == big['at']

    # The objects table: the same rows, but segments.hdf5 (indexed by region id) is not
    # read for a store whose attributes are indexed by compact values: voxels 0, not
    # another region's.
    from chimerax.connectome.formats.objectfiles import authors
    segments = authors.find_files(data['small_folder'])['segments']
    shutil.copy(segments, data['big_folder'])
    try:
        objects = run('connectome table #1 objects axon')
    finally:
        os.remove(os.path.join(data['big_folder'], os.path.basename(segments)))
    assert objects.rows and not objects.values[objects.columns.index('voxels')].any()
    assert np.isnan(objects.values[objects.columns.index('volume_um3')]).all()


def test_per_region_lookups_refused_and_float_ids_checked(session, run, data, tmp_path):
    """A per-region lookup (index = region id) names no region of an id-mapped store;
    region ids stored as floats beyond 2^53 would not be exact: both refused, nothing
    written."""
    from chimerax.core.errors import UserError
    run('close session')
    (seg,) = run('open %s format precomputed' % data['big'])
    lookup = tmp_path / 'lookup.npy'
    np.save(lookup, np.arange(50, dtype=np.int64))
    with pytest.raises(UserError, match='per-region lookup .* id map'):
        run('connectome ids #1 thing %s replace true' % lookup)
    floats = tmp_path / 'axons.hdf5'          # the authors' layout, ids as doubles
    with h5py.File(floats, 'w') as f:
        g = f.create_group('axons/agglomerate')
        g.create_dataset('1', data=np.array([float(2 ** 60), float(2 ** 60 + 2 ** 9)]))
    with pytest.raises(UserError, match='beyond 2\\^53'):
        run('connectome ids #1 thing %s:/axons/agglomerate replace true' % floats)
    from chimerax.connectome.pipeline.attributefile import AttributeFile
    assert AttributeFile(store_attributes(seg.data.store)).read('thing') is None


ATTRIBUTES = ('axon', 'dendrite', 'spinehead', 'neuron', 'presynapse', 'axonclass',
              'spineheadvolume')


def test_a_store_above_2_32_combined_answers_as_with_small_ids(session, run, data,
                                                              tmp_path):
    """connectome combine STORE: the .cmap holds the compact values and keeps the id map
    (/idmap); opened, `connectome ids` (the object files' ids above 2^32 translated by
    the map), `connectome at` and the synapse table answer as the .cmap of the same
    store with small ids, the original ids shown; its attributes name the same regions."""
    from chimerax.connectome.formats import sidecar
    from chimerax.connectome.pipeline.attributefile import AttributeFile
    got = {}
    for kind in ('small', 'big'):
        run('close session')
        path = tmp_path / (kind + '.cmap')
        run('connectome combine %s output %s open false' % (data[kind], path))
        (seg,) = run('open %s' % path)
        assert seg.data.path == str(path)
        run('connectome ids #1 %s' % data[kind + '_folder'])
        af = AttributeFile(str(path))
        got[kind] = {'attributes': {name: af.read(name) for name in ATTRIBUTES},
                     'at': [run('connectome at %.4f,%.4f,%.4f segmentation #1'
                                % tuple(seg.data.ijk_to_xyz(p)))
                            for p in points(data['seg'])],
                     'table': run('connectome table #1 synapses'),
                     'maximum': seg.data.find_attribute('maximum_segment_id')}
    assert sidecar.saved_ids(str(tmp_path / 'small.cmap')) is None
    ids = sidecar.saved_ids(str(tmp_path / 'big.cmap'))
    assert ids is not None and ids[0] == 0 and (ids[1:] > BIG).all()
    # Every region of the volume has a value below the .cmap's maximum (ids the object
    # files name and no voxel has were given values after it).
    regions = np.unique(data['seg'])
    assert got['big']['maximum'] == len(regions) - 1 <= len(ids) - 1
    small_id = (ids - np.uint64(BIG)).astype(np.int64)
    small_id[0] = 0
    for name, a in got['small']['attributes'].items():
        b = got['big']['attributes'][name]
        assert b is not None and len(b) <= len(ids), name
        inside = small_id[1:len(b)] < len(a)
        np.testing.assert_array_equal(b[1:len(b)][inside], a[small_id[1:len(b)][inside]],
                                      err_msg=name)
        assert np.count_nonzero(np.nan_to_num(b)) == np.count_nonzero(np.nan_to_num(a)), name
    for p, s, b in zip(points(data['seg']), got['small']['at'], got['big']['at']):
        assert b == dict(s, region=s['region'] + BIG if s['region'] else 0), p
    assert any(b['region'] > BIG for b in got['big']['at'])
    same_table(got['small']['table'], got['big']['table'])


def test_a_store_above_2_32_exported_with_its_ids_and_attributes(session, run, data,
                                                                 tmp_path):
    """connectome combine STORE output DIR format precomputed: the original uint64 ids
    at every level (read back by CloudVolume), segment properties named by them, and
    ``objects axon`` the same object ids as the store with small ids."""
    from cloudvolume import CloudVolume
    info, voxels, objects = {}, {}, {}
    for kind in ('small', 'big'):
        run('close session')
        run('open %s format precomputed' % data[kind])
        run('connectome ids #1 %s replace true' % data[kind + '_folder'])
        run('connectome combine %s output %s format precomputed open false'
            % (data[kind], tmp_path / kind))
        run('connectome combine %s output %s format precomputed objects axon open false'
            % (data[kind], tmp_path / (kind + '-axons')))
        with open(tmp_path / kind / 'segment_properties' / 'info') as f:
            import json
            info[kind] = json.load(f)['inline']
        cv = CloudVolume('file://%s' % (tmp_path / kind), mip=1, fill_missing=True)
        voxels[kind] = (np.asarray(CloudVolume('file://%s' % (tmp_path / kind),
                                                    fill_missing=True)[:, :, :]),
                        np.asarray(cv[:, :, :]))
        objects[kind] = np.asarray(CloudVolume('file://%s' % (tmp_path / (kind + '-axons')),
                                               fill_missing=True)[:, :, :])
    for s, b in zip(voxels['small'], voxels['big']):
        assert b.dtype == np.uint64 and s.any()
        want = s.astype(np.uint64)
        want[s > 0] += np.uint64(BIG)
        np.testing.assert_array_equal(b, want)
    big_ids = [int(i) for i in info['big']['ids']]
    assert big_ids and min(big_ids) > BIG
    small = dict(zip((int(i) for i in info['small']['ids']),
                     zip(*[p['values'] for p in info['small']['properties']])))
    big = dict(zip(big_ids, zip(*[p['values'] for p in info['big']['properties']])))
    assert {i - BIG: v for i, v in big.items()} == small
    np.testing.assert_array_equal(objects['big'], objects['small'])
    assert objects['small'].any()


def test_ids_given_the_attribute_file_by_path_use_its_map(session, run, data):
    """`connectome ids FILE.attributes.h5 ...` with no model open: the store is opened
    with the map the file keeps, so the same ids get the same values."""
    from chimerax.connectome.formats import sidecar
    from chimerax.connectome.formats.objectfiles import authors
    from chimerax.connectome.pipeline.attributefile import AttributeFile
    axons = authors.find_files(data['big_folder'])['axons']
    run('close session')
    (seg,) = run('open %s format precomputed' % data['big'])
    run('connectome ids #1 axon %s replace true' % axons)
    path = store_attributes(seg.data.store)
    before, kept = AttributeFile(path).read('axon'), sidecar.saved_ids(path)
    run('close session')
    run('connectome ids %s axoncopy %s:/axons/agglomerate replace true' % (path, axons))
    after = AttributeFile(path).read('axoncopy')
    np.testing.assert_array_equal(after[:len(before)], before)
    assert not after[len(before):].any() and np.count_nonzero(before)
    np.testing.assert_array_equal(sidecar.saved_ids(path)[:len(kept)], kept)


# ChimeraX 1.7.1's session serializer reads numpy's np.bool8 alias (as test_sessions.py).
@pytest.mark.filterwarnings('ignore:`np.bool8` is a deprecated alias')
def test_a_session_restores_what_ids_wrote_above_2_32(session, run, data, tmp_path):
    """After connectome ids and a colouring, a saved session restores the store with the
    map its attribute file keeps: connectome at and the colours are as before."""
    from chimerax.connectome.session import compat
    from chimerax.map import Volume
    run('close session')
    (image,) = run('open %s' % data['image'])
    (seg,) = run('open %s format precomputed' % data['big'])
    run('connectome ids #2 %s replace true' % data['big_folder'])
    run('connectome color #2 map #1 attributes axon')
    rgba = compat.segmentation_rgba(image).copy()
    at = [run('connectome at %.4f,%.4f,%.4f segmentation #2'
              % tuple(seg.data.ijk_to_xyz(p))) for p in points(data['seg'])]
    assert any(a['region'] > 2 ** 32 and a['axon'] for a in at)
    run('save %s' % (tmp_path / 's.cxs'))
    run('close session')
    run('open %s' % (tmp_path / 's.cxs'))
    image, seg = sorted(session.models.list(type=Volume), key=lambda m: m.id)
    assert seg.data.store.id_map is not None
    assert [run('connectome at %.4f,%.4f,%.4f segmentation #2'
                % tuple(seg.data.ijk_to_xyz(p))) for p in points(data['seg'])] == at
    np.testing.assert_array_equal(compat.segmentation_rgba(image), rgba)


# -- ChimeraX's own segmentation commands on a store read through an id map
#
# ChimeraX's `segmentation surfaces ... where/each` and `segmentation colors` size their
# tables by a maximum region id and by the attribute arrays before they read voxels,
# then index those tables with voxel values in C: a value the id map gives during that
# read, past the tables, crashed the process (after `connectome color`) or raised a
# shape mismatch.  So they run in a headless ChimeraX of their own (tests/chimerax/
# cxrun.py): a crash fails the test, not pytest.

SEGMENTATION_SCRIPT = r'''
import json, sys
from chimerax.core.commands import run
image, small, small_folder, big, big_folder, out = sys.argv[1:7]
result = {}

def surfaces(models):
    return sorted((len(s.vertices), len(s.triangles)) for s in models)

for kind, store, folder in (('small', small, small_folder), ('big', big, big_folder)):
    got = result[kind] = {}
    run(session, 'close session')
    run(session, 'open %s' % image)
    (seg,) = run(session, 'open %s format precomputed' % store)
    run(session, 'connectome ids #2 %s replace true' % folder)
    run(session, 'connectome color #2 map #1 attributes axon')
    got['where'] = surfaces(run(session, 'segmentation surfaces #2 where axon=1'))
    got['each'] = surfaces(run(session, 'segmentation surfaces #2 where axon=1-4 each axon'))
    got['connectome'] = surfaces(run(session, 'connectome surfaces #2 where axon=1'))
    run(session, 'segmentation colors #2 byAttribute axon color red')
    colors = seg.segment_colors
    got['colored'] = int((colors[:, 0] == 255).sum()) if colors is not None else -1
    # The same model fresh, without an earlier colouring: connectome surfaces first.
    run(session, 'close session')
    run(session, 'open %s' % image)
    run(session, 'open %s format precomputed' % store)
    got['fresh'] = surfaces(run(session, 'connectome surfaces #2 where axon=1'))
    got['fresh_each'] = surfaces(run(session, 'segmentation surfaces #2 each axon'))
with open(out, 'w') as f:
    json.dump(result, f)
'''


def test_chimerax_segmentation_commands_on_a_store_above_2_32(data, tmp_path):
    """`segmentation surfaces ... where/each`, `segmentation colors` and `connectome
    surfaces` on the store above 2^32 give what they give on the same data with small
    ids, in a ChimeraX that does not crash."""
    from cxrun import headless
    script = tmp_path / 'segmentation.py'
    script.write_text(SEGMENTATION_SCRIPT)
    out = tmp_path / 'result.json'
    args = [str(p) for p in (data['image'], data['small'], data['small_folder'],
                             data['big'], data['big_folder'], out)]
    done = headless('--nogui', '--exit', '--script', ' '.join([str(script)] + args))
    failed = done.stdout[done.stdout.find('Traceback'):] if 'Traceback' in done.stdout else \
        done.stdout[-3000:]
    assert done.returncode == 0, (done.returncode, failed[:6000], done.stderr[-3000:])
    import json
    result = json.loads(out.read_text())
    small, big = result['small'], result['big']
    assert small['where'] and small['each'] and small['fresh_each'], small
    assert small['colored'] > 1, small
    assert big == small


def test_a_chunk_unreadable_when_every_id_gets_its_value_stays_zeros(session, run, data,
                                                                    tmp_path):
    """A chunk that cannot be read when ChimeraX's segmentation command has every id of
    the store given its value is reported and left as zeros, in the tables and the
    display, even once it reads again (its ids would be past the tables): the command
    gives the other regions' surfaces, and no crash."""
    store = tmp_path / 'big'
    shutil.copytree(data['big'], store)
    (scale,) = [p for p in store.iterdir() if p.is_dir()]
    corner = scale / '0-64_0-64_0-64'       # not among the chunks open looks at
    whole = corner.read_bytes()
    corner.write_bytes(whole[:100])
    run('close session')
    (seg,) = run('open %s format precomputed' % store)
    id_map = seg.data.store.id_map
    assert id_map is not None and id_map.complete is None
    with LogCapture(session) as log:
        surfaces = run('segmentation surfaces #1 each segment')
    assert 'Expected chunk length' in log.text and 'shown as zeros' in log.text, log.text
    assert id_map.complete == len(id_map)
    counts = len(surfaces)
    outside = data['seg'].copy()
    outside[:64, :64, :64] = 0                   # z,y,x: the corner chunk
    seen = np.unique(outside)
    assert counts == len(seen[seen > 0]) > 0
    # The chunk reads again: its ids not seen elsewhere are refused, still zeros.
    corner.write_bytes(whole)
    level = seg.data.available_subsamplings[(1, 1, 1)]
    reported = []
    again = level.level.read_or_zeros((0, 0, 0), (64, 64, 64), (1, 1, 1), reported.append)
    inside = np.setdiff1d(np.unique(data['seg'][:64, :64, :64]), seen)
    assert len(inside), 'the corner chunk has no region of its own'
    assert not again.any() and 'could not be read' in reported[0], reported
    assert len(id_map) == id_map.complete
