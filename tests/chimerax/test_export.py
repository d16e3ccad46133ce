"""`connectome combine TILES|STORE output DIR format precomputed|zarr` in real ChimeraX:
the store opens in this bundle (`open DIR format ...`) with the voxels, levels, voxel
size and origin of the .cmap of the same tiles, and in CloudVolume / zarr-python; the
segmentation's attributes become neuroglancer segment properties; a store exported again
from a store; options that need precomputed refused; chains with `;`."""

import json

import numpy as np
import pytest
import zarr
from cloudvolume import CloudVolume

import tilesets
from segfixtures import DEMO_VOXEL, LogCapture, combined_demo_with_ids

pytestmark = pytest.mark.chimerax

SHAPE = (30, 44, 52)


@pytest.fixture
def labels(tmp_path):
    volume = tilesets.labels(SHAPE, seed=3, cell=3)
    tilesets.write_tiles(tmp_path / 't', volume, (16, 16, 24), chunks=(8, 8, 8))
    return tmp_path / 't', volume


def same_volume(a, b):
    """The same grid: size, step, origin, levels and every level's voxels.  A precomputed
    store opens as neuroglancer shows it (voxel corners at whole coordinates), half a
    voxel from the .cmap's voxel centres (pipeline/export.py)."""
    assert a.data.size == b.data.size
    assert a.data.step == b.data.step
    half = 0.5 if a.data.file_type == 'precomputed' else 0
    assert a.data.origin == tuple(o + half * s for o, s in zip(b.data.origin, b.data.step))
    steps = sorted(a.data.available_subsamplings)
    assert steps == sorted(b.data.available_subsamplings) and len(steps) > 1
    for step in steps:
        assert np.array_equal(a.data.matrix(ijk_step=step), b.data.matrix(ijk_step=step)), step


@pytest.mark.parametrize('format, options', [('precomputed', ''),
                                             ('precomputed', 'sharded true'),
                                             ('precomputed', 'compressMethod gzip'),
                                             ('zarr', '')])
def test_store_opens_as_the_cmap(session, run, labels, tmp_path, format, options):
    folder, volume = labels
    common = 'voxelSize 4,4,8 region 3,2,1,50,40,28 subsamples 2,2,1 subsamples 4,4,2'
    (c,) = run('connectome combine %s output %s %s' % (folder, tmp_path / 'a.cmap', common))
    with LogCapture(session) as log:
        (s,) = run('connectome combine %s output %s format %s %s %s'
                   % (folder, tmp_path / 'a.store', format, common, options))
    assert 'Exported 18 tiles to a.store (%s)' % format in log.text
    assert ('voxel centres lie 2,2,4 nm from the .cmap' in log.text) == (format == 'precomputed')
    assert s.data.file_type == format
    assert c.data.origin == (12, 8, 8)
    gz = list((tmp_path / 'a.store').rglob('*.gz'))
    assert bool(gz) == ('gzip' in options) and ('gzip chunk files' in log.text) == bool(gz)
    same_volume(s, c)
    assert np.array_equal(s.full_matrix(), volume[1:29, 2:41, 3:51])


def test_independent_readers(session, run, labels, tmp_path):
    folder, volume = labels
    run('connectome combine %s output %s format precomputed voxelSize 4,4,8 origin 8,0,16'
        ' open false; connectome combine %s output %s format zarr voxelSize 4,4,8 open false'
        % (folder, tmp_path / 'p', folder, tmp_path / 'z'))
    cv = CloudVolume('file://%s' % (tmp_path / 'p'))
    assert tuple(cv.resolution) == (4, 4, 8) and tuple(cv.voxel_offset) == (2, 0, 2)
    assert np.array_equal(np.asarray(cv[2:54, 0:44, 2:32])[..., 0].T, volume)
    assert np.array_equal(zarr.open_group(str(tmp_path / 'z'), mode='r')['0'][...], volume)


def test_store_exported_from_a_store(session, run, labels, tmp_path):
    folder, volume = labels
    run('connectome combine %s output %s format zarr voxelSize 4,4,8 origin 4,8,16 open false'
        ' subsamples 2,2,1'
        % (folder, tmp_path / 'z'))
    (p,) = run('connectome combine %s output %s format precomputed subsamples 2,2,1'
               % (tmp_path / 'z', tmp_path / 'p'))
    (z,) = run('open %s format zarr' % (tmp_path / 'z'))
    same_volume(p, z)


