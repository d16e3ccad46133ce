"""`connectome combine ... scheduler ADDRESS` in real ChimeraX: the map made on a Dask
cluster (a `dask scheduler` and `dask worker` started here) opens, equals the map made
without one byte for byte, and the log says how many workers did the work; a tls://
cluster through the certificate options; bad and unreachable addresses, and local N
beyond the machine, said in a UserError or the log, never a traceback."""

import hashlib
import os

import numpy as np
import pytest

import daskcluster
import tilesets
from segfixtures import LogCapture


@pytest.fixture(scope='module')
def cluster():
    c = daskcluster.Cluster(workers=2)
    yield c
    c.close()


def test_combine_on_a_cluster(session, run, cluster, tmp_path):
    volume = tilesets.labels((48, 64, 96), seed=6, cell=4)
    tilesets.write_tiles(tmp_path / 't', volume, (24, 32, 48), chunks=(8, 8, 8))
    run('connectome combine %s output %s open false' % (tmp_path / 't', tmp_path / 'a.cmap'))
    with LogCapture(session) as log:
        (v,) = run('connectome combine %s output %s scheduler %s'
                   % (tmp_path / 't', tmp_path / 'b.cmap', cluster.address))
    assert 'Combining on 2 Dask worker threads (%s)' % cluster.address in log.text
    assert np.array_equal(v.full_matrix(), volume)
    digests = [hashlib.sha256((tmp_path / n).read_bytes()).hexdigest() for n in ('a.cmap', 'b.cmap')]
    assert digests[0] == digests[1]


def test_bad_scheduler_is_a_user_error(session, run, tmp_path):
    from chimerax.core.errors import UserError
    volume = tilesets.labels((16, 16, 16), seed=1, cell=4)
    tilesets.write_tiles(tmp_path / 't', volume, (16, 16, 16))
    with pytest.raises(UserError, match='scheduler local N needs a number'):
        run('connectome combine %s output %s scheduler local 0' % (tmp_path / 't',
                                                                   tmp_path / 'o.cmap'))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['t']


@pytest.fixture
def tiles(tmp_path):
    volume = tilesets.labels((32, 32, 48), seed=2, cell=4)
    tilesets.write_tiles(tmp_path / 't', volume, (16, 32, 24), chunks=(8, 8, 8))
    return tmp_path / 't', volume


@pytest.mark.parametrize('bad, why', [('foo://bar:1', "unknown address scheme 'foo'"),
                                      ('tcp://', 'needs a host and a port'),
                                      ('tcp://127.0.0.1:notaport', "port 'notaport' is not")])
def test_malformed_address_is_a_user_error(session, run, tiles, tmp_path, bad, why):
    from chimerax.core.errors import UserError
    with pytest.raises(UserError, match='connectome combine: scheduler %s: .*%s' % (bad, why)):
        run('connectome combine %s output %s scheduler %s' % (tiles[0], tmp_path / 'o.cmap', bad))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['t']


def test_unreachable_scheduler_times_out(session, run, tiles, tmp_path):
    from chimerax.core.errors import UserError
    address = 'tcp://127.0.0.1:%d' % daskcluster.free_port()
    with pytest.raises(UserError, match='cannot reach the Dask scheduler %s within 1 s'
                                        % address):
        run('connectome combine %s output %s scheduler %s schedulerTimeout 1'
            % (tiles[0], tmp_path / 'o.cmap', address))
    assert sorted(p.name for p in tmp_path.iterdir()) == ['t']


def test_local_workers_capped(session, run, tiles, tmp_path):
    """scheduler local 1000 starts no more workers than cores and memory allow, and says so."""
    from chimerax.connectome.pipeline import cluster
    n = cluster.local_workers(1000)[0]
    with LogCapture(session) as log:
        (v,) = run('connectome combine %s output %s scheduler local 1000'
                   % (tiles[0], tmp_path / 'o.cmap'))
    assert 'scheduler local 1000: starting %d worker process' % n in log.text
    assert 'Combining on %d Dask worker thread' % n in log.text
    assert np.array_equal(v.full_matrix(), tiles[1])


