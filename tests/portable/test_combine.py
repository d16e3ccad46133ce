"""combine: tiles to a multiresolution .cmap, checked voxel for voxel against the volume
the tiles were cut from and the documented downsampling of it; bad input and failures
leave nothing under the output name."""

import os
import subprocess
import sys
import textwrap
import time

import h5py
import hdf5plugin  # noqa: F401  reads the Blosc chunks back
import numpy as np
import pytest

from chimerax.connectome.formats import cmap, tiles
from chimerax.connectome.pipeline import combine
from chimerax.connectome.errors import InputError

import leftovers
import tilesets
from package import REPO

SHAPE = (30, 44, 52)        # z,y,x
TILE = (16, 16, 24)
STEPS = [(2, 2, 1), (4, 4, 2), (8, 8, 4)]


def read_levels(path):
    with h5py.File(path, 'r') as f:
        g = f['/Chimera/image1']
        levels = {(1, 1, 1): g['data_zyx'][...]}
        for name, d in g.items():
            if 'subsample_spacing' in d.attrs:
                levels[tuple(int(s) for s in d.attrs['subsample_spacing'])] = d[...]
        return levels, dict(g.attrs)


def files_in(folder):
    return sorted(os.listdir(folder))


@pytest.fixture(scope='module')
def segmentation():
    return tilesets.labels(SHAPE, seed=5, cell=3)


@pytest.fixture(scope='module')
def image():
    return tilesets.image(SHAPE, seed=5)


@pytest.mark.parametrize('side', [8, 16])    # 16: full resolution in thin chunks
@pytest.mark.parametrize('kind', ['segmentation', 'image'])
def test_levels_equal_documented_downsampling(tmp_path, request, kind, side):
    volume = request.getfixturevalue(kind)
    skip = {(1, 1, 0)}
    tilesets.write_tiles(tmp_path / 't', volume, TILE, chunks=(8, 8, 8), skip=skip)
    full = tilesets.stitched(volume, TILE, skip)
    out = tmp_path / 'out.cmap'
    with tiles.open_tiles(str(tmp_path / 't'), missing='zero') as ts:
        r = combine.combine(ts, str(out), voxel_size=(11.24, 11.24, 28), subsamples=STEPS,
                            chunk_side=side)
    method = 'mode' if kind == 'segmentation' else 'mean'
    assert r.method == method
    levels, attrs = read_levels(out)
    expect = tilesets.reference_levels(full, STEPS, method)
    assert sorted(levels) == [(1, 1, 1)] + STEPS
    for step, e in zip([(1, 1, 1)] + STEPS, expect):
        assert levels[step].dtype == volume.dtype
        assert np.array_equal(levels[step], e), step
    assert np.allclose(attrs['step'], (11.24, 11.24, 28))
    if kind == 'segmentation':
        assert attrs['maximum_segment_id'] == full.max()
    # Each chunk is compressed and written once, whole.
    with h5py.File(out, 'r') as f:
        stored = sum(d.id.get_num_chunks() for d in f['/Chimera/image1'].values())
    assert r.chunks_written == stored
    assert files_in(tmp_path) == ['out.cmap', 't']


def chunk_shapes(path):
    with h5py.File(path, 'r') as f:
        g = f['/Chimera/image1']
        return [g['data_zyx'].chunks] + [
            g['data_zyx_%d_%d_%d' % s].chunks for s in sorted(
                (tuple(int(v) for v in d.attrs['subsample_spacing']) for d in g.values()
                 if 'subsample_spacing' in d.attrs), key=lambda s: s[0] * s[1] * s[2])]


@pytest.mark.parametrize('dtype, side, depth, width', [
    (np.uint32, 64, cmap.PLANE_DEPTH, 128), (np.uint8, 128, cmap.IMAGE_PLANE_DEPTH, 256)])
