"""Sessions holding this bundle's volumes (issue 26, item 18): a session with a .cmap
segmentation, a store volume and a tiles volume is saved, closed and restored; every
model comes back, the store and tile set reopened where they lie with the voxel size
and origin they had, in this process and in a fresh ChimeraX that has run no command of
this bundle yet.  A tile set that cannot be reopened is reported, and the other models
still come back (the restore used to stop at the first store, losing every model).  A
map coloured by a tile-set segmentation comes back coloured (test_sessions_models.py
checks every other kind of model and colouring)."""

import json
import shutil

import numpy as np
import pytest

import segfixtures as sf
import stores
import tilesets
from cxrun import headless
from segfixtures import LogCapture

SHAPE = (20, 36, 44)                        # z,y,x
FACTORS = [(2, 2, 1)]

# ChimeraX 1.7.1's session serializer (core/_serialize.pyx) reads numpy's np.bool8 alias;
# not this bundle's code.
pytestmark = pytest.mark.filterwarnings('ignore:`np.bool8` is a deprecated alias')


@pytest.fixture
def three(tmp_path):
    """Paths of a .cmap segmentation, an OME-Zarr store and a tile set, and the labels."""
    paths = sf.write_pair(tmp_path)
    labels = tilesets.labels(SHAPE, seed=5, max_id=5000)
    store = stores.ome_zarr(tmp_path / 'seg.zarr', stores.pyramid(
        labels, [tuple(reversed(f)) for f in FACTORS]), FACTORS, label=True)
    tilesets.write_tiles(tmp_path / 'tiles', labels, (10, 18, 22))
    return paths[1], store, tmp_path / 'tiles', labels


def volumes(session):
    from chimerax.map import Volume
    return sorted(session.models.list(type=Volume), key=lambda v: v.id)


def described(v):
    return [list(v.id), v.name, [int(n) for n in v.data.size],
            [round(float(x), 6) for x in v.data.step],
            [round(float(x), 6) for x in v.data.origin], v.data.file_type]


def save_three(run, three, tmp_path):
    cmap, store, tiles, _ = three
    run('open %s' % cmap)
    run('open %s format zarr voxelSize 2,3,4 origin 5,6,7' % store)
    run('open %s format tiles voxelSize 1.5 origin 1,2,3' % tiles)
    run('volume #2 step 2')
    saved = tmp_path / 'three.cxs'
    run('save %s' % saved)
    return saved


def test_session_with_store_and_tiles_restores_every_model(session, run, three, tmp_path):
    labels = three[3]
    saved = save_three(run, three, tmp_path)
    before = [described(v) for v in volumes(session)]
    assert len(before) == 3
    run('close session')
    run('open %s' % saved)
    after = volumes(session)
    assert [described(v) for v in after] == before
    for v in after[1:]:
        assert np.array_equal(v.full_matrix(), labels)
    # The store's coarser scale follows the voxel size given at open.
    store = after[1]
    assert tuple(store.data.available_subsamplings[(2, 2, 1)].step) == (4, 6, 4)
    assert tuple(store.region[2]) == (2, 2, 2)


def test_restored_in_a_fresh_chimerax(session, run, three, tmp_path):
    """A new ChimeraX restores it before any command of this bundle has run."""
    saved = save_three(run, three, tmp_path)
    before = [described(v) for v in volumes(session)]
    script = tmp_path / 'restore.py'
    out = tmp_path / 'restored.json'
    script.write_text(
        'import json\n'
        'from chimerax.core.commands import run\n'
        'from chimerax.map import Volume\n'
        'run(session, "open %s")\n'
        'vs = sorted(session.models.list(type=Volume), key=lambda v: v.id)\n'
        'json.dump([[list(v.id), v.name, [int(n) for n in v.data.size],'
        ' [round(float(x), 6) for x in v.data.step],'
        ' [round(float(x), 6) for x in v.data.origin],'
        ' v.data.file_type, int(v.full_matrix().sum())] for v in vs],'
        ' open("%s", "w"))\n' % (saved, out))
    p = headless('--nogui', '--exit', '--script', str(script))
    assert p.returncode == 0, p.stdout + p.stderr
    assert 'Unable to restore session' not in p.stdout + p.stderr
    restored = json.loads(out.read_text())
    assert [r[:-1] for r in restored] == before
    assert restored[1][-1] == restored[2][-1] == int(three[3].sum())


