"""Two runs at once on one file: two `connectome ids` on one segmentation, two
`connectome combine` to one output, started together in separate ChimeraX processes.
Either both succeed one after the other or one is refused with "in use by process N";
never a damaged file, never an output silently overwritten."""

import os
import shutil
import subprocess
import time

import h5py
import hdf5plugin  # noqa: F401  (the Blosc chunks ChimeraX wrote)
import numpy as np
import pytest

import killpoints
import tilesets
from cxrun import REPO, finish, headless

MAXIMUM = 2_000_000             # 8 MB arrays: each commit takes a measurable time


TOGETHER = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'together.py')


def start(*commands, folder):
    """Run one chimerax-headless process per command, the commands starting at the same
    moment (together.py); their (status, stdout, stderr)."""
    env = dict(os.environ)
    env.setdefault('CHIMERAX_HEADLESS_HOME', os.path.join(REPO, '.venv', 'chimerax-home-tests'))
    go = os.path.join(folder, 'go')
    if os.path.exists(go):
        os.remove(go)
    ready = [os.path.join(folder, 'ready%d' % k) for k in range(len(commands))]
    procs = [subprocess.Popen([os.path.join(REPO, 'bin', 'chimerax-headless'), '--nogui',
                               '--exit', '--script', '%s %s %s %s' % (TOGETHER, r, go, c)],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for r, c in zip(ready, commands)]
    deadline = time.monotonic() + 120
    while not all(os.path.exists(r) for r in ready) and time.monotonic() < deadline:
        time.sleep(0.01)
    open(go, 'w').close()
    out = []
    for p in procs:
        o, e = finish(p)
        out.append((p.returncode, o, e))
    for r in ready + [go]:
        if os.path.exists(r):
            os.remove(r)
    return out


@pytest.fixture(scope='module')
def segmentation(tmp_path_factory, _process_session):
    from chimerax.map_data import ArrayGridData
    from chimerax.map_data.cmap.write_cmap import write_grid_as_chimera_map
    root = tmp_path_factory.mktemp('concurrent')
    rng = np.random.default_rng(3)
    ids = np.unique(rng.integers(1, MAXIMUM, 2000))
    ids[-1] = MAXIMUM
    labels = ids[rng.integers(0, ids.size, (16, 24, 32))].astype(np.uint32)
    base = str(root / 'base.cmap')
    write_grid_as_chimera_map(ArrayGridData(labels), base, options={'compress': True})
    objects = {}
    for k, name in enumerate(('axon', 'dendrite', 'spinehead')):
        r = np.random.default_rng(k).permutation(ids)[:600]
        with h5py.File(root / ('%s.hdf5' % name), 'w') as f:
            f['region_ids'] = r.astype(np.uint32)
            f['lengths'] = np.full(60, 10, np.int64)
        values = np.zeros(MAXIMUM + 1, np.int32)
        values[r] = np.repeat(np.arange(1, 61), 10)
        objects[name] = values
    return dict(root=root, base=base, labels=labels, objects=objects)


def held(command, release):
    """A chimerax-headless process running ``command``, stopped at its first connectome
    progress point (inside its lock) until the file ``release`` exists (killpoints.py),
    once it has said so."""
    env = dict(os.environ)
    env.setdefault('CHIMERAX_HEADLESS_HOME', os.path.join(REPO, '.venv', 'chimerax-home-tests'))
    p = subprocess.Popen([os.path.join(REPO, 'bin', 'chimerax-headless'), '--nogui', '--exit',
                          '--script', '%s pause connectome %s %s'
                          % (killpoints.SCRIPT, release, command)],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in p.stdout:
        if line.startswith('PAUSED connectome'):
            return p
    raise AssertionError('never paused: %s' % finish(p)[1][-2000:])


def check_file(run, segmentation, path):
    with h5py.File(path, 'r') as f:
        assert np.array_equal(f['Chimera/image1/data_zyx'][()], segmentation['labels'])
        for name, values in segmentation['objects'].items():
            assert np.array_equal(f['attributes'][name][()], values), name
    (v,) = run('open %s' % path)
    assert np.array_equal(v.data.find_attribute('axon'), segmentation['objects']['axon'])
    run('close #%s' % v.id_string)


def test_two_ids_at_once_never_damage_the_file(session, run, segmentation, tmp_path):
    root = segmentation['root']
    command = ('connectome ids %%s axon %s dendrite %s spinehead %s replace true'
               % tuple(root / ('%s.hdf5' % n) for n in ('axon', 'dendrite', 'spinehead')))
    # Overlapping for sure: the first run waits inside its lock while the second is
    # refused, then finishes.
    path = str(tmp_path / 'held.cmap')
    shutil.copy(segmentation['base'], path)
    release = tmp_path / 'release'
    first = held(command % path, release)
    try:
        second = headless('--nogui', '--exit', '--cmd', command % path)
    finally:
        release.touch()
        _, err = finish(first)
    assert first.returncode == 0, err[-2000:]
    assert second.returncode == 1, second.stderr[-2000:]
    assert 'in use by process %d' % first.pid in second.stderr and \
        'connectome ids' in second.stderr, second.stderr[-2000:]
    check_file(run, segmentation, path)
    # Started together, however they happen to overlap: one after the other, or one
    # refused; never a damaged file.
    for trial in range(3):
        path = str(tmp_path / ('seg%d.cmap' % trial))
        shutil.copy(segmentation['base'], path)
        results = start(command % path, command % path, folder=str(tmp_path))
        for rc, out, err in results:
            assert rc == 0 or ('in use by process' in err and 'connectome ids' in err), err
        assert any(rc == 0 for rc, _, _ in results)
        check_file(run, segmentation, path)


def test_two_combines_to_one_output(tmp_path):
    volume = tilesets.labels((48, 64, 64), seed=2, cell=4)
    tilesets.write_tiles(tmp_path / 't', volume, (16, 32, 32), chunks=(8, 8, 8))
    out = tmp_path / 'out.cmap'
    sync = tmp_path / 'sync'
    sync.mkdir()
    command = 'connectome combine %s output %s open false' % (tmp_path / 't', out)
    for trial in range(3):
        if out.exists():
            out.unlink()
        results = start(command, command, folder=str(sync))
        ok = [r for r in results if r[0] == 0]
        assert len(ok) == 1, results        # the other is refused, not silently overwriting
        (rc, _, err), = [r for r in results if r[0] != 0]
        assert 'in use by process' in err or 'exists (use replace true' in err, err
        with h5py.File(out, 'r') as f:
            assert np.array_equal(f['Chimera/image1/data_zyx'][()], volume)
    assert sorted(os.listdir(tmp_path)) == ['out.cmap', 'sync', 't']   # no lock or part left
