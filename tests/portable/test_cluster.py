"""combine on a real Dask cluster (a `dask scheduler` and two `dask worker` processes
started here): the output is the same file byte for byte as without a cluster, a worker
killed mid-run is replaced and its chunks redone, a lost scheduler leaves no file."""

import hashlib
import os
import signal

import h5py
import hdf5plugin  # noqa: F401  (the Blosc chunks)
import numpy as np
import pytest

import daskcluster
import tilesets
from chimerax.connectome.errors import InputError
from chimerax.connectome.formats import tiles
from chimerax.connectome.pipeline import cluster as cluster_module, combine

SHAPE = (64, 96, 128)
TILE = (32, 48, 64)


def digest(path):
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


@pytest.fixture(scope='module')
def volume(tmp_path_factory):
    folder = tmp_path_factory.mktemp('cluster-tiles')
    volume = tilesets.labels(SHAPE, seed=3, cell=4)
    tilesets.write_tiles(folder / 't', volume, TILE, chunks=(16, 16, 16))
    return folder / 't', volume


@pytest.fixture(scope='module')
def cluster():
    c = daskcluster.Cluster(workers=2)
    yield c
    c.close()


def run(tile_folder, out, **kw):
    with tiles.open_tiles(str(tile_folder)) as ts:
        return combine.combine(ts, str(out), chunk_side=16, subsamples=[(2, 2, 1), (4, 4, 2)],
                               **kw)


def test_same_file_byte_for_byte(volume, cluster, tmp_path):
    folder, full = volume
    local = run(folder, tmp_path / 'local.cmap')
    lines = []
    remote = run(folder, tmp_path / 'remote.cmap', scheduler=cluster.address,
                 report=lambda message, final: lines.append(message))
    assert remote.workers == 2 and local.workers == 0
    assert digest(tmp_path / 'local.cmap') == digest(tmp_path / 'remote.cmap')
    with h5py.File(tmp_path / 'remote.cmap', 'r') as f:
        assert np.array_equal(f['Chimera/image1/data_zyx'][()], full)
    assert any(m.startswith('Combining on 2 Dask worker threads (%s)' % cluster.address)
               for m in lines), lines


def test_a_killed_worker_is_replaced_and_its_chunks_redone(volume, cluster, tmp_path):
    folder, full = volume
    run(folder, tmp_path / 'local.cmap')
    victim = cluster.worker_pids()[0]
    killed = []

    # At the first progress line, which comes with the first chunks done and the rest to
    # do: a later line might never come on a fast machine (they are a second apart).
    def report(message, final):
        if not killed and not final and '%' in message:
            os.kill(victim, signal.SIGKILL)
            killed.append(message)
    run(folder, tmp_path / 'remote.cmap', scheduler=cluster.address, report=report)
    assert killed, 'the run ended before a worker could be killed'
    assert digest(tmp_path / 'local.cmap') == digest(tmp_path / 'remote.cmap')
    cluster.wait_for_workers(2)                 # its nanny started a new one
    assert victim not in cluster.worker_pids()


def test_local_workers(volume, tmp_path):
    folder, full = volume
    run(folder, tmp_path / 'local.cmap')
    r = run(folder, tmp_path / 'two.cmap', scheduler='local 2')
    assert r.workers == 2
    assert digest(tmp_path / 'local.cmap') == digest(tmp_path / 'two.cmap')


def test_lost_scheduler_leaves_no_file(volume, tmp_path):
    folder, _ = volume
    doomed = daskcluster.Cluster(workers=1)
    try:
        def report(message, final):
            if doomed.scheduler.poll() is None and '%' in message:
                os.killpg(doomed.scheduler.pid, signal.SIGKILL)
        with pytest.raises(InputError, match='the Dask cluster .* failed'):
            run(folder, tmp_path / 'o.cmap', scheduler=doomed.address, report=report)
    finally:
        doomed.close()
    assert sorted(os.listdir(tmp_path)) == []


def test_bad_addresses(volume, tmp_path):
    assert cluster_module.parse_address('local 3') == ('local', 3)
    assert cluster_module.parse_address('tcp://h:1') == 'tcp://h:1'
    for bad in ('local x', 'local 0', 'local 2 3', 'tcp://a tcp://b'):
        with pytest.raises(InputError, match='scheduler'):
            cluster_module.parse_address(bad)
    folder, _ = volume
    with pytest.raises(InputError, match='scheduler'):
        run(folder, tmp_path / 'o.cmap', scheduler='local 0')
    assert os.listdir(tmp_path) == []


def test_cancelled_run_leaves_no_file(volume, cluster, tmp_path):
    """Ctrl-C (progress.request_cancel, which ChimeraX's handler calls) during a cluster
    run: it stops, its tasks are cancelled, nothing is left."""
    from chimerax.connectome import progress
    from chimerax.connectome.errors import Cancelled
    folder, _ = volume

    def report(message, final):
        if not final:
            progress.request_cancel()
    with pytest.raises(Cancelled):
        run(folder, tmp_path / 'o.cmap', scheduler=cluster.address, report=report)
    assert os.listdir(tmp_path) == []
    # The cluster is still usable.
    run(folder, tmp_path / 'again.cmap', scheduler=cluster.address)