def test_precomputed_options_refused_for_zarr(session, run, labels, tmp_path):
    from chimerax.core.errors import UserError
    folder, _ = labels
    with pytest.raises(UserError, match='sharded and meshes are for format precomputed'):
        run('connectome combine %s output %s format zarr sharded true'
            % (folder, tmp_path / 'z'))
    with pytest.raises(UserError, match='attributes and objects are for format precomputed'
                                        ' or zarr'):
        run('connectome combine %s output %s objects neuron' % (folder, tmp_path / 'z.cmap'))
    with pytest.raises(UserError, match='objects neuron: name the attribute file'):
        run('connectome combine %s output %s format zarr objects neuron'
            % (folder, tmp_path / 'z'))
    with pytest.raises(UserError, match='compressMethod and compressShuffle are for a'
                                        ' .cmap or zarr'):
        run('connectome combine %s output %s format precomputed compressMethod blosc:zstd'
            % (folder, tmp_path / 'p'))
    with pytest.raises(UserError, match='names a Chimera map'):
        run('connectome combine %s output %s format zarr' % (folder, tmp_path / 'z.cmap'))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['t']


@pytest.fixture(scope='module')
def demo(_process_session, tmp_path_factory):
    return combined_demo_with_ids(_process_session, tmp_path_factory.mktemp('export'), seed=3)


def test_attributes_become_segment_properties(session, run, demo, tmp_path):
    from chimerax.connectome.pipeline.attributefile import AttributeFile
    seg = demo / 'segmentation.cmap'
    run('connectome combine %s output %s format precomputed missing zero voxelSize %s'
        ' attributes %s sharded true open false'
        % (demo / 'data' / 'segmentation', tmp_path / 'p', ','.join(map(str, DEMO_VOXEL)),
           seg))
    info = json.loads((tmp_path / 'p' / 'info').read_text())
    assert info['segment_properties'] == 'segment_properties'
    assert all('sharding' in s for s in info['scales'])
    props = json.loads((tmp_path / 'p' / 'segment_properties' / 'info').read_text())
    ids = [int(i) for i in props['inline']['ids']]
    by_name = {p['id']: p for p in props['inline']['properties']}
    attributes = AttributeFile(seg)
    axon = attributes.read('axon')
    assert axon is not None and 'axon' in by_name
    assert by_name['axon']['data_type'] == 'uint32'
    assert by_name['axon']['values'] == [int(axon[i]) if i < len(axon) else 0 for i in ids]
    # Every region with an axon is described.
    assert set(np.flatnonzero(axon[1:]) + 1) <= set(ids)
    tags = by_name['tags']
    classes = attributes.info()['axonclass'].categories
    code = {c.code: c.name for c in classes}
    axonclass = attributes.read('axonclass')
    for i, t in list(zip(ids, tags['values']))[:200]:
        names = {tags['tags'][k] for k in t}
        if i < len(axonclass) and axonclass[i]:
            assert 'axonclass:%s' % code[int(axonclass[i])] in names
    # Chunks all background are not written (neuroglancer and CloudVolume's
    # fill_missing read them as 0), as the .cmap leaves them out.
    cv = CloudVolume('file://%s' % (tmp_path / 'p'), fill_missing=True)
    (c,) = run('open %s' % seg)
    assert np.array_equal(np.asarray(cv[:, :, :])[..., 0].T, c.full_matrix())


def test_a_stores_own_attributes_become_segment_properties(session, run, tmp_path):
    """A store with attributes in its attribute file (as `connectome ids` writes them for
    a store) exports them without being told where they are."""
    import stores
    from chimerax.connectome.formats import stores as formats_stores
    from chimerax.connectome.formats import sidecar
    from chimerax.connectome.pipeline.attributefile import AttributeFile
    volume = tilesets.labels((16, 24, 32), seed=2, cell=4, max_id=50)
    path = stores.precomputed_tensorstore(tmp_path / 'seg', [volume], [])
    with formats_stores.open_store(str(path)) as store:
        own = AttributeFile(sidecar.default_path(store), store)
        own.create()
        axon = np.zeros(int(volume.max()) + 1, np.int32)
        axon[[3, 5]] = [1, 2]
        own.write({'axon': axon})
    run('connectome combine %s output %s format precomputed open false'
        % (path, tmp_path / 'p'))
    props = json.loads((tmp_path / 'p' / 'segment_properties' / 'info').read_text())
    assert props['inline']['ids'] == ['3', '5']
    assert props['inline']['properties'][0]['values'] == [1, 2]


