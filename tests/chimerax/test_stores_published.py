"""Stores as the field's tools publish them (issue 24), opened in real ChimeraX: a
CloudVolume store with its default gzip chunk files, shown at every level and combined;
Paintera N5, funlib Zarr and BigDataViewer N5 placed by their own metadata, the log
saying where the geometry came from or that there is none; a segmentation with uint64
ids above 2^32 shown, read out and coloured by attribute through its id map."""

import html
import os

import numpy as np
import pytest

import segfixtures
import stores
import tilesets

pytestmark = pytest.mark.chimerax

SHAPE = (20, 36, 44)                        # z,y,x
FACTORS = [(2, 2, 1), (4, 4, 2)]            # x,y,z
FACTORS_ZYX = [tuple(reversed(f)) for f in FACTORS]
BIG = 2 ** 40


def logged(session, run, command):
    with segfixtures.LogCapture(session) as log:
        models = run(command)
    return models, html.unescape(log.text)


def test_cloudvolume_gzip_store_every_level_and_combine(session, run, tmp_path):
    labels = tilesets.labels(SHAPE, seed=5, max_id=5000)
    levels = stores.pyramid(labels, FACTORS_ZYX)
    path = stores.precomputed_cloudvolume(tmp_path / 'seg', levels, FACTORS, offset=(4, 8, 2),
                                          compress=None)           # CloudVolume's default
    assert all(n.endswith('.gz') for n in os.listdir(os.path.join(path, '8_8_40')))
    (v,), text = logged(session, run, 'open %s format precomputed' % path)
    assert 'from info resolution, voxel_offset' in text, text
    assert v.data.step == (8, 8, 40) and v.data.origin == (36, 68, 100)
    for step, level in zip([(1, 1, 1)] + FACTORS, levels):
        assert np.array_equal(v.data.matrix(ijk_step=step), level), step
    out = tmp_path / 'seg.cmap'
    (c,) = run('connectome combine %s output %s region 3,5,2,40,33,17' % (path, out))
    assert c.data.origin == (36 + 24, 68 + 40, 100 + 80)
    assert np.array_equal(c.full_matrix(), labels[2:18, 5:34, 3:41])


@pytest.mark.parametrize('encoding,compress', [('raw', 'br'), ('compresso', None),
                                               ('crackle', False),
                                               ('compressed_segmentation', 'zstd')])
def test_cloudvolume_encodings_and_compressions(session, run, tmp_path, encoding, compress):
    """brotli and zstd chunk files, the seung-lab encodings compresso and crackle (gzip
    chunk files, CloudVolume's default for them, or plain): every level exact, combined
    exactly."""
    labels = tilesets.labels(SHAPE, seed=7, max_id=900)
    levels = stores.pyramid(labels, FACTORS_ZYX)
    path = stores.precomputed_cloudvolume(tmp_path / 'seg', levels, FACTORS, offset=(4, 8, 2),
                                          encoding=encoding, compress=compress)
    (v,) = run('open %s format precomputed' % path)
    assert v.data.origin == (36, 68, 100)
    for step, level in zip([(1, 1, 1)] + FACTORS, levels):
        assert np.array_equal(v.data.matrix(ijk_step=step), level), step
    (c,) = run('connectome combine %s output %s' % (path, tmp_path / 'seg.cmap'))
    assert np.array_equal(c.full_matrix(), labels) and c.data.origin == (36, 68, 100)


def test_paintera_funlib_and_bigdataviewer_geometry(session, run, tmp_path):
    import z5py
    import zarr
    labels = tilesets.labels(SHAPE, seed=6, max_id=300)
    # Paintera: the data group's resolution and offset (x,y,z), z5py's blosc (nthreads).
    group = z5py.File(str(tmp_path / 'p.n5'), 'w').create_group('labels')
    group.attrs['painteraData'] = {'type': 'label'}
    data = group.create_group('data')
    data.attrs.update({'resolution': [4.0, 4.0, 40.0], 'offset': [8.0, 12.0, 400.0],
                       'multiScale': True})
    data.create_dataset('s0', data=labels, chunks=(8, 16, 16), compression='blosc')
    (p,), text = logged(session, run, 'open %s format n5' % (tmp_path / 'p.n5' / 'labels'))
    assert p.data.step == (4, 4, 40) and p.data.origin == (8, 12, 400)
    assert 'resolution, offset; no units in the metadata' in text, text
    assert np.array_equal(p.full_matrix(), labels)
    # funlib.persistence: voxel_size, offset, axis_names, units (z,y,x) on the array.
    z = zarr.open_array(str(tmp_path / 'f.zarr'), mode='w', shape=SHAPE, chunks=(8, 16, 16),
                        dtype=labels.dtype)
    z[...] = labels
    z.attrs.update({'voxel_size': [40, 8, 8], 'offset': [80, 16, 32],
                    'axis_names': ['z', 'y', 'x'], 'units': ['nm', 'nm', 'nm']})
    (f,), text = logged(session, run, 'open %s' % (tmp_path / 'f.zarr'))
    assert f.data.step == (8, 8, 40) and f.data.origin == (32, 16, 80)
    assert '(from .zattrs voxel_size, offset, units)' in text and 'no units' not in text, text
    # BigDataViewer's N5 with only the required attributes: no geometry, and the log says so.
    root = z5py.File(str(tmp_path / 'b.n5'), 'w')
    setup = root.create_group('setup0')
    setup.attrs['downsamplingFactors'] = [[1, 1, 1]]
    setup.create_group('timepoint0').create_dataset('s0', data=labels, chunks=(8, 16, 16),
                                                    compression='gzip')
    (b,), text = logged(session, run, 'open %s' % (tmp_path / 'b.n5'))
    assert b.data.step == (1, 1, 1) and 'the metadata gives no voxel size or origin' in text
    assert np.array_equal(b.full_matrix(), labels)