def test_a_tile_set_that_cannot_be_reopened_is_reported(session, run, three, tmp_path):
    cmap, store, tiles, _ = three
    moved = tmp_path / 'moved'
    shutil.copytree(tiles, moved)
    run('open %s' % cmap)
    run('open %s format zarr' % store)
    run('open %s format tiles' % moved)
    saved = tmp_path / 'three.cxs'
    run('save %s' % saved)
    shutil.rmtree(moved)
    run('close session')
    with LogCapture(session) as log:
        run('open %s' % saved)
    assert [v.name for v in volumes(session)] == ['segmentation.cmap', 'seg.zarr']
    assert 'Unable to restore session' not in log.text
    assert 'Session restore: the tile set %s cannot be reopened' % moved in log.text, log.text


@pytest.mark.parametrize('options', ['format tiles axisOrder xyz', 'format tiles missing zero',
                                     'format zarr attributesFile {tmp}/mine.h5'])
def test_a_volume_opened_with_options_a_session_does_not_keep(session, run, three, tmp_path,
                                                              options):
    """Reopened with the defaults it would be another volume (axes swapped, another
    channel, no attributes): saving warns, restoring names it, the others come back."""
    cmap, store, tiles, _ = three
    run('open %s' % cmap)
    path = store if 'zarr' in options else tiles
    run('open %s %s' % (path, options.format(tmp=tmp_path)))
    saved = tmp_path / 'two.cxs'
    with LogCapture(session) as log:
        run('save %s' % saved)
    assert 'This session will not reopen #2 (%s): opened with options' % path in log.text
    run('close session')
    with LogCapture(session) as log:
        run('open %s' % saved)
    assert [v.name for v in volumes(session)] == ['segmentation.cmap']
    assert 'Session restore: %s was opened with options a ChimeraX session does not keep' \
        % path in log.text, log.text


def test_compat_registers_a_map_file_type_chimerax_opens_by_name(session):
    """session/compat.py register_map_file_type's assumption: ChimeraX's map code looks a
    file type up in chimerax.map_data.fileformats.file_formats and passes ``log`` to an
    open function that names it; a type it knows is left as it is."""
    from chimerax.connectome.session import compat
    from chimerax.map_data import fileformats
    opened = []
    compat.register_map_file_type('connectome-test', 'test', lambda path, log=None:
                                  opened.append((path, log)) or [])
    try:
        assert fileformats.open_file('/x', 'connectome-test', log='L') == []
        assert opened == [('/x', 'L')]
        cmap = fileformats.file_format_by_name('cmap')
        compat.register_map_file_type('cmap', 'not this', lambda path: [])
        assert fileformats.file_format_by_name('cmap') is cmap
    finally:
        fileformats.file_formats[:] = [f for f in fileformats.file_formats
                                       if f.name != 'connectome-test']


def test_a_map_colored_by_a_tile_set_restores_its_colors(session, run, tmp_path):
    """The colouring of a map by a tile-set segmentation comes back with the tile set;
    when the tile set cannot be reopened the colouring is named as lost and the other
    models still come back."""
    from chimerax.connectome.session import compat
    em_path, _ = sf.write_pair(tmp_path)
    labels = sf.volumes()[1]
    tiles = tmp_path / 'segtiles'
    tilesets.write_tiles(tiles, labels, (8, 20, 24))
    (em,) = run('open %s' % em_path)
    (seg,) = run('open %s format tiles voxelSize %s origin %s'
                 % (tiles, ','.join(map(str, sf.STEP)), ','.join(map(str, sf.ORIGIN))))
    rgba = np.full((int(labels.max()) + 1, 4), 255, np.uint8)
    rgba[sf.region_id(0)] = (255, 0, 0, 255)
    compat.set_segmentation_colors(em, seg, rgba)
    saved = tmp_path / 'colored.cxs'
    run('save %s' % saved)
    run('close session')
    run('open %s' % saved)
    em, seg = volumes(session)
    assert compat.coloring_segmentation(em) is seg
    assert np.array_equal(compat.segmentation_rgba(em), rgba)
    run('close session')
    shutil.rmtree(tiles)
    with LogCapture(session) as log:
        run('open %s' % saved)
    assert [v.name for v in volumes(session)] == ['em.cmap']
    assert 'Unable to restore session' not in log.text
    assert 'Session restore: the coloring of #1 (em.cmap) by a segmentation that was not' \
        ' reopened is lost' in log.text, log.text
    assert not compat.has_segmentation_colors(volumes(session)[0])
