"""`connectome meshes` of a segmentation whose region ids are above 2^32 (issue 24, item
2: meshes), in real ChimeraX: the demo's segmentation written by CloudVolume and by
tensorstore twice, once with its own ids and once with every id moved above 2^32 (read
through an id map), and the .cmap `connectome combine` makes of each (the big one keeps
the map as /idmap).  After `connectome ids` with the same object files (the authors'
layout, its ids moved likewise), the mesh folders are byte for byte the same, named by
the class's object ids; `connectome surfaces ... each axon` then draws from them."""

import os
import shutil

import h5py
import numpy as np
import pytest

import segfixtures
import stores
from segfixtures import LogCapture
from test_ids_uint64 import BIG, data  # noqa: F401  (the CloudVolume pair and folders)

pytestmark = pytest.mark.chimerax


@pytest.fixture(scope='module')
def written(data):  # noqa: F811
    """The pair's stores as CloudVolume wrote them, and the same volumes by tensorstore."""
    out = {'cloudvolume': {k: data[k] for k in ('small', 'big')}, 'tensorstore': {}}
    seg = data['seg']
    big = seg.copy()
    big[seg > 0] += np.uint64(BIG)
    for kind, volume in (('small', seg), ('big', big)):
        out['tensorstore'][kind] = stores.precomputed_tensorstore(
            data['root'] / ('ts-' + kind), [volume], [], resolution=segfixtures.DEMO_VOXEL,
            chunk=(64, 64, 64))
    return out


def folder_bytes(path):
    path = str(path)
    return {name: open(os.path.join(path, name), 'rb').read()
            for name in sorted(os.listdir(path))}


def object_ids(values):
    return np.unique(values[values > 0]).tolist()


@pytest.mark.parametrize('writer', ['cloudvolume', 'tensorstore'])
def test_meshes_of_a_store_above_2_32_are_those_of_small_ids(session, run, data, written,
                                                            writer):
    from chimerax.connectome.formats import sidecar
    from chimerax.connectome.formats.meshes import MeshFolder
    from chimerax.connectome.pipeline.attributefile import AttributeFile
    from chimerax.connectome.formats.meshes import default_output
    made = {}
    for kind in ('small', 'big'):
        run('close session')
        (seg,) = run('open %s format precomputed' % written[writer][kind])
        store = seg.data.store
        assert (store.id_map is not None) == (kind == 'big')
        run('connectome ids #1 %s replace true' % data[kind + '_folder'])
        attributes = sidecar.default_path(store)
        with LogCapture(session) as log:
            run('connectome meshes #1 axon chunkSize 32 replace true')
        output = default_output(attributes, 'axon')
        assert 'axon meshes in %s' % output in log.text, log.text
        made[kind] = folder_bytes(output)
        # Named by the class's object ids (axon 1..N), never by region ids.
        axon = AttributeFile(attributes).read('axon')
        assert MeshFolder(output).ids() == object_ids(axon)
        assert max(MeshFolder(output).ids()) < 2 ** 31
        if kind == 'big':
            # Voxel ids the saved map lacks (no object file named them) are in no axon.
            saved = sidecar.saved_ids(attributes)
            regions = np.unique(data['seg'])
            lacking = np.setdiff1d(regions[regions > 0] + np.uint64(BIG), saved)
            made['lacking'] = len(lacking)
        # connectome surfaces draws each axon from the meshes, in ChimeraX's colours.
        with LogCapture(session) as log:
            surfaces = run('connectome surfaces #1 each axon lod 0')
        assert 'Created %d surfaces from meshes' % len(surfaces) in log.text, log.text
        folder = MeshFolder(output)
        assert [int(s.name.rsplit(' ', 1)[-1]) for s in surfaces] == folder.ids()
        for s in surfaces:
            assert len(s.triangles) == len(folder.triangles(int(s.name.rsplit(' ', 1)[-1]),
                                                            0)[1])
        made[kind + ' colors'] = [tuple(s.color) for s in surfaces]
        # The attribute file named by its path, nothing open: the same meshes.
        run('close session')
        again = output + '-again'
        run('connectome meshes %s axon chunkSize 32 output %s replace true'
            % (attributes, again))
        assert folder_bytes(again) == made[kind]
    assert len(made['small']) > 3 and made['big'] == made['small']
    assert made['big colors'] == made['small colors']
    # connectome ids gave values only to the ids of the chunks it read and of the object
    # files: the meshes were made with voxel ids the saved map lacks (in no object).
    assert made['lacking'] > 0


def test_meshes_of_a_combined_cmap_above_2_32_are_those_of_small_ids(session, run, data,
                                                                     tmp_path):
    """The .cmap of the store above 2^32 (compact values, /idmap) gives the meshes of
    the .cmap of the small-id store."""
    from chimerax.connectome.formats import sidecar
    made = {}
    for kind in ('small', 'big'):
        run('close session')
        path = tmp_path / (kind + '.cmap')
        run('connectome combine %s output %s open false' % (data[kind], path))
        run('connectome ids %s %s' % (path, data[kind + '_folder']))
        assert (sidecar.saved_ids(str(path)) is not None) == (kind == 'big')
        run('connectome meshes %s axon chunkSize 32' % path)
        made[kind] = folder_bytes(tmp_path / (kind + '.axon-meshes'))
    assert len(made['small']) > 3 and made['big'] == made['small']
    (seg,) = run('open %s' % (tmp_path / 'big.cmap'))
    with LogCapture(session) as log:
        surfaces = run('connectome surfaces #1 each axon')
    assert 'Created %d surfaces from meshes' % len(surfaces) in log.text, log.text


def test_meshes_refused_when_the_attributes_keep_no_id_map(session, run, data, tmp_path):
    """A store above 2^32 whose attribute file lost its map: its arrays name no region
    of the store, so meshes are refused, saying why; nothing is written."""
    from chimerax.core.errors import UserError
    from chimerax.connectome.formats import sidecar
    store = tmp_path / 'big'
    shutil.copytree(data['big'], store)
    run('close session')
    run('open %s format precomputed' % store)
    run('connectome ids #1 %s' % data['big_folder'])
    attributes = str(store) + sidecar.SUFFIX
    with h5py.File(attributes, 'a') as f:
        del f[sidecar.IDMAP]
    with pytest.raises(UserError, match='above 2\\^32, and its attribute file .* keeps no'
                                        ' id map'):
        run('connectome meshes #1 axon chunkSize 32')
    assert not os.path.exists(str(store) + '.attributes.axon-meshes')