def test_default_layout_thin_full_resolution_cubes_above(tmp_path, dtype, side, depth, width):
    # The default chunk side and plane depth: the full resolution in chunks 4 planes
    # thin and two 64^3 blocks wide (labels) or 1 plane and two 128^3 blocks wide (an
    # image, uint8), every subsampled level in cubes (clipped to the level).
    a = tilesets.labels((80, 200, 300), seed=3, cell=9).astype(dtype)
    tilesets.write_tiles(tmp_path / 't', a, (80, 200, 300), chunks=(16, 64, 64))
    with tiles.open_tiles(str(tmp_path / 't')) as ts:
        r = combine.combine(ts, str(tmp_path / 'out.cmap'), subsamples=[(2, 2, 1), (4, 4, 2)])
    shapes = chunk_shapes(tmp_path / 'out.cmap')
    assert r.chunk_side == side
    assert (cmap.PLANE_DEPTH, cmap.IMAGE_PLANE_DEPTH) == (4, 1)
    assert shapes[0] == (depth, min(width, 200), min(width, 300))
    assert shapes[1:] == [(min(side, 80), min(side, 100), min(side, 150)),
                          (min(side, 40), min(side, 50), min(side, 75))]
    assert [tuple(c) for c in r.chunk_shapes] == shapes
    levels, _ = read_levels(tmp_path / 'out.cmap')
    assert np.array_equal(levels[(1, 1, 1)], a)


def test_plane_depth_none_writes_cubes(tmp_path, segmentation):
    tilesets.write_tiles(tmp_path / 't', segmentation, TILE, chunks=(8, 8, 8))
    with tiles.open_tiles(str(tmp_path / 't')) as ts:
        thin = combine.combine(ts, str(tmp_path / 'thin.cmap'), subsamples=STEPS,
                               chunk_side=16)
        cubes = combine.combine(ts, str(tmp_path / 'cubes.cmap'), subsamples=STEPS,
                                chunk_side=16, plane_depth=None)
    assert chunk_shapes(tmp_path / 'thin.cmap')[0] == (4, 32, 32)
    assert chunk_shapes(tmp_path / 'cubes.cmap')[0] == (16, 16, 16)
    assert chunk_shapes(tmp_path / 'thin.cmap')[1:] == chunk_shapes(tmp_path / 'cubes.cmap')[1:]
    # z 30 = 16 + 14: the last block holds one whole thin chunk and one cut by the edge.
    assert thin.chunks_written > cubes.chunks_written
    for step, level in read_levels(tmp_path / 'thin.cmap')[0].items():
        assert np.array_equal(level, read_levels(tmp_path / 'cubes.cmap')[0][step]), step


def test_uint16_segmentation_gets_a_mode_pyramid_by_default(tmp_path):
    """A uint16 segmentation is region ids: averaging them would invent regions."""
    volume = tilesets.labels(SHAPE, seed=9, cell=3)
    _, volume = np.unique(volume, return_inverse=True)
    volume = (volume.reshape(SHAPE) * 7 + 1000).astype(np.uint16)   # ids up to ~50,000
    tilesets.write_tiles(tmp_path / 't', volume, TILE, chunks=(8, 8, 8))
    with tiles.open_tiles(str(tmp_path / 't')) as ts:
        r = combine.combine(ts, str(tmp_path / 'out.cmap'), subsamples=STEPS, chunk_side=8)
    assert r.method == 'mode'
    levels, attrs = read_levels(tmp_path / 'out.cmap')
    for step, e in zip([(1, 1, 1)] + STEPS, tilesets.reference_levels(volume, STEPS, 'mode')):
        assert levels[step].dtype == np.uint16
        assert np.array_equal(levels[step], e), step
    # Every value of every level is a region id of the full-resolution volume.
    assert set(np.unique(levels[STEPS[-1]])) <= set(np.unique(volume))
    assert attrs['maximum_segment_id'] == volume.max()