def test_objects_of_a_class_with_their_meshes(session, run, demo, tmp_path):
    """objects neuron: the voxels hold each region's neuron id (the class's attribute
    array applied voxel by voxel), so the meshes made per neuron match them; labels and
    categories of the neurons as segment properties."""
    from chimerax.connectome.pipeline.attributefile import AttributeFile
    seg = demo / 'segmentation.cmap'
    meshes = tmp_path / 'neuron-meshes'
    meshes.mkdir()
    (meshes / 'info').write_text(json.dumps({
        '@type': 'neuroglancer_multilod_draco', 'vertex_quantization_bits': 16,
        'transform': [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0], 'lod_scale_multiplier': 1}))
    run('connectome combine %s output %s format precomputed missing zero voxelSize %s'
        ' attributes %s objects neuron meshes %s open false'
        % (demo / 'data' / 'segmentation', tmp_path / 'p', ','.join(map(str, DEMO_VOXEL)),
           seg, meshes))
    neuron = AttributeFile(seg).read('neuron')
    (c,) = run('open %s' % seg)
    regions = c.full_matrix()
    cv = CloudVolume('file://%s' % (tmp_path / 'p'), fill_missing=True)
    assert np.array_equal(np.asarray(cv[:, :, :])[..., 0].T, neuron[regions])
    info = json.loads((tmp_path / 'p' / 'info').read_text())
    assert info['mesh'] == 'mesh' and (tmp_path / 'p' / 'mesh' / 'info').exists()
    props = json.loads((tmp_path / 'p' / 'segment_properties' / 'info').read_text())
    ids = [int(i) for i in props['inline']['ids']]
    assert ids == sorted(set(neuron[1:]) - {0})
    assert props['inline']['properties'][0]['values'][:2] == ['neuron %d' % i for i in ids[:2]]
    run('connectome combine %s output %s format zarr missing zero voxelSize %s'
        ' attributes %s objects neuron open false'
        % (demo / 'data' / 'segmentation', tmp_path / 'z', ','.join(map(str, DEMO_VOXEL)),
           seg))
    assert np.array_equal(zarr.open_group(str(tmp_path / 'z'), mode='r')['0'][...],
                          neuron[regions])


def test_meshes_sit_on_the_exported_voxels_as_neuroglancer_places_them(session, run, demo,
                                                                       tmp_path):
    """`connectome meshes` places its vertices on the .cmap as ChimeraX does (voxel i's
    centre at origin + i x step); the exported precomputed volume lies half a voxel further
    in neuroglancer (voxel corners at whole coordinates), and its copy of the meshes is
    moved with it: in neuroglancer's coordinates every full-resolution vertex is an edge
    midpoint between two voxel centres of the store (one coordinate half-way, two on
    centres), as marching cubes puts it, and inside the neuron's voxels' reach."""
    from chimerax.connectome.formats.meshes.read import MeshFolder
    seg = demo / 'segmentation.cmap'
    run('connectome meshes %s neuron 1 output %s threads 1' % (seg, tmp_path / 'm'))
    with LogCapture(session) as log:
        run('connectome combine %s output %s format precomputed missing zero voxelSize %s'
            ' attributes %s objects neuron meshes %s open false'
            % (demo / 'data' / 'segmentation', tmp_path / 'p',
               ','.join(map(str, DEMO_VOXEL)), seg, tmp_path / 'm'))
    half = tuple(v / 2 for v in DEMO_VOXEL)
    assert 'voxel centres lie %s nm' % ','.join('%g' % h for h in half) in log.text
    made = json.loads((tmp_path / 'm' / 'info').read_text())['transform']
    moved = json.loads((tmp_path / 'p' / 'mesh' / 'info').read_text())['transform']
    assert np.allclose(np.array(moved) - made, [0, 0, 0, half[0], 0, 0, 0, half[1],
                                                0, 0, 0, half[2]])
    cv = CloudVolume('file://%s' % (tmp_path / 'p'), fill_missing=True)
    offset, res = np.array(cv.voxel_offset), np.array(cv.resolution, float)
    vertices, _ = MeshFolder(str(tmp_path / 'p' / 'mesh')).triangles(1, 0)
    # In units of the store's voxels, 0 at voxel (0,0,0)'s centre (neuroglancer's corner
    # convention: centre at (offset + i + 0.5) x resolution).
    u = vertices / res - offset - 0.5
    frac = np.abs(u - np.round(u))
    halfway = np.abs(frac - 0.5) < 0.05
    on_centre = frac < 0.05
    assert (halfway | on_centre).all()
    assert (halfway.sum(axis=1) == 1).all()
    inside = np.argwhere(np.asarray(cv[:, :, :])[..., 0] == 1)        # x,y,z
    from scipy.spatial import cKDTree
    d, _ = cKDTree(inside).query(u)
    assert d.max() <= 0.5 + 0.05
