"""The promises under attack (issue 12's adversarial cases): bad tiles, bad options, full
and read-only disks, leftovers of killed runs, huge region ids, names ChimeraX would
shadow, Ctrl-C.  Each case ends in a UserError that names the problem, or in a correct
result; never a traceback, a crash, a changed input or a file under the final name."""

import contextlib
import hashlib
import os
import subprocess

import h5py
import hdf5plugin  # noqa: F401  (Blosc chunks)
import numpy as np
import pytest

import leftovers
import segfixtures as sf
import tilesets
from cxrun import ctrl_c_at_pause, headless
from segfixtures import LogCapture, pair  # noqa: F401  (fixture)

SHAPE = (24, 32, 40)
TILE = (12, 16, 20)


def digest(folder):
    h = hashlib.sha256()
    for root, dirs, files in sorted(os.walk(folder)):
        for f in sorted(files):
            with open(os.path.join(root, f), 'rb') as fh:
                h.update(f.encode() + fh.read())
    return h.hexdigest()


@pytest.fixture(scope='module')
def volume():
    return tilesets.labels(SHAPE, seed=4, cell=4)


@pytest.fixture
def tiles(tmp_path, volume):
    tilesets.write_tiles(tmp_path / 't', volume, TILE, chunks=(6, 8, 10))
    return tmp_path / 't'


def user_error(run, command, words):
    from chimerax.core.errors import UserError
    with pytest.raises(UserError) as e:
        run(command)
    assert words in str(e.value), str(e.value)
    return str(e.value)


# --- tiles that are not map data, or damaged ---------------------------------------

@pytest.mark.parametrize('kind', ['complex', 'compound', 'text', 'bool'])
def test_tiles_that_are_not_map_data(session, run, tmp_path, kind):
    values = {'complex': np.ones((4, 4, 4), np.complex64),
              'compound': np.zeros((4, 4, 4), [('a', 'i4'), ('b', 'f4')]),
              'text': np.full((4, 4, 4), b'ab', 'S2'),
              'bool': np.ones((4, 4, 4), bool)}[kind]
    (tmp_path / 't').mkdir()
    with h5py.File(tmp_path / 't' / 'x0y0z0.hdf5', 'w') as f:
        f['data'] = values
    for command in ('connectome combine %s output %s open false' % (tmp_path / 't',
                                                                     tmp_path / 'o.cmap'),
                    'open %s format tiles' % (tmp_path / 't')):
        user_error(run, command, 'tile x0y0z0.hdf5 holds')
    assert sorted(os.listdir(tmp_path)) == ['t']


def test_float16_tiles_are_read_as_float32(session, run, tmp_path):
    a = (np.random.default_rng(1).random((8, 10, 12)) * 100).astype(np.float16)
    tilesets.write_tiles(tmp_path / 't', a, (8, 10, 6), chunks=(4, 5, 3))
    (v,) = run('open %s format tiles' % (tmp_path / 't'))
    assert v.data.value_type == np.float32
    assert np.array_equal(v.full_matrix(), a.astype(np.float32))
    (m,) = run('connectome combine %s output %s' % (tmp_path / 't', tmp_path / 'o.cmap'))
    assert m.data.value_type == np.float32
    assert np.array_equal(m.full_matrix(), a.astype(np.float32))


def test_damaged_tile_metadata_is_a_user_error(session, run, tiles, tmp_path):
    """Byte damage in the HDF5 metadata of one tile (its object headers and symbol
    table, not its chunks): the tile is named, nothing is written."""
    victim = tiles / 'x1y1z1.hdf5'
    data = bytearray(victim.read_bytes())
    with h5py.File(victim, 'r') as f:
        first_chunk = min(f['data'].id.get_chunk_info(i).byte_offset
                          for i in range(f['data'].id.get_num_chunks()))
    rng = np.random.default_rng(0)
    for at in rng.integers(96, min(first_chunk, 2048), 40):
        data[at] ^= 0xFF
    victim.write_bytes(bytes(data))
    before = digest(tiles)
    user_error(run, 'connectome combine %s output %s open false' % (tiles, tmp_path / 'o.cmap'),
               'x1y1z1.hdf5')
    assert digest(tiles) == before and sorted(os.listdir(tmp_path)) == ['t']


# --- options out of range -----------------------------------------------------------