def test_stride_reproduces_chimerax_and_threads_do_not_matter(tmp_path, segmentation):
    tilesets.write_tiles(tmp_path / 't', segmentation, TILE, chunks=(8, 8, 8))
    results = []
    for threads in (1, 3):
        out = tmp_path / ('t%d.cmap' % threads)
        with tiles.open_tiles(str(tmp_path / 't')) as ts:
            combine.combine(ts, str(out), subsamples=STEPS, downsample='stride', chunk_side=8,
                            threads=threads)
        results.append(read_levels(out)[0])
    for step in [(1, 1, 1)] + STEPS:
        i, j, k = step
        assert np.array_equal(results[0][step], segmentation[::k, ::j, ::i])
        assert np.array_equal(results[1][step], results[0][step])


def test_region_crop_origin_and_tile_chunks_inflated_once(tmp_path, segmentation):
    tilesets.write_tiles(tmp_path / 't', segmentation, TILE, chunks=(8, 8, 8))
    out = tmp_path / 'r.cmap'
    region = (5, 3, 1, 50, 40, 26)          # i1,j1,k1,i2,j2,k2: cuts tiles and tile chunks
    with tiles.open_tiles(str(tmp_path / 't')) as ts:
        r = combine.combine(ts, str(out), region=region, voxel_size=(2, 3, 4),
                            subsamples=[(2, 2, 2)], chunk_side=8)
        # The chunks the region touches, each inflated once although output chunks
        # straddle them.
        touched = 0
        for pos, t in ts.tiles.items():
            t0, t1 = ts.tile_extent(pos)
            lo = [max(a, b) - a for a, b in zip(t0, (1, 3, 5))]
            hi = [min(a, b) - c for a, b, c in zip(t1, (27, 41, 51), t0)]
            if all(h > l for l, h in zip(lo, hi)):
                touched += int(np.prod([(h - 1) // c - l // c + 1
                                        for l, h, c in zip(lo, hi, t.chunk_shape)]))
        assert r.tile_chunks_read == touched
    levels, attrs = read_levels(out)
    crop = segmentation[1:27, 3:41, 5:51]
    assert np.array_equal(levels[(1, 1, 1)], crop)
    assert np.array_equal(levels[(2, 2, 2)], tilesets.reference_mode(crop, (2, 2, 2)))
    assert tuple(attrs['origin']) == (10, 9, 4)
    assert r.size == (46, 38, 26)


def test_missing_tiles_write_no_chunks(tmp_path, segmentation):
    skip = {(0, 0, 0), (1, 0, 0)}
    tilesets.write_tiles(tmp_path / 't', segmentation, TILE, chunks=(8, 8, 8), skip=skip)
    out = tmp_path / 'm.cmap'
    with tiles.open_tiles(str(tmp_path / 't'), missing='zero') as ts:
        combine.combine(ts, str(out), subsamples='none', chunk_side=8)
    with h5py.File(out, 'r') as f:
        d = f['/Chimera/image1/data_zyx']
        written = []
        d.id.chunk_iter(lambda info: written.append(info.chunk_offset))
        assert list(f['/Chimera/image1']) == ['data_zyx']
        assert np.array_equal(d[...], tilesets.stitched(segmentation, TILE, skip))
    # Tiles x0y0z0 and x1y0z0 cover z 0-15, y 0-15, x 0-47: no chunk starts inside.
    assert written and not [c for c in written if c[0] < 16 and c[1] < 16 and c[2] < 48]


