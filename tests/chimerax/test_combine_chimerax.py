"""`connectome combine` in real ChimeraX: the map it writes opens with ChimeraX's own
cmap reader, every level is what region display at that step uses, `segmentation colors`
colours the combined image with the combined segmentation, and every bad input is a
UserError that leaves no file."""

import os

import h5py
import numpy as np
import pytest

import tilesets
from chimerax.connectome.formats import cmap as cmapfile

pytestmark = pytest.mark.chimerax

SHAPE = (40, 72, 90)             # z,y,x
TILE = (16, 32, 40)
SKIP = {(2, 1, 1)}               # one tile position absent: needs missing zero
STEPS = [(2, 2, 1), (4, 4, 2)]
VOXEL = '11.24,11.24,28'


@pytest.fixture(scope='module')
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp('tiles')
    seg = tilesets.labels(SHAPE, seed=7, cell=3)
    img = tilesets.image(SHAPE, seed=7)
    tilesets.write_tiles(root / 'segmentation', seg, TILE, chunks=(16, 16, 16), skip=SKIP)
    tilesets.write_tiles(root / 'image', img, TILE, chunks=None, compression=None, skip=SKIP)
    return {'root': root,
            'segmentation': tilesets.stitched(seg, TILE, SKIP),
            'image': tilesets.stitched(img, TILE, SKIP)}


def _combine(run, folder, out, options=''):
    cmd = 'connectome combine %s output %s missing zero voxelSize %s %s %s' % (
        folder, out, VOXEL, ' '.join('subsamples %d,%d,%d' % s for s in STEPS), options)
    return run(cmd)


def test_levels_are_used_by_region_display(session, run, dataset, tmp_path):
    for number, kind in enumerate(('image', 'segmentation'), start=1):
        (v,) = _combine(run, dataset['root'] / kind, tmp_path / (kind + '.cmap'))
        full = dataset[kind]
        method = 'mean' if kind == 'image' else 'mode'
        expect = tilesets.reference_levels(full, STEPS, method)
        assert v.data.size == tuple(reversed(SHAPE))
        assert np.allclose(v.data.step, (11.24, 11.24, 28))
        assert np.array_equal(v.full_matrix(), full)
        for step, level in zip(STEPS, expect[1:]):
            run('volume #%d region all step %d,%d,%d' % ((number,) + step))
            m = v.matrix()
            assert np.array_equal(m, level), step
            # ChimeraX read the stored level, not every Nth full-resolution voxel.
            i, j, k = step
            assert not np.array_equal(m, full[::k, ::j, ::i])
        # A subregion at a level: the matching block of that level.
        run('volume #%d region 10,8,4,69,55,31 step 4,4,2' % number)
        assert np.array_equal(v.matrix(), expect[2][2:16, 2:14, 3:18])


