"""combine on a real Dask cluster (a `dask scheduler` and two `dask worker` processes
started here): the output is the same file byte for byte as without a cluster, a worker
killed mid-run is replaced and its chunks redone, a lost scheduler leaves no file and one
clean error; bad or unreachable addresses are InputErrors in seconds; local workers are
capped and listen on loopback only; a tls:// cluster takes the user's certificates."""

import hashlib
import logging
import os
import signal
import time

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


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def test_lost_scheduler_leaves_no_file(volume, tmp_path, capfd):
    folder, _ = volume
    # Dask's log records reach the handlers of 'distributed' (its own stderr handler, or
    # ChimeraX's log), whatever their logger.
    shown = Records()
    logging.getLogger('distributed').addHandler(shown)
    doomed = daskcluster.Cluster(workers=1)
    try:
        def report(message, final):
            if doomed.scheduler.poll() is None and '%' in message:
                os.killpg(doomed.scheduler.pid, signal.SIGKILL)
        with pytest.raises(InputError, match='the Dask cluster .* failed'):
            run(folder, tmp_path / 'o.cmap', scheduler=doomed.address, report=report)
    finally:
        doomed.close()
        logging.getLogger('distributed').removeHandler(shown)
    assert sorted(os.listdir(tmp_path)) == []
    # Only the clean error: not Dask's log of the lost connection (a CommClosedError
    # traceback) beside it.
    err = capfd.readouterr().err
    assert 'CommClosedError' not in err and 'Traceback' not in err, err
    errors = [r.getMessage() for r in shown.records if r.levelno >= logging.ERROR]
    assert errors == [], errors


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


@pytest.mark.parametrize('bad, why', [('foo://bar:1', "unknown address scheme 'foo'"),
                                      ('tcp://', 'needs a host and a port'),
                                      ('tcp://127.0.0.1', 'needs a host and a port'),
                                      ('tcp://127.0.0.1:notaport', "port 'notaport' is not"),
                                      ('tcp://127.0.0.1:70000', "port '70000' is not")])
def test_malformed_address_is_named(volume, tmp_path, bad, why):
    """Was a ValueError traceback from Dask."""
    folder, _ = volume
    with pytest.raises(InputError, match='scheduler %s: .*%s' % (bad, why)):
        run(folder, tmp_path / 'o.cmap', scheduler=bad)
    assert os.listdir(tmp_path) == []


def test_unreachable_scheduler_fails_within_its_timeout(volume, tmp_path):
    """Was 31 s, whatever the user wanted: now CONNECT_TIMEOUT (a few seconds), which
    Scheduler.timeout (combine's schedulerTimeout) sets."""
    assert cluster_module.CONNECT_TIMEOUT <= 5
    folder, _ = volume
    address = 'tcp://127.0.0.1:%d' % daskcluster.free_port()      # nothing listens
    began = time.monotonic()
    with pytest.raises(InputError, match='cannot reach the Dask scheduler %s within 1 s'
                                         ' \\(schedulerTimeout' % address):
        run(folder, tmp_path / 'o.cmap', scheduler=cluster_module.Scheduler(address, timeout=1))
    assert time.monotonic() - began < 20
    assert os.listdir(tmp_path) == []


def test_local_workers_are_capped_and_said(volume, tmp_path, monkeypatch):
    """local 1000 used to start 1000 processes: at most one per core and one per
    LOCAL_WORKER_MEMORY of memory available, and the log says so."""
    assert cluster_module.local_workers(1) == (1, None)
    n, note = cluster_module.local_workers(10 ** 6)
    assert n <= os.cpu_count() and 'scheduler local 1000000: starting %d worker' % n in note
    monkeypatch.setattr(cluster_module, 'LOCAL_WORKER_MEMORY', 10 ** 15)
    n, note = cluster_module.local_workers(3)
    assert n == 1 and 'one per 1e+06 GB' in note
    monkeypatch.undo()
    monkeypatch.setattr(cluster_module, 'available_cores', lambda: 1)
    folder, _ = volume
    lines = []
    r = run(folder, tmp_path / 'o.cmap', scheduler='local 3',
            report=lambda message, final: lines.append(message))
    assert r.workers == 1
    assert ('scheduler local 3: starting 1 worker process (at most one per core, 1 here'
            in lines[0]), lines