def test_subsamples_follow_chimerax_save(tmp_path):
    volume = tilesets.labels((64, 128, 256), seed=1, cell=8)
    tilesets.write_tiles(tmp_path / 't', volume, (64, 64, 64), chunks=(32, 32, 32))
    with tiles.open_tiles(str(tmp_path / 't')) as ts:
        # Given steps are followed by doubled ones while a level has 2^17 voxels or more.
        r = combine.combine(ts, str(tmp_path / 'a.cmap'), subsamples=[(2, 1, 1)])
        assert [s for s, _ in r.levels] == [(1, 1, 1), (2, 1, 1), (4, 2, 2)]
        r = combine.combine(ts, str(tmp_path / 'b.cmap'), voxel_size=(1, 1, 4))
        assert [s for s, _ in r.levels] == [(1, 1, 1), (2, 2, 1), (4, 4, 1)]
        r = combine.combine(ts, str(tmp_path / 'c.cmap'), subsamples=[(3, 3, 3)])
        assert r.chunk_side % 3 == 0
        levels, _ = read_levels(tmp_path / 'c.cmap')
        assert np.array_equal(levels[(3, 3, 3)], tilesets.reference_mode(volume, (3, 3, 3)))
        r = combine.combine(ts, str(tmp_path / 'd.cmap'), subsamples='none')
        assert [s for s, _ in r.levels] == [(1, 1, 1)]
        with pytest.raises(InputError, match='not a multiple'):
            combine.combine(ts, str(tmp_path / 'e.cmap'), subsamples=[(2, 2, 2), (3, 3, 3)])
    assert files_in(tmp_path) == ['a.cmap', 'b.cmap', 'c.cmap', 'd.cmap', 't']


def test_memory_does_not_grow_with_the_volume(tmp_path, monkeypatch):
    import tracemalloc
    # The writer keeps thin chunks up to a fixed WRITE_BUFFER_BYTES (32 MB) to store them
    # in plane order: more than this test's whole compressed volume, so made small here.
    monkeypatch.setattr(cmap, 'WRITE_BUFFER_BYTES', 2 ** 16)
    volume = tilesets.labels((64, 256, 256), seed=2, cell=8)
    tilesets.write_tiles(tmp_path / 't', volume, (32, 64, 64), chunks=(16, 16, 16))
    peaks = []
    for region in ((0, 0, 0, 127, 127, 63), None):       # a quarter, then the whole
        with tiles.open_tiles(str(tmp_path / 't')) as ts:
            tracemalloc.start()
            combine.combine(ts, str(tmp_path / 'm.cmap'), region=region, replace=True,
                            chunk_side=16, subsamples=[(2, 2, 2)])
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    # numpy reports its buffers to tracemalloc.  Held at once: a few chunks per level and
    # the tasks in flight (how many finish together varies run to run), not 4x more for
    # a volume 4x larger, and far less than the volume.
    assert peaks[1] < 2 * peaks[0] and peaks[1] < volume.nbytes / 16, peaks


def test_progress_reports_tiles_rate_and_time_left(tmp_path, segmentation):
    tilesets.write_tiles(tmp_path / 't', segmentation, TILE, chunks=(8, 8, 8))
    lines = []
    with tiles.open_tiles(str(tmp_path / 't')) as ts:
        ts_count = len(ts.tiles)
        combine.combine(ts, str(tmp_path / 'p.cmap'), chunk_side=8,
                        report=lambda m, final: lines.append((m, final)))
    assert lines[0][0].startswith('combine p.cmap: ') and 'tiles' in lines[0][0]
    assert not lines[0][1] and lines[-1][1]
    assert lines[-1][0].startswith('Combined %d tiles into p.cmap' % ts_count)


# Bad output names and failures: an error, and nothing under the output name.