@pytest.mark.parametrize('option, words', [
    ('subsamples 1,1,1', 'subsample step 1,1,1 is the full resolution'),
    ('subsamples 2,2,1 subsamples 2,2,1', 'subsample step 2,2,1 is the step before it'),
    ('voxelSize 0', 'voxelSize must be positive and finite'),
    ('voxelSize -1', 'voxelSize must be positive and finite'),
    ('voxelSize nan', 'voxelSize must be positive and finite'),
    ('voxelSize 1,inf,1', 'voxelSize must be positive and finite'),
    ('origin nan', 'origin must be finite'),
    ('origin 0,0,-inf', 'origin must be finite'),
])
def test_bad_options_are_refused_before_any_work(session, run, tiles, tmp_path, option, words):
    user_error(run, 'connectome combine %s output %s %s open false'
               % (tiles, tmp_path / 'o.cmap', option), words)
    assert sorted(os.listdir(tmp_path)) == ['t']
    if option.startswith(('voxelSize', 'origin')):
        user_error(run, 'open %s format tiles %s' % (tiles, option), words)


def test_output_folder_is_refused_first_even_with_replace(session, run, tiles, tmp_path,
                                                         monkeypatch):
    (tmp_path / 'o.cmap').mkdir()
    from chimerax.connectome.formats import tiles as tiles_module
    monkeypatch.setattr(tiles_module.TileSet, 'read', None)     # any reading would fail
    user_error(run, 'connectome combine %s output %s replace true' % (tiles, tmp_path / 'o.cmap'),
               'output %s is a folder' % (tmp_path / 'o.cmap'))
    assert os.listdir(tmp_path / 'o.cmap') == []


def test_connectome_at_a_point_that_is_not_finite(session, run, pair):
    sf.open_pair(run, pair)
    for point in ('nan,nan,nan', 'inf,0,0', '0,-inf,1'):
        user_error(run, 'connectome at %s' % point, 'the point must be finite')


@pytest.mark.parametrize('where, words', [
    ('axon=99999999999999999999', 'no axon has id 99999999999999999999'),
    ('axon=1-99999999999', 'no axon has id 99999999999'),
    ('axon=5-2', 'range 5-2 is reversed; write 2-5'),
    ('axon=0', 'axon ids start at 1'),
    ('axon=12,x', "'x' is not an id"),
])
def test_surfaces_where_ids_are_checked(session, run, pair, where, words):
    sf.open_pair(run, pair)
    user_error(run, 'connectome surfaces where %s' % where, words)


def test_surfaces_where_ranges_still_work(session, run, pair):
    sf.open_pair(run, pair)
    axons = sorted(set(sf.attribute_arrays()['axon']) - {0})
    with LogCapture(session) as log:
        run('connectome surfaces where axon=%d-%d,%d' % (axons[0], axons[2], axons[-1]))
    assert 'segmentation surfaces #2 where axon=%d-%d,%d color lime' % (
        axons[0], axons[2], axons[-1]) in log.commands


# --- connectome ids: huge ids, shadowed names, the log replays ---------------------------

def test_huge_region_ids_are_refused_before_allocating(session, run, tmp_path):
    from chimerax.map_data import ArrayGridData
    from chimerax.map_data.cmap.write_cmap import write_grid_as_chimera_map
    labels = np.zeros((4, 4, 4), np.uint64)
    labels[1, 1, 1] = 2 ** 40
    path = tmp_path / 'huge.cmap'
    write_grid_as_chimera_map(ArrayGridData(labels), str(path))
    with h5py.File(tmp_path / 'axons.h5', 'w') as f:
        f['region_ids'] = np.array([2 ** 40], np.uint64)
        f['lengths'] = np.array([1], np.int64)
    before = path.read_bytes()
    text = user_error(run, 'connectome ids %s axon %s' % (path, tmp_path / 'axons.h5'),
                      'its largest region id is 1099511627776')
    assert 'Renumber the region ids' in text and 'memoryLimit' in text and '4398.0 GB' in text
    assert path.read_bytes() == before


@pytest.mark.parametrize('name', ['data', 'region', 'session', 'path', 'surfaces'])
def test_names_a_map_model_has_are_refused_even_when_not_open(session, run, tmp_path, name):
    em, seg = sf.write_pair(tmp_path)
    with open(tmp_path / 'objects.csv', 'w') as f:
        f.write('region_id,object_id\n%d,1\n' % sf.region_id(3))
    before = open(seg, 'rb').read()
    user_error(run, 'connectome ids %s %s %s' % (seg, name, tmp_path / 'objects.csv'),
               'the name of a ChimeraX map property')
    assert open(seg, 'rb').read() == before