def write_big_id_pair(folder):
    """The segfixtures pair as precomputed stores, the segmentation's region ids moved
    above 2^32 (region r becomes BIG + r), uint64, compressed_segmentation."""
    em, seg = segfixtures.volumes()
    big = seg.astype(np.uint64)
    big[seg > 0] += BIG
    img = stores.precomputed_tensorstore(folder / 'em', [em], [], resolution=segfixtures.STEP)
    sg = stores.precomputed_tensorstore(folder / 'seg', stores.pyramid(big, [(1, 2, 2)]),
                                        [(2, 2, 1)], resolution=segfixtures.STEP,
                                        encoding='compressed_segmentation')
    return img, sg, big


def test_ids_above_2_32_shown_read_out_and_coloured(session, run, tmp_path):
    """A uint64 segmentation whose ids are all above 2^32 opens (it was refused), its
    voxels compact values whose originals are the stored ids; connectome at gives the
    original ids; attributes kept by compact value with the id map in the attribute
    file colour the right voxels, also after the store is opened again."""
    from chimerax.connectome.formats import sidecar
    from chimerax.connectome.pipeline.attributefile import AttributeFile
    img, sg, big = write_big_id_pair(tmp_path)
    (ev,) = run('open %s format precomputed' % img)
    (sv,), text = logged(session, run, 'open %s format precomputed' % sg)
    assert 'region ids read through an id map' in text, text
    store = sv.data.store
    assert sv.data.value_type == np.uint32 and store.id_map is not None
    m = sv.full_matrix()
    assert int(m.max()) < 200 and np.array_equal(store.original_ids(m), big)
    assert np.array_equal(store.original_ids(sv.data.matrix(ijk_step=(2, 2, 1))),
                          big[:, ::2, ::2])

    box = 0                                             # an axon region
    ijk = segfixtures.box_center_ijk(box)
    truth = segfixtures.truth_at(ijk)
    xyz = sv.data.ijk_to_xyz(ijk)
    found = run('connectome at %.3f,%.3f,%.3f segmentation #2' % tuple(xyz))
    assert found == {'region': BIG + truth['region']}

    # Attributes indexed by compact value, and the map that gives them their meaning.
    regions = np.array([segfixtures.region_id(b) for b, _ in segfixtures.boxes()])
    values = store.id_map.compact_ids(BIG + regions.astype(np.uint64))
    axon = np.zeros(len(store.id_map), np.int32)
    for b, v in zip(range(len(regions)), values):
        axon[v] = segfixtures.object_ids(b)['axon']
    path = sidecar.default_path(store)
    attributes = AttributeFile(path, store)
    attributes.create()
    attributes.write({'axon': axon})
    sidecar.save_ids(path, store.id_map.ids)
    run('close #2')
    (sv,) = run('open %s format precomputed' % sg)
    assert np.array_equal(sv.data.store.id_map.ids[:len(values) + 1][values], BIG + regions)
    found = run('connectome at %.3f,%.3f,%.3f segmentation #2' % tuple(xyz))
    assert found == {'region': BIG + truth['region'], 'axon': truth['axon']}
    run('connectome color #2 map #1 attributes axon colors lime')
    rgba = ev.mask_colors._segment_rgba
    lime = np.all(rgba[:, :3] == (0, 255, 0), axis=1)
    for b, v in zip(range(len(regions)), values):
        assert lime[v] == bool(segfixtures.object_ids(b)['axon']), b