def test_output_checks(tmp_path, segmentation):
    paths = tilesets.write_tiles(tmp_path / 't', segmentation, TILE)
    (tmp_path / 'old.cmap').write_text('keep me')
    with tiles.open_tiles(str(tmp_path / 't')) as ts:
        with pytest.raises(InputError, match='exists .use replace true'):
            combine.combine(ts, str(tmp_path / 'old.cmap'))
        with pytest.raises(InputError, match='is one of the input tiles'):
            combine.combine(ts, paths[(0, 0, 0)], replace=True)
        with pytest.raises(InputError, match='must end in .cmap'):
            combine.combine(ts, str(tmp_path / 'out.h5'))
        with pytest.raises(InputError, match='folder .* does not exist'):
            combine.combine(ts, str(tmp_path / 'no' / 'out.cmap'))
        with pytest.raises(InputError, match='region'):
            combine.combine(ts, str(tmp_path / 'out.cmap'), region=(0, 0, 0, 52, 43, 29))
        with pytest.raises(InputError, match='memoryLimit'):
            combine.combine(ts, str(tmp_path / 'out.cmap'), memory_limit=0.001)
    assert (tmp_path / 'old.cmap').read_text() == 'keep me'
    assert files_in(tmp_path) == ['old.cmap', 't']


def test_failure_midway_keeps_old_output_and_leaves_no_partial_file(tmp_path, segmentation):
    paths = tilesets.write_tiles(tmp_path / 't', segmentation, TILE, chunks=(8, 8, 8))
    with h5py.File(paths[(2, 2, 1)], 'r') as f:
        info = f['data'].id.get_chunk_info(0)
    with open(paths[(2, 2, 1)], 'r+b') as f:
        f.seek(info.byte_offset)
        f.write(b'\0' * info.size)
    (tmp_path / 'out.cmap').write_text('previous result')
    with tiles.open_tiles(str(tmp_path / 't')) as ts:
        with pytest.raises(InputError, match='tile x2y2z1.hdf5 has a corrupt chunk'):
            combine.combine(ts, str(tmp_path / 'out.cmap'), replace=True, chunk_side=8)
    assert (tmp_path / 'out.cmap').read_text() == 'previous result'
    assert files_in(tmp_path) == ['out.cmap', 't']


def test_interrupted_run_leaves_nothing(tmp_path, segmentation):
    tilesets.write_tiles(tmp_path / 't', segmentation, TILE, chunks=(8, 8, 8))

    def interrupt(message, final):
        raise KeyboardInterrupt

    with tiles.open_tiles(str(tmp_path / 't')) as ts:
        with pytest.raises(KeyboardInterrupt):
            combine.combine(ts, str(tmp_path / 'out.cmap'), chunk_side=8, report=interrupt)
    assert files_in(tmp_path) == ['t']



# Files beside the output that this bundle did not make are never written or deleted.

def dead_pid():
    p = subprocess.Popen(['true'])
    p.wait()
    return p.pid


@pytest.mark.parametrize('link', ['symbolic', 'hard'])
def test_a_lock_file_that_is_a_link_is_refused_and_its_target_kept(tmp_path, segmentation,
                                                                   link):
    tilesets.write_tiles(tmp_path / 't', segmentation, TILE, chunks=(8, 8, 8))
    notes = tmp_path / 'notes.txt'
    notes.write_text('my notes')
    (os.symlink if link == 'symbolic' else os.link)(notes, tmp_path / '.out.cmap.lock')
    with tiles.open_tiles(str(tmp_path / 't')) as ts:
        with pytest.raises(InputError, match=r'\.out\.cmap\.lock'):
            combine.combine(ts, str(tmp_path / 'out.cmap'), chunk_side=8)
    assert notes.read_text() == 'my notes'
    assert files_in(tmp_path) == ['.out.cmap.lock', 'notes.txt', 't']


def test_a_link_at_the_temporary_name_is_not_followed(tmp_path, segmentation, monkeypatch):
    tilesets.write_tiles(tmp_path / 't', segmentation, TILE, chunks=(8, 8, 8))
    notes = tmp_path / 'notes.txt'
    notes.write_text('my notes')
    # The temporary name is made of the process id and a clock: planted where it will be.
    monkeypatch.setattr(time, 'monotonic_ns', lambda: 7)
    link = tmp_path / ('.out.cmap.%d.7.part' % os.getpid())
    os.symlink(notes, link)
    with tiles.open_tiles(str(tmp_path / 't')) as ts:
        combine.combine(ts, str(tmp_path / 'out.cmap'), chunk_side=8)
    assert notes.read_text() == 'my notes'
    assert os.path.islink(link)
    assert np.array_equal(read_levels(tmp_path / 'out.cmap')[0][(1, 1, 1)], segmentation)
    assert files_in(tmp_path) == [link.name, 'notes.txt', 'out.cmap', 't']


