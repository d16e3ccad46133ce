"""Never lose the segmentation: `connectome ids` killed (SIGKILL) at every point where it
writes to the file, and at random moments, leaves a file that opens in ChimeraX with its
voxel data intact and each attribute either as before or as after."""

import os
import random
import shutil
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest

import killpoints
from cxrun import REPO, finish

MAXIMUM = 2_000_000         # arrays of 8 MB: writing the tail takes a measurable time


def ragged(path, objects):
    """An object file in the ragged layout: all region ids + per-object lengths."""
    with h5py.File(path, 'w') as f:
        f['region_ids'] = np.concatenate(objects).astype(np.uint32)
        f['lengths'] = np.array([len(o) for o in objects], np.int64)
    return path


def expected(objects):
    values = np.zeros(MAXIMUM + 1, np.int32)
    for k, regions in enumerate(objects, 1):
        values[regions] = k
    return values


@pytest.fixture(scope='module')
def case(tmp_path_factory, _process_session):
    """A segmentation written by ChimeraX's own cmap writer (PyTables), with old axon and
    dendrite arrays added by `connectome ids`, and object files for new ones."""
    from chimerax.core.commands import run
    from chimerax.map_data import ArrayGridData
    from chimerax.map_data.cmap.write_cmap import write_grid_as_chimera_map
    root = tmp_path_factory.mktemp('kill')
    rng = np.random.default_rng(5)
    ids = np.unique(rng.integers(1, MAXIMUM, 3000))
    ids[-1] = MAXIMUM
    labels = ids[rng.integers(0, ids.size, (24, 32, 40))].astype(np.uint32)
    base = str(root / 'base.cmap')
    write_grid_as_chimera_map(ArrayGridData(labels, step=(11.24, 11.24, 28)), base,
                              options={'compress_method': 'blosc:lz4hc',
                                       'subsamples': [(2, 2, 1)]})

    def objects(seed, n):
        r = np.random.default_rng(seed).permutation(ids)
        return np.array_split(r[:n * 20], n)
    old = {'axon': objects(1, 40), 'dendrite': objects(2, 30)}
    new = {'axon': objects(3, 50), 'dendrite': objects(4, 20), 'spinehead': objects(5, 80)}
    files = {}
    for when, sets in (('old', old), ('new', new)):
        for name, objs in sets.items():
            files[when, name] = ragged(root / ('%s-%s.hdf5' % (when, name)), objs)
    run(_process_session, 'connectome ids %s axon %s dendrite %s'
        % (base, files['old', 'axon'], files['old', 'dendrite']))
    command = ('connectome ids %%s axon %s dendrite %s spinehead %s replace true'
               % (files['new', 'axon'], files['new', 'dendrite'], files['new', 'spinehead']))
    return dict(root=root, base=base, labels=labels, command=command,
                before={n: expected(o) for n, o in old.items()},
                after={n: expected(o) for n, o in new.items()})


def check(session, case, path):
    """The file opens in h5py and in ChimeraX, voxels intact, attributes old or new.
    Returns {name: 'before'|'after'}."""
    from chimerax.core.commands import run
    states = {}
    with h5py.File(path, 'r') as f:
        assert np.array_equal(f['Chimera/image1/data_zyx'][()], case['labels'])
        group = f['attributes']
        assert set(group) <= {'axon', 'dendrite', 'spinehead'}
        for name in ('axon', 'dendrite', 'spinehead'):
            if name not in group:
                assert name not in case['before']
                states[name] = 'before'
                continue
            values = group[name][()]
            if name in case['before'] and np.array_equal(values, case['before'][name]):
                states[name] = 'before'
            else:
                assert np.array_equal(values, case['after'][name]), name
                states[name] = 'after'
    v = run(session, 'open %s' % path)[0]
    try:
        assert np.array_equal(v.full_matrix(), case['labels'])
        for name, state in states.items():
            found = v.data.find_attribute(name)
            if state == 'before' and name not in case['before']:
                assert found is None
            else:
                assert np.array_equal(found, case[state][name])
    finally:
        run(session, 'wait 1; close #%s' % v.id_string)
    return states


def killed_run(case, path, kill_at=None, kill_after=None):
    """Run the command in a new ChimeraX process; SIGKILL it before its kill_at-th write
    to the file (killpoints.py) or after kill_after seconds.  True if it was killed."""
    e = dict(os.environ)
    e.setdefault('CHIMERAX_HEADLESS_HOME', os.path.join(REPO, '.venv', 'chimerax-home-tests'))
    command = ['--cmd', case['command'] % path] if kill_at is None else \
        ['--script', '%s %d %s' % (killpoints.SCRIPT, kill_at, case['command'] % path)]
    p = subprocess.Popen([os.path.join(REPO, 'bin', 'chimerax-headless'), '--nogui', '--exit']
                         + command, env=e,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if kill_after is not None:
        try:
            p.wait(kill_after)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
    _, err = finish(p)
    if p.returncode == -signal.SIGKILL:
        return True
    assert p.returncode == 0, err
    return False


def test_killed_at_every_write_point(session, case, tmp_path):
    path = str(tmp_path / 'seg.cmap')
    seen = set()
    point = 1
    while True:
        shutil.copy(case['base'], path)
        was_killed = killed_run(case, path, kill_at=point)
        states = check(session, case, path)
        seen.add(tuple(sorted(states.items())))
        if not was_killed:
            assert set(states.values()) == {'after'}
            break
        # A later run completes the change, whatever the kill left behind.
        from chimerax.core.commands import run
        run(session, case['command'] % path)
        assert set(check(session, case, path).values()) == {'after'}
        point += 1
        assert point < 60
    # Three attributes, one atomic change each, several write points per change.
    assert point > 12
    # Killed between changes, the file held every mix of before and after in order.
    assert (('axon', 'after'), ('dendrite', 'before'), ('spinehead', 'before')) in seen
    assert (('axon', 'after'), ('dendrite', 'after'), ('spinehead', 'before')) in seen


def test_killed_at_random_moments(session, case, tmp_path):
    """Kills at moments in time, not at write points: where they land depends on the
    machine's speed and load, what is checked does not (any moment leaves a whole file,
    and a run that ends first must have succeeded); test_killed_at_every_write_point
    drives each point."""
    path = str(tmp_path / 'seg.cmap')
    shutil.copy(case['base'], path)
    t = time.monotonic()
    assert not killed_run(case, path)
    duration = time.monotonic() - t
    rng = random.Random(7)
    for k in range(8):
        shutil.copy(case['base'], path)
        # The second half of a run is where the writing happens.
        killed_run(case, path, kill_after=duration * (0.5 + 0.5 * rng.random()))
        check(session, case, path)
