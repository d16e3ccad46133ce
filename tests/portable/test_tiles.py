"""Tile sets: finding tiles, checking they make one grid, reading any block of the
stitched volume, compared with the numpy volume the tiles were cut from."""

import os
import pickle

import h5py
import hdf5plugin
import numpy as np
import pytest

from chimerax.connectome.formats import tiles
from chimerax.connectome.formats.source import VolumeSource
from chimerax.connectome.errors import InputError

import tilesets

SHAPE = (37, 45, 52)            # z,y,x: tiles of 16,20,24 leave smaller far-edge tiles
TILE = (16, 20, 24)


@pytest.fixture(scope='module')
def volume():
    return tilesets.labels(SHAPE, seed=3)


def _blocks(shape, rng, n=12):
    """Random blocks (start, stop, step) of a z,y,x volume, plus the whole volume."""
    out = [((0, 0, 0), shape, (1, 1, 1))]
    for _ in range(n):
        start = tuple(int(rng.integers(0, s)) for s in shape)
        stop = tuple(int(rng.integers(a + 1, s + 1)) for a, s in zip(start, shape))
        step = tuple(int(rng.integers(1, 4)) for _ in shape)
        out.append((start, stop, step))
    return out


@pytest.mark.parametrize('storage', [
    dict(chunks=(8, 8, 8), compression='gzip'),
    dict(chunks=(8, 16, 8), compression='gzip', shuffle=True),
    dict(chunks=(8, 8, 8), compression=None),
    dict(chunks=None, compression=None),                         # contiguous
    dict(chunks=(8, 8, 8), compression='lzf'),                   # read through h5py
    dict(chunks=(8, 8, 8), compression=hdf5plugin.Blosc(cname='lz4')),
], ids=['gzip', 'gzip-shuffle', 'chunked', 'contiguous', 'lzf', 'blosc'])
def test_read_equals_stitched_volume(tmp_path, volume, storage):
    tilesets.write_tiles(tmp_path, volume, TILE, **storage)
    rng = np.random.default_rng(0)
    with tiles.open_tiles(str(tmp_path)) as ts:
        assert ts.shape == SHAPE and ts.dtype == np.uint32 and ts.tile_shape == TILE
        for start, stop, step in _blocks(SHAPE, rng):
            expect = volume[tuple(slice(a, b, s) for a, b, s in zip(start, stop, step))]
            got = ts.read(start, stop, step)
            assert got.dtype == volume.dtype
            assert np.array_equal(got, expect), (start, stop, step)


def test_missing_tiles_read_as_zero_and_only_when_asked(tmp_path, volume):
    skip = {(1, 0, 0), (2, 2, 1)}
    tilesets.write_tiles(tmp_path, volume, TILE, chunks=(8, 8, 8), skip=skip)
    with pytest.raises(InputError) as e:
        tiles.open_tiles(str(tmp_path))
    assert '2 tiles are missing' in str(e.value)
    assert 'x1y0z0' in str(e.value) and 'x2y2z1' in str(e.value)
    assert 'missing zero' in str(e.value)
    with tiles.open_tiles(str(tmp_path), missing='zero') as ts:
        assert sorted(ts.missing) == sorted(skip)
        assert np.array_equal(ts.read(), tilesets.stitched(volume, TILE, skip))
        s, e = ts.tile_extent((1, 0, 0))
        assert ts.is_empty(s, e) and not ts.is_empty(s, (e[0], e[1], e[2] + 1))