def test_names_like_a_leftover_are_kept(tmp_path, segmentation):
    """Only what a run of this bundle made and recorded is cleared, never a user's file
    or folder that looks like it."""
    tilesets.write_tiles(tmp_path / 't', segmentation, TILE, chunks=(8, 8, 8))
    dead = dead_pid()
    mine = ['.out.cmap.2019.backup', '.out.cmap.%d.backup' % dead]
    for name in mine:
        (tmp_path / name).mkdir()
        (tmp_path / name / 'notes.txt').write_text('mine')
    for name in ('.out.cmap.%d.part' % dead, '.out.cmap.%d.5.part' % dead):
        (tmp_path / name).write_text('mine')
        mine.append(name)
    lines = []
    with tiles.open_tiles(str(tmp_path / 't')) as ts:
        combine.combine(ts, str(tmp_path / 'out.cmap'), chunk_side=8,
                        report=lambda message, final: lines.append(message))
    assert not [m for m in lines if m.startswith('Removed')]
    assert files_in(tmp_path) == sorted(mine + ['out.cmap', 't'])

DISK_FULL = textwrap.dedent('''
    import resource, signal, sys
    sys.path.insert(0, %r)
    import package
    package.import_from_source()
    from chimerax.connectome.formats import tiles
    from chimerax.connectome.pipeline import combine
    from chimerax.connectome.errors import InputError
    # Past this size the kernel refuses writes (EFBIG), as a full disk refuses them (ENOSPC).
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200000, 200000))
    try:
        with tiles.open_tiles(sys.argv[1]) as ts:
            combine.combine(ts, sys.argv[2], chunk_side=16, compress=False)
    except InputError as e:
        print('InputError:', e)
''')