def test_logged_ids_command_replays(session, run, tmp_path):
    em, seg = sf.write_pair(tmp_path, attributes=())
    with open(tmp_path / 'axons.csv', 'w') as f:
        f.write('region_id,object_id\n%d,1\n' % sf.region_id(3))
    with LogCapture(session) as log:
        run('connectome ids %s axon %s  replace true' % (seg, tmp_path / 'axons.csv'))
    (logged,) = log.commands
    assert logged.endswith('axon %s  replace true' % (tmp_path / 'axons.csv')), logged
    run(logged)     # the log is a script


# --- disks: full, read-only ---------------------------------------------------------------

@contextlib.contextmanager
def mounted_tmpfs(path, size, options=''):
    path.mkdir()
    p = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=%s%s' % (size, options), 'tmpfs',
                        str(path)], capture_output=True, text=True)
    if p.returncode != 0:
        pytest.skip('cannot mount a tmpfs here (needs root): %s' % p.stderr.strip())
    try:
        yield path
    finally:
        subprocess.run(['umount', str(path)])


def headless_command(command):
    return headless('--nogui', '--exit', '--cmd', command)


def test_disk_full_during_combine(tmp_path):
    """A 3 MB disk fills up during the write: a clear error, nothing left behind, and the
    process exits normally (it used to die in HDF5's shutdown: status 139)."""
    noise = np.random.default_rng(0).integers(1, 2 ** 31, (64, 128, 128), dtype=np.uint32)
    tilesets.write_tiles(tmp_path / 't', noise, (64, 64, 64), chunks=(32, 32, 32))
    with mounted_tmpfs(tmp_path / 'disk', '3m') as disk:
        p = headless_command('connectome combine %s output %s open false'
                             % (tmp_path / 't', disk / 'o.cmap'))
        assert p.returncode == 1, (p.returncode, p.stderr[-2000:])
        assert 'connectome combine: writing %s failed: No space left on device' % (
            disk / 'o.cmap') in p.stderr
        assert os.listdir(disk) == []


def test_read_only_output_file_system(tmp_path, tiles):
    with mounted_tmpfs(tmp_path / 'ro', '1m', ',ro') as disk:
        p = headless_command('connectome combine %s output %s open false'
                             % (tiles, disk / 'o.cmap'))
        assert p.returncode == 1 and 'Read-only file system' in p.stderr, p.stderr[-2000:]
        assert 'Traceback' not in p.stderr


# --- leftovers of killed runs, Ctrl-C ----------------------------------------------------

def test_leftovers_of_killed_runs_are_removed_and_logged(session, run, tiles, tmp_path):
    pid, part = leftovers.killed_run(tmp_path / 'o.cmap')
    demo_pid, partial = leftovers.killed_run(tmp_path / 'demo', kind='folder')
    with LogCapture(session) as log:
        run('connectome combine %s output %s open false' % (tiles, tmp_path / 'o.cmap'))
    assert 'Removed %s, left in %s by process %d, which is gone' % (part, tmp_path, pid) \
        in log.text
    with LogCapture(session) as log:
        run('connectome demo %s' % (tmp_path / 'demo'))
    assert 'Removed %s, left in %s by process %d, which is gone' % (partial, tmp_path,
                                                                    demo_pid) in log.text
    assert sorted(os.listdir(tmp_path)) == ['demo', 'o.cmap', 't']


def test_ctrl_c_cancels_combine_with_a_message(tmp_path):
    volume = tilesets.labels((96, 128, 128), seed=1, cell=3)
    tilesets.write_tiles(tmp_path / 't', volume, (32, 64, 64), chunks=(16, 16, 16))
    # The combine waits at its first progress point until the Ctrl-C has been handled
    # (killpoints.py), so it is caught in the middle however fast or busy the machine is.
    command = 'connectome combine %s output %s open false' % (tmp_path / 't', tmp_path / 'o.cmap')
    returncode, out, err = ctrl_c_at_pause('combine', command)
    assert returncode == 1, (returncode, err[-2000:])
    assert 'connectome combine: cancelled; %s was not written' % (tmp_path / 'o.cmap') in err
    assert sorted(os.listdir(tmp_path)) == ['t']