def test_glob_file_list_pattern_and_first_index(tmp_path, volume):
    tilesets.write_tiles(tmp_path / 'a', volume, TILE, pattern='tile_{Z}_{Y}_{X}',
                         first_index=1, suffix='.h5')
    with tiles.open_tiles(str(tmp_path / 'a' / '*.h5'), pattern='tile_{Z}_{Y}_{X}',
                          first_index=1) as ts:
        assert np.array_equal(ts.read(), volume)
    files = sorted(str(p) for p in (tmp_path / 'a').iterdir())
    with tiles.open_tiles(files, pattern='tile_{Z}_{Y}_{X}', first_index=1) as ts:
        assert np.array_equal(ts.read(), volume)
    with pytest.raises(InputError, match='does not match the tile name pattern'):
        tiles.open_tiles(files)
    with pytest.raises(InputError, match='below firstIndex 2'):
        tiles.open_tiles(files, pattern='tile_{Z}_{Y}_{X}', first_index=2)
    with pytest.raises(InputError, match=r'\{X\}, \{Y\} and \{Z\} once each'):
        tiles.open_tiles(files, pattern='tile_{Z}_{Y}')


def test_bounding_grid_starts_at_the_lowest_tile(tmp_path, volume):
    # Only tiles x1.. present: the volume starts one tile width along x.
    skip = {p for p in tilesets.tile_positions(SHAPE, TILE) if p[0] == 0}
    tilesets.write_tiles(tmp_path, volume, TILE, skip=skip)
    with tiles.open_tiles(str(tmp_path)) as ts:
        assert ts.offset == (0, 0, TILE[2])
        assert np.array_equal(ts.read(), volume[:, :, TILE[2]:])


def test_xyz_axis_order(tmp_path, volume):
    tilesets.write_tiles(tmp_path, volume, TILE, chunks=(8, 4, 8), axis_order='xyz')
    with tiles.open_tiles(str(tmp_path), axis_order='xyz') as ts:
        assert ts.shape == SHAPE
        assert np.array_equal(ts.read((3, 4, 5), (30, 40, 50), (2, 1, 3)),
                              volume[3:30:2, 4:40, 5:50:3])


def test_unwritten_chunks_read_as_fill_value(tmp_path):
    path = tmp_path / 'x0y0z0.hdf5'
    with h5py.File(path, 'w') as f:
        d = f.create_dataset('data', (16, 16, 16), np.uint16, chunks=(8, 8, 8),
                             compression='gzip', fillvalue=7)
        d[:8, :8, :8] = 3
    with tiles.open_tiles(str(tmp_path)) as ts:
        a = ts.read()
    assert (a[:8, :8, :8] == 3).all() and (a[8:] == 7).all()


