"""Combine's chunk work on a Dask cluster, for volumes one machine is too slow for.

The map is one HDF5 file, so one process writes it (the one running combine); all the
heavy work, reading and inflating tiles, downsampling and compressing, is independent per
chunk and runs on ``dask.distributed`` workers that can read the tile paths (shared
storage).  What comes back is compressed, ~30 times smaller than what the workers read,
so one writer can take the output of dozens of workers.  Chunks are written in combine's
fixed order, so the file is the same byte for byte as a run without a cluster.

The bundle's pure code is sent to the scheduler and workers as a zip archive when a run
starts (Dask's upload_file), so they need only the packages of requirements/runtime.txt,
not ChimeraX or this bundle installed.  A worker
that dies is replaced by its nanny and Dask runs its tasks again elsewhere.  Dask is
imported here only, and only when combine is given a scheduler.  Pure: no ChimeraX.
"""

import logging
import os
import shutil
import tempfile
import threading
import zipfile

import numpy as np

from ..errors import InputError
from ..formats.cmap import blosc_in_calling_thread
from ..parallel import available_cores
from .chunks import finish_chunk, finish_subtree

LOCAL_PREFIX = 'local'
CONNECT_TIMEOUT = 30            # seconds to reach a scheduler
SUBTREE_LEVELS = 2              # levels of chunks a task does (see Workers)


def parse_address(address):
    """'tcp://host:8786' (any address Dask takes) or ('local', N) for 'local N'."""
    words = str(address).split()
    if words and words[0] == LOCAL_PREFIX:
        if len(words) == 1:
            return LOCAL_PREFIX, available_cores()
        try:
            n = int(words[1])
        except ValueError:
            n = 0
        if len(words) != 2 or n < 1:
            raise InputError('scheduler local N needs a number of worker processes, not %r'
                             % address)
        return LOCAL_PREFIX, n
    if len(words) != 1:
        raise InputError('scheduler must be an address such as tcp://host:8786 or local N,'
                         ' not %r' % address)
    return words[0]