def test_segmentation_colors_the_combined_image(session, run, dataset, tmp_path):
    (img,) = _combine(run, dataset['root'] / 'image', tmp_path / 'image.cmap')
    (seg,) = _combine(run, dataset['root'] / 'segmentation', tmp_path / 'seg.cmap')
    assert seg.data.find_attribute('maximum_segment_id') == dataset['segmentation'].max()

    def no_full_scan(*args, **kw):
        raise AssertionError('segmentation colors read the whole segmentation')
    seg.full_matrix = no_full_scan
    run('segmentation colors #2 map #1')
    assert seg._max_segment_id == dataset['segmentation'].max()
    from chimerax.segment.segment import SegmentationMapColor
    assert isinstance(img.mask_colors, SegmentationMapColor)
    run('volume #1 style image step 2,2,1 region 0,0,10,89,71,10 colorMode auto8; volume #2 hide')
    run('view; lighting flat; camera ortho')
    png = tmp_path / 'colored.png'
    run('save %s width 200 height 160 supersample 1' % png)
    from PIL import Image
    pixels = np.asarray(Image.open(png).convert('RGB')).reshape(-1, 3)
    hues = {tuple(p // 32) for p in pixels if p.max() - p.min() > 40}
    assert len(hues) > 5, 'the plane is not coloured by segment'


def test_layout_matches_chimerax_save(session, run, dataset, tmp_path):
    (ours,) = _combine(run, dataset['root'] / 'segmentation', tmp_path / 'ours.cmap')
    # Our defaults for label maps are blosc:lz4hc level 5 without byte shuffle
    # (ChimeraX's: blosc:lz4 level 5 with shuffle), so the same file from ChimeraX needs
    # them given.
    # ChimeraX saves the region shown; a segmentation opens set to one plane (hidden).
    run('volume #1 region all')
    run('save %s models #1 compress true compressMethod blosc:lz4hc compressShuffle false'
        ' subsamples 2,2,1 subsamples 4,4,2' % (tmp_path / 'theirs.cmap'))
    with h5py.File(tmp_path / 'ours.cmap', 'r') as f, h5py.File(tmp_path / 'theirs.cmap') as t:
        names = []
        t.visit(names.append)
        mine = []
        f.visit(mine.append)
        # Beside ChimeraX's layout, the chunk index (formats/cmap.py CHUNK_INDEX): one
        # 2-d array for each array, which ChimeraX's reader passes by.
        index = cmapfile.CHUNK_INDEX.strip('/')
        assert [n for n in mine if n.split('/')[0] != index] == names
        arrays = [n for n in names if isinstance(t[n], h5py.Dataset)]
        assert arrays and [n for n in mine if isinstance(f[n], h5py.Dataset)
                           and n.startswith(index + '/')] == [index + '/' + n for n in arrays]
        assert all(f[index + '/' + n].ndim == 2 for n in arrays)
        for name in names:
            # color: the display colour ChimeraX saves with a shown map, optional.
            assert set(t[name].attrs) - {'chimera_version', 'color'} <= set(f[name].attrs), name
            for key in set(t[name].attrs) - {'color'}:
                a, b = np.asarray(t[name].attrs[key]), np.asarray(f[name].attrs[key])
                assert a.dtype.kind == b.dtype.kind and a.shape == b.shape, (name, key)
            if isinstance(t[name], h5py.Dataset):
                assert t[name].shape == f[name].shape
                pt, pf = (x[name].id.get_create_plist() for x in (t, f))
                (code, flags, cd, _), = [pt.get_filter(i) for i in range(pt.get_nfilters())]
                (code2, flags2, cd2, _), = [pf.get_filter(i) for i in range(pf.get_nfilters())]
                # Everything but the chunk size: ours are thin blocks and cubes, ChimeraX's slabs.
                assert (code, flags, cd[:3] + cd[4:]) == (code2, flags2, cd2[:3] + cd2[4:])


def test_options_shared_with_save_and_open_false(session, run, dataset, tmp_path):
    out = tmp_path / 'crop.cmap'
    r = run('connectome combine %s output %s missing zero region 5,6,7,84,60,30 subsamples none'
            ' compressMethod zlib compressLevel 3 compressShuffle false chunkShapes zyx'
            ' threads 1 memoryLimit 0.5 open false' % (dataset['root'] / 'segmentation', out))
    assert r.levels == [((1, 1, 1), (80, 55, 24))]
    assert not session.models.list()
    (v,) = run('open %s' % out)
    assert np.array_equal(v.full_matrix(), dataset['segmentation'][7:31, 6:61, 5:85])
    with h5py.File(out, 'r') as f:
        p = f['/Chimera/image1/data_zyx'].id.get_create_plist()
        assert [p.get_filter(i)[0] for i in range(p.get_nfilters())] == [1]     # deflate only


def test_tiles_as_glob_or_files(session, run, dataset, tmp_path):
    folder = dataset['root'] / 'segmentation'
    files = sorted(str(p) for p in folder.iterdir() if p.name.startswith('x0'))
    cmd = 'connectome combine %s output %s open false'
    r = run(cmd % (' '.join(files), tmp_path / 'a.cmap'))
    g = run(cmd % (folder / 'x0*.hdf5', tmp_path / 'b.cmap'))
    assert r.size == g.size == (40, 72, 40) and r.tiles == g.tiles == len(files)
    for name in ('a.cmap', 'b.cmap'):
        with h5py.File(tmp_path / name, 'r') as f:
            assert np.array_equal(f['/Chimera/image1/data_zyx'][...],
                                  dataset['segmentation'][:, :, :40])


# Bad input: a UserError naming the problem, and no file under the output name.

def _broken(root, kind):
    vol = tilesets.labels((20, 20, 20), seed=1)
    folder = root / kind
    paths = tilesets.write_tiles(folder, vol, (10, 10, 10), chunks=(5, 5, 5))
    if kind == 'missing':
        os.remove(paths[(1, 0, 1)])
    elif kind == 'duplicate':
        os.link(paths[(1, 0, 0)], folder / 'x1y00z0.h5')
    elif kind == 'dtype':
        tilesets.rewrite(paths[(1, 1, 1)], vol[10:, 10:, 10:].astype(np.uint16))
    elif kind == 'size':
        tilesets.rewrite(paths[(0, 1, 0)], vol[:10, 10:, :9])
    elif kind == 'truncated':
        tilesets.truncate(paths[(0, 0, 1)], 0.6)
    elif kind == 'no-3d':
        tilesets.rewrite(paths[(0, 0, 1)], vol[0])
    elif kind == 'several':
        with h5py.File(paths[(0, 0, 1)], 'a') as f:
            f['other'] = vol[:2, :2, :2]
    return folder


BAD = {
    'missing': 'connectome combine: 1 tile is missing from the grid: x1y0z1',
    'duplicate': 'connectome combine: two files for grid position x1y0z0:',
    'dtype': 'connectome combine: tile x1y1z1.hdf5 is uint16, the others uint32',
    'size': 'connectome combine: tile x0y1z0.hdf5 is 9 x 10 x 10 voxels',
    'truncated': 'connectome combine: tile x0y0z1.hdf5 is not a readable HDF5 file',
    'no-3d': 'connectome combine: tile x0y0z1.hdf5 has no 3-D dataset',
    'several': 'connectome combine: tile x0y0z1.hdf5 has several 3-D datasets',
}


@pytest.mark.parametrize('kind', sorted(BAD))
def test_bad_tiles(session, run, tmp_path, kind):
    from chimerax.core.errors import UserError
    folder = _broken(tmp_path, kind)
    out = tmp_path / 'out.cmap'
    with pytest.raises(UserError) as e:
        run('connectome combine %s output %s' % (folder, out))
    assert str(e.value).startswith(BAD[kind]), str(e.value)
    assert not out.exists() and sorted(os.listdir(tmp_path)) == [kind]


def test_bad_output(session, run, tmp_path):
    from chimerax.core.errors import UserError
    folder = _broken(tmp_path, 'good')
    out = tmp_path / 'out.cmap'
    out.write_text('old')
    with pytest.raises(UserError, match='connectome combine: output .*out.cmap exists'):
        run('connectome combine %s output %s' % (folder, out))
    tile = folder / 'x0y0z0.hdf5'
    with pytest.raises(UserError, match='connectome combine: output .* is one of the input'):
        run('connectome combine %s output %s replace true' % (folder, tile))
    with pytest.raises(UserError, match='only chunkShapes zyx'):
        run('connectome combine %s output %s chunkShapes yzx replace true' % (folder, out))
    assert out.read_text() == 'old'
    assert sorted(os.listdir(tmp_path)) == ['good', 'out.cmap']


def test_tile_with_another_filter_is_read_and_named_in_the_log(session, run, dataset, tmp_path):
    """One tile stored with Blosc (an HDF5 filter only HDF5 undoes) among deflated ones:
    combine reads it through h5py's filter pipeline, says so in ChimeraX's log, and the
    map ChimeraX opens is the volume, voxel for voxel."""
    import shutil
    import hdf5plugin
    folder = tmp_path / 'mixed'
    shutil.copytree(dataset['root'] / 'segmentation', folder)
    pos = (1, 1, 0)
    tilesets.rewrite(folder / tilesets.tile_name(pos),
                     dataset['segmentation'][tilesets.tile_slices(pos, TILE)],
                     chunks=(16, 16, 16), compression=hdf5plugin.Blosc(cname='lz4'))
    from chimerax.core.logger import StringPlainTextLog
    silent = session.silent         # the test session drops info messages
    session.silent = False
    try:
        with StringPlainTextLog(session.logger) as log:
            (v,) = _combine(run, folder, tmp_path / 'mixed.cmap')
            text = log.getvalue()
    finally:
        session.silent = silent
    assert "x1y1z0.hdf5" in text and 'blosc' in text.lower() and 'filter pipeline' in text
    assert np.array_equal(v.full_matrix(), dataset['segmentation'])