def test_precomputed_placement_agrees_with_neuroglancer(session, run, tmp_path):
    """Neuroglancer puts precomputed voxel i at [i, i + 1) x resolution (integer
    coordinates are voxel corners; formats/stores/precomputed.py says where its code says
    so).  A position read from a neuroglancer link (parsed by the neuroglancer package)
    given to connectome at names the voxel neuroglancer shows there, and a region's
    surface lies on neuroglancer's voxel boundaries."""
    import neuroglancer
    labels = np.zeros(SHAPE, np.uint32)
    labels[3:9, 10:20, 5:30] = 7                            # z,y,x voxels of region 7
    labels[9:12, 10:20, 5:30] = 8
    offset = (4, 8, 2)                                      # x,y,z voxels
    res = (8, 8, 40)
    path = stores.precomputed_tensorstore(tmp_path / 'seg', [labels], [], resolution=res,
                                          offset=offset, kind='segmentation')
    (v,) = run('open %s format precomputed' % path)
    state = neuroglancer.ViewerState()
    state.dimensions = neuroglancer.CoordinateSpace(names=['x', 'y', 'z'], units='nm',
                                                    scales=list(res))
    # Just inside region 8's first plane (z voxel 9 of the store, 9 + 2 in neuroglancer),
    # and just inside region 7's last x (29 + 4).
    for position, region in (((5 + 4 + 0.1, 10 + 8 + 0.2, 9 + 2 + 0.05), 8),
                             ((29 + 4 + 0.95, 19 + 8 + 0.9, 8 + 2 + 0.9), 7),
                             ((29 + 4 + 1.05, 19 + 8 + 0.9, 8 + 2 + 0.9), 0)):
        state.position = list(position)
        link = neuroglancer.parse_url(neuroglancer.to_url(state))
        nm = [p * s * 1e9 for p, s in zip(link.position, link.dimensions.scales)]
        found = run('connectome at %.4f,%.4f,%.4f segmentation #1' % tuple(nm))
        assert found['region'] == region, (position, found)
    # Region 7's surface (level 0.5 of a 0/1 map) lies on neuroglancer's voxel
    # boundaries: x from voxel 5 + 4 to 30 + 4, y 10 + 8 to 20 + 8, z 3 + 2 to 9 + 2.
    from chimerax.map_data import ArrayGridData
    from chimerax.map.volume import volume_from_grid_data
    mask = ArrayGridData((labels == 7).astype(np.uint8), origin=v.data.origin,
                         step=v.data.step)
    m = volume_from_grid_data(mask, session)
    m.set_parameters(surface_levels=[0.5])
    m.show(style='surface')
    m.update_drawings()
    vertices = m.surfaces[0].vertices
    assert np.allclose(vertices.min(axis=0), [(5 + 4) * 8, (10 + 8) * 8, (3 + 2) * 40])
    assert np.allclose(vertices.max(axis=0), [(30 + 4) * 8, (20 + 8) * 8, (9 + 2) * 40])


# ChimeraX 1.7.1's session serializer reads numpy's np.bool8 alias (as test_sessions.py).
@pytest.mark.filterwarnings('ignore:`np.bool8` is a deprecated alias')
def test_combine_keeps_the_id_map_of_a_store_above_2_32(session, run, tmp_path):
    """A .cmap combined from a store with ids above 2^32 holds its compact values and
    keeps the id map: opened, every voxel maps back to the store's id, and connectome at
    gives the original id; also after a session is saved and restored."""
    from chimerax.connectome.session.storegrid import original_ids
    _, sg, big = write_big_id_pair(tmp_path)
    out = tmp_path / 'big.cmap'
    (v,) = run('connectome combine %s output %s' % (sg, out))
    a = v.full_matrix()
    assert a.dtype == np.uint32 and a.max() < 2 ** 32
    assert np.array_equal(original_ids(v.data, a), big)
    ijk = segfixtures.box_center_ijk(5)
    xyz = tuple(v.data.ijk_to_xyz(ijk))
    want = int(big[ijk[2], ijk[1], ijk[0]])
    assert want > 2 ** 32
    assert run('connectome at %.3f,%.3f,%.3f' % xyz) == {'region': want}
    run('save %s' % (tmp_path / 's.cxs'))
    run('close session')
    run('open %s' % (tmp_path / 's.cxs'))
    assert run('connectome at %.3f,%.3f,%.3f' % xyz) == {'region': want}


# ChimeraX 1.7.1's session serializer reads numpy's np.bool8 alias (as test_sessions.py).
@pytest.mark.filterwarnings('ignore:`np.bool8` is a deprecated alias')
def test_a_session_reopens_a_store_with_ids_above_2_32(session, run, tmp_path):
    """A session restores a store read through an id map: the readout still gives the
    original ids, and the attribute file's map is used again."""
    from chimerax.connectome.formats import sidecar
    _, sg, big = write_big_id_pair(tmp_path)
    (sv,) = run('open %s format precomputed' % sg)
    ijk = segfixtures.box_center_ijk(5)
    xyz = tuple(sv.data.ijk_to_xyz(ijk))
    want = int(big[ijk[2], ijk[1], ijk[0]])
    assert want > 2 ** 32
    assert run('connectome at %.3f,%.3f,%.3f' % xyz) == {'region': want}
    sv.full_matrix()                                    # every id read: the map is whole
    path = sidecar.default_path(sv.data.store)
    sidecar.create(path, sv.data.store)
    ids = sv.data.store.id_map.ids
    sidecar.save_ids(path, ids)
    run('save %s' % (tmp_path / 's.cxs'))
    run('close session')
    run('open %s' % (tmp_path / 's.cxs'))
    from chimerax.map import Volume
    (v,) = session.models.list(type=Volume)
    assert np.array_equal(v.data.store.id_map.ids, ids)
    assert run('connectome at %.3f,%.3f,%.3f' % xyz) == {'region': want}
    from chimerax.core.errors import UserError
    with pytest.raises(UserError, match='keeps attributes indexed by an id map'):
        run('open %s format precomputed compactIds false' % sg)