class Workers:
    """The chunk work of one combine on a cluster's workers (the runner interface of
    traversal.Engine: leaf, block, wait, cancel)."""

    reads_tiles = True          # every tile is read by the workers themselves

    def __init__(self, address, source, works, levels, region_start, report=None):
        spec = source.worker_spec()
        if spec is None:
            raise InputError('combine on a cluster reads tile sets of HDF5 files only (the'
                             ' workers open the tiles themselves)')
        try:
            import distributed
        except ImportError as e:
            raise InputError('combine on a cluster needs dask.distributed (%s); install it'
                             ' with pip: see requirements/runtime.txt' % e)
        self._distributed = distributed
        self.address = parse_address(address)
        self.spec = spec
        self.works = works
        self.levels = levels
        self.region_start = tuple(region_start)
        self.dtype = source.dtype
        # A task does a whole subtree of chunks, up to SUBTREE_LEVELS levels above full
        # resolution (64 leaves and their parents): Dask spends about a millisecond of
        # the writing process's time on each task, more than a chunk's own work takes.
        self.subtree_levels = min(SUBTREE_LEVELS, len(levels) - 1)
        self.report = report
        self.client = self.cluster = None

    def __enter__(self):
        distributed = self._distributed
        try:
            if isinstance(self.address, tuple):
                self.cluster = distributed.LocalCluster(
                    n_workers=self.address[1], threads_per_worker=1, processes=True,
                    # Any free port: its HTTP server (health, metrics) runs anyway.
                    dashboard_address=':0', silence_logs=logging.ERROR)
                self.client = distributed.Client(self.cluster)
            else:
                self.client = distributed.Client(self.address, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as e:
            self._close()
            raise InputError('cannot reach the Dask scheduler %s: %s'
                             % (self.address if isinstance(self.address, str)
                                else 'local %d' % self.address[1], e))
        threads = sum(self.client.nthreads().values())
        if not threads:
            self._close()
            raise InputError('the Dask scheduler %s has no workers' % (self.address,))
        self.workers = threads
        self._archive = _code_archive()
        self.client.upload_file(self._archive)     # on sys.path there, new workers too
        # Sent once to every worker, then named by each task.
        job = (self.spec, self.works, self.levels, self.region_start, self.dtype)
        self._job = self.client.scatter(job, broadcast=True, hash=False)
        if self.report is not None:
            self.report('Combining on %d Dask worker thread%s (%s)'
                        % (threads, '' if threads == 1 else 's', self.client.scheduler.address),
                        True)
        return self

    def __exit__(self, *exc):
        self._close()

    def _close(self):
        for thing in (self.client, self.cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:       # noqa: BLE001  (closing after a failure)
                    pass
        self.client = self.cluster = None
        archive = getattr(self, '_archive', None)
        if archive is not None:
            shutil.rmtree(os.path.dirname(archive), ignore_errors=True)

    def leaf(self, start, stop):
        return self.client.submit(_remote_leaf, self._job, start, stop, pure=False)

    def block(self, level, a):
        return self.client.submit(_remote_block, self._job, level, a, pure=False)

    def subtree(self, level, index):
        return self.client.submit(_remote_subtree, self._job, level, index, pure=False)

    def wait(self, pending):
        try:
            return self._distributed.wait(list(pending), return_when='FIRST_COMPLETED').done
        except self._lost as e:
            raise self._failure(e)

    def result(self, future):
        try:
            return future.result()
        except self._lost as e:
            raise self._failure(e)

    @property
    def _lost(self):
        """What Dask raises when the cluster, not the chunk work, failed: connections
        lost (OSError, CommClosedError), time-outs, futures cancelled with a lost
        scheduler, a task whose workers kept dying (KilledWorker)."""
        from concurrent.futures import CancelledError
        from distributed.scheduler import KilledWorker
        return (OSError, TimeoutError, CancelledError, KilledWorker)

    def _failure(self, e):
        return InputError('the Dask cluster %s failed (%s: %s)'
                          % (self.client.scheduler.address if self.client else self.address,
                             type(e).__name__, e))

    def cancel(self, pending):
        futures = list(pending)
        if self.client is not None and futures:
            try:
                self.client.cancel(futures)
            except Exception:           # noqa: BLE001  (cancelling after a failure)
                pass


def _code_archive():
    """A zip of this bundle's package (chimerax.connectome) for the cluster: only its
    pure folders are ever imported there.  ``chimerax`` in it is a pkgutil namespace
    package, so it does not hide a ChimeraX of the worker's own."""
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    folder = tempfile.mkdtemp(prefix='connectome-code-')
    path = os.path.join(folder, 'chimerax_connectome.zip')
    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z:
        z.writestr('chimerax/__init__.py',
                   "__path__ = __import__('pkgutil').extend_path(__path__, __name__)\n")
        for root, dirs, files in os.walk(package_dir):
            dirs[:] = [d for d in dirs if d not in ('__pycache__', 'docs', 'icons')]
            for f in files:
                if f.endswith('.py'):
                    full = os.path.join(root, f)
                    z.write(full, os.path.join('chimerax', 'connectome',
                                               os.path.relpath(full, package_dir)))
    return path


# --- on the workers ---------------------------------------------------------------------

_JOBS = {}                      # per worker process: the open source of each job's spec
_HDF5 = threading.Lock()        # its HDF5 calls, one thread at a time


def _source(spec):
    """The source a job's worker spec (formats/source.py WorkerSpec) opens, kept open for
    the job's next tasks."""
    source = _JOBS.get(spec)
    if source is None:
        for old in _JOBS.values():
            old.close()
        _JOBS.clear()
        source = _JOBS[spec] = spec.open()
    return source


def _read(source, start, stop):
    """A block of the source, HDF5 calls one thread at a time."""
    with _HDF5:
        readable = source.prepare(start, stop)
        if not readable:
            return source.read(start, stop)
    return source.read(start, stop)


def _remote_leaf(job, start, stop):
    blosc_in_calling_thread()           # this worker's threads are the parallelism
    spec, works = job[:2]
    with _HDF5:
        source = _source(spec)
    return finish_chunk(works[0], _read(source, start, stop))


def _remote_block(job, level, a):
    blosc_in_calling_thread()           # this worker's threads are the parallelism
    return finish_chunk(job[1][level], a)


def _remote_subtree(job, level, index):
    blosc_in_calling_thread()           # this worker's threads are the parallelism
    spec, works, levels, region_start, dtype = job
    with _HDF5:
        source = _source(spec)

    def read(start, stop):
        s = tuple(a + o for a, o in zip(start, region_start))
        e = tuple(a + o for a, o in zip(stop, region_start))
        if source.is_empty(s, e):
            return np.zeros(tuple(b - a for a, b in zip(s, e)), dtype)
        return _read(source, s, e)
    return finish_subtree(read, levels, works, level, index, dtype)
