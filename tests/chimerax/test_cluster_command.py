"""`connectome combine ... scheduler ADDRESS` in real ChimeraX: the map made on a Dask
cluster (a `dask scheduler` and `dask worker` started here) opens, equals the map made
without one byte for byte, and the log says how many workers did the work."""

import hashlib

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
