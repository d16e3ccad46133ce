"""`open FOLDER format tiles`: a tile set as one ChimeraX volume, read region by region
from only the tiles each region needs."""

import numpy as np
import pytest

import tilesets

pytestmark = pytest.mark.chimerax

SHAPE = (30, 40, 50)             # z,y,x
TILE = (10, 20, 25)


@pytest.fixture(scope='module')
def volume():
    return tilesets.labels(SHAPE, seed=11)


def test_open_folder_as_one_volume(session, run, volume, tmp_path):
    tilesets.write_tiles(tmp_path, volume, TILE, chunks=(5, 10, 5), skip={(1, 1, 2)})
    (v,) = run('open %s format tiles missing zero voxelSize 2,3,4 origin 10,20,30' % tmp_path)
    assert v.data.size == (50, 40, 30)
    assert v.data.step == (2, 3, 4) and v.data.origin == (10, 20, 30)
    expect = tilesets.stitched(volume, TILE, {(1, 1, 2)})
    assert np.array_equal(v.full_matrix(), expect)
    run('volume #1 region all step 2')
    assert np.array_equal(v.matrix(), expect[::2, ::2, ::2])


def test_region_reads_only_the_tiles_it_touches(session, run, volume, tmp_path):
    tilesets.write_tiles(tmp_path, volume, TILE, chunks=(5, 10, 5))
    (v,) = run('open %s format tiles' % tmp_path)
    ts = v.data.tileset
    v.data.clear_cache()            # what opening displayed is cached; read afresh
    before = ts.chunks_read
    opened = []
    fd, dataset = ts._raw.fd, ts._handles.dataset          # every read of a tile's bytes
    ts._raw.fd = lambda tile: opened.append(tile.name) or fd(tile)
    ts._handles.dataset = lambda tile: opened.append(tile.name) or dataset(tile)
    run('volume #1 region 26,2,12,48,18,19 step 1')       # x 26-48, y 2-18, z 12-19
    assert np.array_equal(v.matrix(), volume[12:20, 2:19, 26:49])
    assert sorted(set(opened)) == ['x1y0z1.hdf5']
    assert ts.chunks_read - before == 2 * 2 * 5           # z 10-19, y 0-19, x 25-49 chunks


def test_open_options_pattern_first_index_axis_order(session, run, volume, tmp_path):
    tilesets.write_tiles(tmp_path, volume, TILE, pattern='t{X}_{Y}_{Z}', first_index=1,
                         axis_order='xyz', chunks=(5, 5, 5), dataset='em/labels')
    (v,) = run("open %s format tiles pattern 't{X}_{Y}_{Z}' firstIndex 1 axisOrder xyz"
               " dataset em/labels" % tmp_path)
    assert np.array_equal(v.full_matrix(), volume)


def test_bad_tile_set_is_a_user_error(session, run, volume, tmp_path):
    from chimerax.core.errors import UserError
    tilesets.write_tiles(tmp_path, volume, TILE, skip={(0, 1, 1)})
    with pytest.raises(UserError, match='open tiles: 1 tile is missing from the grid: x0y1z1'):
        run('open %s format tiles' % tmp_path)
    assert not session.models.list()