def test_local_cluster_listens_on_loopback_only(volume, tmp_path):
    """Its scheduler, workers and HTTP servers: was a dashboard on 0.0.0.0."""
    folder, _ = volume
    seen = []

    def report(message, final):
        if not seen and '%' in message:
            seen.extend(daskcluster.listeners([os.getpid()]))
    run(folder, tmp_path / 'o.cmap', scheduler='local 2', report=report)
    assert len(seen) >= 4, seen           # scheduler, its HTTP server, the workers
    assert {ip for ip, port in seen} == {'127.0.0.1'}, seen


def test_the_code_is_taken_back(volume, cluster, tmp_path):
    """A cluster that outlives the run keeps none of the bundle: no archive in a
    worker's or the scheduler's folder or on its sys.path, no upload plugin for new
    workers, no tiles held open."""
    folder, _ = volume
    run(folder, tmp_path / 'o.cmap', scheduler=cluster.address)

    def leftovers(dask_worker=None, dask_scheduler=None):
        import sys
        server = dask_worker or dask_scheduler
        return (sorted(n for n in os.listdir(server.local_directory) if n.endswith('.zip'))
                + [p for p in sys.path if 'chimerax_connectome' in p])
    with cluster.client() as c:
        assert list(c.run(leftovers).values()) == [[], []]
        assert c.run_on_scheduler(leftovers) == []
        plugins = c.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.plugins)
                                     + list(dask_scheduler.worker_plugins))
        assert not [p for p in plugins if 'connectome' in p], plugins


@pytest.fixture(scope='module')
def tls(tmp_path_factory):
    return daskcluster.tls_files(tmp_path_factory.mktemp('tls'))


def test_tls_cluster(volume, tls, tmp_path):
    """tls:// with the user's certificate files: the same file as without a cluster; the
    cluster listens on loopback only; a plain client is refused."""
    folder, _ = volume
    secure = daskcluster.Cluster(workers=1, tls=tls)
    try:
        assert {ip for ip, port in secure.listeners()} == {'127.0.0.1'}, secure.listeners()
        run(folder, tmp_path / 'local.cmap')
        r = run(folder, tmp_path / 'tls.cmap', scheduler=cluster_module.Scheduler(
            secure.address, tls_ca_file=tls.ca, tls_cert=tls.cert, tls_key=tls.key))
        assert r.workers == 1
        assert digest(tmp_path / 'local.cmap') == digest(tmp_path / 'tls.cmap')
        plain = secure.address.replace('tls://', 'tcp://')
        with pytest.raises(InputError, match='cannot reach the Dask scheduler %s' % plain):
            run(folder, tmp_path / 'o.cmap', scheduler=cluster_module.Scheduler(plain, timeout=1))
    finally:
        secure.close()
    assert sorted(os.listdir(tmp_path)) == ['local.cmap', 'tls.cmap']


def test_tls_options_checked(volume, tls, tmp_path):
    folder, _ = volume
    cases = [(cluster_module.Scheduler('tls://127.0.0.1:1'), 'needs tlsCaFile and tlsCert'),
             (cluster_module.Scheduler('tls://127.0.0.1:1', tls_ca_file=tls.ca),
              'needs tlsCert'),
             (cluster_module.Scheduler('tcp://127.0.0.1:1', tls_ca_file=tls.ca),
              'tlsCaFile given for an address without TLS'),
             (cluster_module.Scheduler('local 2', tls_cert=tls.cert),
              'tlsCert given for an address without TLS'),
             (cluster_module.Scheduler('tls://127.0.0.1:1', tls_ca_file=tls.ca,
                                       tls_cert=str(tmp_path / 'none.pem')),
              'tlsCert .*none.pem is not a file')]
    for scheduler, why in cases:
        with pytest.raises(InputError, match=why):
            run(folder, tmp_path / 'o.cmap', scheduler=scheduler)
    assert os.listdir(tmp_path) == []