def test_tls_cluster(session, run, tiles, tmp_path):
    """tls:// with tlsCaFile, tlsCert and tlsKey: the same map as without a cluster."""
    tls = daskcluster.tls_files(tmp_path)
    secure = daskcluster.Cluster(workers=1, tls=tls)
    try:
        run('connectome combine %s output %s open false' % (tiles[0], tmp_path / 'a.cmap'))
        (v,) = run('connectome combine %s output %s scheduler %s tlsCaFile %s tlsCert %s'
                   ' tlsKey %s' % (tiles[0], tmp_path / 'b.cmap', secure.address, tls.ca,
                                   tls.cert, tls.key))
    finally:
        secure.close()
    assert np.array_equal(v.full_matrix(), tiles[1])
    digests = [hashlib.sha256((tmp_path / n).read_bytes()).hexdigest()
               for n in ('a.cmap', 'b.cmap')]
    assert digests[0] == digests[1]


def test_tls_options_need_a_tls_scheduler(session, run, tiles, tmp_path):
    from chimerax.core.errors import UserError
    tls = daskcluster.tls_files(tmp_path)
    with pytest.raises(UserError, match='no scheduler was given'):
        run('connectome combine %s output %s tlsCaFile %s' % (tiles[0], tmp_path / 'o.cmap',
                                                            tls.ca))
    with pytest.raises(UserError, match='tls:// address needs tlsCaFile and tlsCert'):
        run('connectome combine %s output %s scheduler tls://127.0.0.1:1'
            % (tiles[0], tmp_path / 'o.cmap'))
    assert not os.path.exists(tmp_path / 'o.cmap')


def test_a_semicolon_ends_the_scheduler(session, run, tiles, tmp_path, cluster):
    from chimerax.connectome.commands.combine import SchedulerArg
    assert SchedulerArg.parse('local 2;x', session) == ('local 2', 'local 2', ';x')
    assert SchedulerArg.parse('local;x', session)[0] == 'local'
    assert SchedulerArg.parse('tcp://h:1;x', session) == ('tcp://h:1', 'tcp://h:1', ';x')
    run('connectome combine %s output %s scheduler %s open false;'
        ' connectome combine %s output %s open false'
        % (tiles[0], tmp_path / 'a.cmap', cluster.address, tiles[0], tmp_path / 'b.cmap'))
    assert (tmp_path / 'a.cmap').exists() and (tmp_path / 'b.cmap').exists()


def test_combine_a_store_on_local_workers(session, run, tmp_path):
    """A store as input on a cluster (`scheduler local 2`): the workers reopen the store
    and the map is the same byte for byte as without a cluster; an export to a store on
    the cluster holds the same voxels as one made here."""
    import stores
    volume = tilesets.labels((40, 48, 56), seed=4, cell=4)
    path = stores.precomputed_tensorstore(tmp_path / 'seg', [volume], [], offset=(2, 1, 3))
    run('connectome combine %s output %s subsamples 2,2,2 open false'
        % (path, tmp_path / 'a.cmap'))
    with LogCapture(session) as log:
        (v,) = run('connectome combine %s output %s subsamples 2,2,2 scheduler local 2'
                   % (path, tmp_path / 'b.cmap'))
    assert 'Combining on 2 Dask worker threads' in log.text
    assert np.array_equal(v.full_matrix(), volume)
    digests = [hashlib.sha256((tmp_path / n).read_bytes()).hexdigest()
               for n in ('a.cmap', 'b.cmap')]
    assert digests[0] == digests[1]
    run('connectome combine %s output %s format precomputed subsamples 2,2,2 open false'
        % (path, tmp_path / 'here'))
    (s,) = run('connectome combine %s output %s format precomputed subsamples 2,2,2'
               ' scheduler local 2' % (path, tmp_path / 'there'))
    (h,) = run('open %s format precomputed' % (tmp_path / 'here'))
    # A precomputed input's origin (neuroglancer's voxel corners) is written back exactly.
    assert s.data.origin == h.data.origin == v.data.origin
    for step in [(1, 1, 1), (2, 2, 2)]:
        assert np.array_equal(s.data.matrix(ijk_step=step), h.data.matrix(ijk_step=step))
    assert np.array_equal(s.full_matrix(), volume)