def test_disk_full_during_write(tmp_path, segmentation):
    tilesets.write_tiles(tmp_path / 't', segmentation, TILE)
    script = tmp_path / 'full.py'
    script.write_text(DISK_FULL % os.path.join(REPO, 'tests', 'common'))
    out = tmp_path / 'out.cmap'
    p = subprocess.run([sys.executable, str(script), str(tmp_path / 't'), str(out)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert 'InputError: writing %s failed: File too large' % out in p.stdout
    assert files_in(tmp_path) == ['full.py', 't']


# The fast paths (libdeflate, tinybrain) against today's (zlib, numpy modes), a tile only
# HDF5 can read, partial edge tiles, and the shuffle default.

def _blosc_settings(path, which):
    """A setting of every stored array's Blosc filter: cd_values[which] (4 the level, 5
    the shuffle flag, 6 the compressor's code)."""
    with h5py.File(path, 'r') as f:
        flags = set()
        for d in f['/Chimera/image1'].values():
            p = d.id.get_create_plist()
            assert p.get_filter(0)[0] == 32001
            flags.add(p.get_filter(0)[2][which])
        return flags


def _blosc_shuffle(path):
    return _blosc_settings(path, 5)


def test_fast_and_todays_paths_write_the_same_levels_with_a_filtered_tile(tmp_path):
    """Tiles stored every way the authors' and others' are: deflate, deflate + shuffle and
    one LZF tile (read through h5py's filter pipeline, and said so), far-edge tiles
    smaller; 2x2x1 then 2x2x2 steps.  Both paths give the documented levels exactly, and
    every value of every level is a region id present at full resolution."""
    shape = (37, 45, 53)                                    # partial tiles and blocks
    volume = tilesets.labels(shape, seed=11, cell=3, zero_fraction=0.2)
    tile = (16, 20, 24)
    paths = tilesets.write_tiles(tmp_path / 't', volume, tile, chunks=(8, 8, 8),
                                 compression='gzip')
    tilesets.rewrite(paths[(1, 1, 1)], volume[tilesets.tile_slices((1, 1, 1), tile)],
                     chunks=(8, 8, 8), compression='gzip', shuffle=True)
    tilesets.rewrite(paths[(2, 0, 1)], volume[tilesets.tile_slices((2, 0, 1), tile)],
                     chunks=(8, 8, 4), compression='lzf')           # a far-edge tile
    steps = [(2, 2, 1), (4, 4, 2), (8, 8, 4)]
    expect = tilesets.reference_levels(volume, steps, 'mode')
    ids = set(np.unique(volume))
    for inflate, library in (('libdeflate', 'fast'), ('zlib', 'numpy')):
        out = tmp_path / ('%s.cmap' % inflate)
        lines = []
        with tiles.open_tiles(str(tmp_path / 't'), inflate=inflate) as ts:
            r = combine.combine(ts, str(out), subsamples=steps, chunk_side=8,
                                mode_library=library, threads=2,
                                report=lambda m, final: lines.append(m))
        notes = [m for m in lines if 'filter' in m]
        assert len(notes) == 1 and 'x2y0z1.hdf5' in notes[0] and 'lzf' in notes[0]
        levels, attrs = read_levels(out)
        for step, e in zip([(1, 1, 1)] + steps, expect):
            assert np.array_equal(levels[step], e), (inflate, step)
            assert set(np.unique(levels[step])) <= ids
        assert attrs['maximum_segment_id'] == volume.max()
        assert r.compress_shuffle is False and _blosc_shuffle(out) == {0}


def test_shuffle_is_off_for_labels_and_on_for_images_unless_asked(tmp_path, segmentation,
                                                                 image):
    for kind, volume, default in (('labels', segmentation, 0), ('image', image, 1)):
        tilesets.write_tiles(tmp_path / kind, volume, TILE, chunks=(8, 8, 8))
        for shuffle, flag in ((None, default), (True, 1), (False, 0)):
            out = tmp_path / ('%s-%s.cmap' % (kind, shuffle))
            with tiles.open_tiles(str(tmp_path / kind)) as ts:
                combine.combine(ts, str(out), chunk_side=8, compress_shuffle=shuffle)
            assert _blosc_shuffle(out) == {flag}, (kind, shuffle)
            assert np.array_equal(read_levels(out)[0][(1, 1, 1)], volume)


def test_default_compression_is_lz4hc_for_labels_lz4_for_images_level_5(tmp_path,
                                                                      segmentation, image):
    zstd, lz4hc, lz4 = 5, 2, 1                  # Blosc's compressor codes
    for kind, volume, default in (('labels', segmentation, 'blosc:lz4hc'),
                                  ('image', image, 'blosc:lz4')):
        tilesets.write_tiles(tmp_path / kind, volume, TILE, chunks=(8, 8, 8))
        codes = {'blosc:lz4hc': lz4hc, 'blosc:lz4': lz4, 'blosc:zstd': zstd}
        for method, level in ((None, None), ('blosc:zstd', None), ('blosc:zstd', 2),
                              ('blosc:lz4hc', 1)):
            out = tmp_path / ('%s-%s-%s.cmap' % (kind, method, level))
            options = {} if method is None else {'compress_method': method}
            if level is not None:
                options['compress_level'] = level
            with tiles.open_tiles(str(tmp_path / kind)) as ts:
                r = combine.combine(ts, str(out), chunk_side=8, **options)
            expect = (codes[method or default], level or 5)
            assert (_blosc_settings(out, 6), _blosc_settings(out, 4)) == \
                ({expect[0]}, {expect[1]}), (kind, method, level)
            # Shuffle is on for the image but means nothing for its bytes: not named.
            assert r.compression == '%s level %d' % (method or default, expect[1])
            assert r.compression in r.summary()
            assert np.array_equal(read_levels(out)[0][(1, 1, 1)], volume)


def test_leftover_removal_keeps_the_map_name(tmp_path, segmentation):
    """Clearing a killed run's partial file must not rename the map after it."""
    tilesets.write_tiles(tmp_path / 't', segmentation, TILE, chunks=(8, 8, 8))
    pid, part = leftovers.killed_run(tmp_path / 'out.cmap')
    lines = []
    with tiles.open_tiles(str(tmp_path / 't')) as ts:
        combine.combine(ts, str(tmp_path / 'out.cmap'), chunk_side=8,
                        report=lambda message, final: lines.append(message))
    assert any(m.startswith('Removed %s, left in %s by process %d' % (part, tmp_path, pid))
               for m in lines)
    _, attrs = read_levels(tmp_path / 'out.cmap')
    assert attrs['name'] == b't'
    assert files_in(tmp_path) == ['out.cmap', 't']


@pytest.mark.parametrize('steps, full', [([(2, 2, 1), (4, 4, 2)], (4, 32, 32)),
                                         ([(2, 2, 2)], (4, 32, 32)),
                                         ([(1, 1, 2), (2, 2, 4)], (8, 16, 16))])
def test_wide_blocks_where_the_first_step_allows_them(tmp_path, steps, full):
    # Blocks two cubes wide at full resolution where the first step halves y and x
    # (each wide block's piece is one chunk above); cubes and 8-plane chunks where it
    # does not.  Every level's voxels are those of the cubic layout, mode downsampling
    # included (label safety: every id above comes from the voxels below it).
    a = tilesets.labels((40, 70, 90), seed=6, cell=5)
    tilesets.write_tiles(tmp_path / 't', a, (40, 70, 90), chunks=(16, 16, 16))
    with tiles.open_tiles(str(tmp_path / 't')) as ts:
        wide = combine.combine(ts, str(tmp_path / 'wide.cmap'), subsamples=steps,
                               chunk_side=16)
        cubes = combine.combine(ts, str(tmp_path / 'cubes.cmap'), subsamples=steps,
                                chunk_side=16, plane_depth=None)
    assert chunk_shapes(tmp_path / 'wide.cmap')[0] == full == tuple(wide.chunk_shapes[0])
    assert chunk_shapes(tmp_path / 'cubes.cmap')[0] == (16, 16, 16)
    got, want = read_levels(tmp_path / 'wide.cmap')[0], read_levels(tmp_path / 'cubes.cmap')[0]
    assert got.keys() == want.keys() and len(got) == len(steps) + 1
    assert np.array_equal(got[(1, 1, 1)], a)
    for step in got:
        assert np.array_equal(got[step], want[step]), step
        assert set(np.unique(got[step])) <= set(np.unique(a)), step


def test_memory_plan_keeps_tasks_in_flight_within_the_budget():
    # Many threads and wide blocks: fewer tasks in flight, never an error, while the
    # budget allows four.
    class Source:
        dtype = np.dtype(np.uint32)
        chunk_shape = (64, 64, 64)
    budget = 10 ** 9
    plan = combine.memory_plan(budget, 64, Source(), 6, 64, leaf_voxels=64 * 128 * 128)
    per_task = 4 * 64 * 128 * 128 * 4 + 2 * 64 ** 3 * 4
    assert 4 <= plan.window < 2 * 64 and plan.fixed <= budget
    assert plan.window * per_task <= budget * 3 // 4
    assert combine.memory_plan(budget, 64, Source(), 6, 2).window == 4
    with pytest.raises(InputError, match='too small'):
        combine.memory_plan(4 * per_task, 64, Source(), 6, 2, leaf_voxels=64 * 128 * 128)