def test_each_tile_chunk_is_inflated_once(tmp_path, volume):
    tilesets.write_tiles(tmp_path, volume, TILE, chunks=(8, 8, 8))
    with tiles.open_tiles(str(tmp_path)) as ts:
        stored = sum(int(np.prod([-(-n // c) for n, c in zip(t.shape, t.chunk_shape)]))
                     for t in ts.tiles.values())
        # Blocks that cut tile chunks: the cache keeps the parts for the next block.
        for z in range(0, SHAPE[0], 5):
            for y in range(0, SHAPE[1], 6):
                for x in range(0, SHAPE[2], 7):
                    ts.read((z, y, x), (min(z + 5, SHAPE[0]), min(y + 6, SHAPE[1]),
                                        min(x + 7, SHAPE[2])))
        assert ts.chunks_read == stored


def test_finding_files(tmp_path):
    empty = tmp_path / 'empty'
    empty.mkdir()
    (empty / 'notes.txt').write_text('x')
    with pytest.raises(InputError, match='has no HDF5 tiles'):
        tiles.find_tile_files(str(empty))
    with pytest.raises(InputError, match='does not exist'):
        tiles.find_tile_files(str(tmp_path / 'nope.hdf5'))
    with pytest.raises(InputError, match='no files match'):
        tiles.find_tile_files(str(tmp_path / '*.hdf5'))


# Bad tile sets: each error names the file and the problem.

def _good(tmp_path, volume, **kw):
    return tilesets.write_tiles(tmp_path, volume, TILE, chunks=(8, 8, 8), **kw)


def test_two_files_for_one_position(tmp_path, volume):
    paths = _good(tmp_path, volume)
    os.link(paths[(1, 0, 0)], tmp_path / 'x01y0z0.h5')
    with pytest.raises(InputError, match=r'two files for grid position x1y0z0: '
                                         r'(x1y0z0.hdf5, x01y0z0.h5|x01y0z0.h5, x1y0z0.hdf5)'):
        tiles.open_tiles(str(tmp_path))


def test_tile_of_another_dtype(tmp_path, volume):
    paths = _good(tmp_path, volume)
    tilesets.rewrite(paths[(2, 1, 1)], np.zeros((16, 20, 4), np.uint16))
    with pytest.raises(InputError) as e:
        tiles.open_tiles(str(tmp_path))
    assert str(e.value) == 'tile x2y1z1.hdf5 is uint16, the others uint32'


def test_tiles_that_do_not_fit_the_grid(tmp_path, volume):
    paths = _good(tmp_path, volume)
    tilesets.rewrite(paths[(1, 1, 0)], np.zeros((16, 20, 23), np.uint32))
    with pytest.raises(InputError, match=r'tile x1y1z0.hdf5 is 23 x 20 x 16 voxels \(x,y,z\),'
                                         r' but interior tiles are 24 along x'):
        tiles.open_tiles(str(tmp_path))
    tilesets.rewrite(paths[(1, 1, 0)], volume[:16, 20:40, 24:48])
    # Far-edge tiles may be smaller, but must agree with each other.
    tilesets.rewrite(paths[(2, 0, 0)], np.zeros((16, 20, 3), np.uint32))
    with pytest.raises(InputError, match=r'tile x2y0z0.hdf5 .* far-edge tiles along x are 4'):
        tiles.open_tiles(str(tmp_path))


def test_unreadable_and_truncated_files(tmp_path, volume):
    paths = _good(tmp_path, volume)
    tilesets.truncate(paths[(1, 2, 0)])
    with pytest.raises(InputError, match=r'tile x1y2z0.hdf5 is not a readable HDF5 file'):
        tiles.open_tiles(str(tmp_path))
    with open(paths[(1, 2, 0)], 'wb') as f:
        f.write(b'not HDF5 at all' * 100)
    with pytest.raises(InputError, match=r'tile x1y2z0.hdf5 is not a readable HDF5 file'):
        tiles.open_tiles(str(tmp_path))


def test_corrupt_chunk_is_reported_when_read(tmp_path, volume):
    paths = _good(tmp_path, volume)
    with h5py.File(paths[(0, 1, 1)], 'r') as f:
        info = f['data'].id.get_chunk_info(3)
    with open(paths[(0, 1, 1)], 'r+b') as f:
        f.seek(info.byte_offset)
        f.write(b'\xff' * info.size)
    with tiles.open_tiles(str(tmp_path)) as ts:
        ts.read((0, 0, 0), (8, 8, 8))
        with pytest.raises(InputError, match=r'tile x0y1z1.hdf5 has a corrupt chunk'):
            ts.read()


def test_dataset_discovery(tmp_path, volume):
    paths = _good(tmp_path, volume)
    with h5py.File(paths[(0, 0, 0)], 'a') as f:
        f.create_dataset('extra/labels', data=np.zeros((2, 2, 2), np.uint32))
        f.create_dataset('notes', data=np.zeros(4))
    with pytest.raises(InputError) as e:
        tiles.open_tiles(str(tmp_path))
    assert str(e.value) == ('tile x0y0z0.hdf5 has several 3-D datasets (/data, /extra/labels);'
                            ' choose one with dataset NAME')
    with tiles.open_tiles(str(tmp_path), dataset='data') as ts:
        assert np.array_equal(ts.read(), volume)
    with pytest.raises(InputError, match='tile x0y0z0.hdf5 has no dataset /missing'):
        tiles.open_tiles(str(tmp_path), dataset='/missing')
    tilesets.rewrite(paths[(0, 0, 0)], np.zeros((4, 4), np.uint32))
    with pytest.raises(InputError, match='tile x0y0z0.hdf5 has no 3-D dataset'):
        tiles.open_tiles(str(tmp_path))


@pytest.mark.parametrize('shuffle', [False, True])
def test_libdeflate_and_zlib_read_the_same_voxels(tmp_path, volume, shuffle):
    tilesets.write_tiles(tmp_path, volume, TILE, chunks=(8, 16, 8), compression='gzip',
                         shuffle=shuffle)
    rng = np.random.default_rng(1)
    with tiles.open_tiles(str(tmp_path)) as fast, \
            tiles.open_tiles(str(tmp_path), inflate='zlib') as slow:
        assert fast.inflate == 'libdeflate' and slow.inflate == 'zlib'
        assert not fast.filtered_tiles()
        for start, stop, step in _blocks(SHAPE, rng, 6):
            expect = volume[tuple(slice(a, b, s) for a, b, s in zip(start, stop, step))]
            assert np.array_equal(fast.read(start, stop, step), expect)
            assert np.array_equal(slow.read(start, stop, step), expect)


def test_chunk_that_inflates_to_the_wrong_size_is_an_error(tmp_path, volume):
    """A deflate stream that is valid but one voxel short: libdeflate is told the exact
    size, so the chunk is refused instead of read with a hole."""
    import zlib
    paths = _good(tmp_path, volume)
    path = paths[(0, 0, 0)]
    with h5py.File(path, 'r') as f:
        d = f['data']
        info = d.id.get_chunk_info(0)
        short = zlib.compress(np.zeros(int(np.prod(d.chunks)) - 1, d.dtype).tobytes())
    assert len(short) <= info.size
    with open(path, 'r+b') as f:
        f.seek(info.byte_offset)
        f.write(short)
    for inflate in tiles.INFLATERS:
        with tiles.open_tiles(str(tmp_path), inflate=inflate) as ts:
            with pytest.raises(InputError, match=r'tile x0y0z0.hdf5 has a corrupt chunk'):
                ts.read((0, 0, 0), (8, 8, 8))


def test_tiles_with_other_filters_are_named(tmp_path, volume):
    paths = tilesets.write_tiles(tmp_path, volume, TILE, chunks=(8, 8, 8), compression='gzip')
    tilesets.rewrite(paths[(1, 0, 0)], volume[tilesets.tile_slices((1, 0, 0), TILE)],
                     chunks=(8, 8, 8), compression='lzf')
    with tiles.open_tiles(str(tmp_path)) as ts:
        (tile,) = ts.filtered_tiles()
        assert tile.name == 'x1y0z0.hdf5' and tile.filter_names() == ['lzf']
        assert np.array_equal(ts.read(), volume)


def test_a_tile_set_is_a_volume_source_its_workers_reopen(tmp_path, volume):
    """What a cluster's worker gets: a picklable, hashable spec that opens the same tile
    set; tiles carry no voxel size or origin."""
    tilesets.write_tiles(tmp_path / 't', volume, TILE, chunks=(8, 8, 8), skip=[(1, 0, 0)])
    with tiles.open_tiles(str(tmp_path / 't'), missing='zero', inflate='zlib') as ts:
        assert isinstance(ts, VolumeSource)
        assert ts.voxel_size is None and ts.origin is None
        spec = pickle.loads(pickle.dumps(ts.worker_spec()))
        assert spec == ts.worker_spec() and hash(spec) == hash(ts.worker_spec())
        assert spec.missing == 'zero' and spec.inflate == 'zlib'
        assert all(os.path.isabs(p) for p in spec.source)
        with spec.open() as again:
            assert again.shape == ts.shape and sorted(again.tiles) == sorted(ts.tiles)
            assert np.array_equal(again.read(), ts.read())
            assert again.worker_spec() == spec
