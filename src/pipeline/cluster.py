"""Combine's chunk work on a Dask cluster, for volumes one machine is too slow for.

The map is one HDF5 file, so one process writes it (the one running combine); all the
heavy work, reading and inflating tiles, downsampling and compressing, is independent per
chunk and runs on ``dask.distributed`` workers that can read the tile paths (shared
storage), or open the store (its local folder at the same path, or its URL).  An export
to a store (export.py) runs the same work, its chunks coming back uncompressed for the
writing process's tensorstore to encode.  What comes back is compressed, ~30 times smaller than what the workers read,
so one writer can take the output of dozens of workers.  Chunks are written in combine's
fixed order, so the file is the same byte for byte as a run without a cluster.

The bundle's pure code is sent to the scheduler and workers as a zip archive when a run
starts (a Dask upload plugin), so they need only the packages of requirements/runtime.txt,
not ChimeraX or this bundle installed; the run removes it again when it ends.  A worker
that dies is replaced by its nanny and Dask runs its tasks again elsewhere.  Whoever
reaches a scheduler runs code on its workers, so ``local N`` listens on loopback only
(no dashboard), and a remote scheduler may be reached over Dask's TLS (``tls://`` with
the user's certificates).  Dask is imported here only, and only when combine is given a
scheduler.  Pure: no ChimeraX.
"""

import logging
import os
import shutil
import sys
import tempfile
import threading
import uuid
import zipfile
from concurrent.futures import CancelledError
from dataclasses import dataclass

import numpy as np
import psutil

from ..errors import InputError
from ..formats.cmap import blosc_in_calling_thread
from ..parallel import available_cores
from .chunks import finish_chunk, finish_subtree

LOCAL_PREFIX = 'local'
LOCAL_HOST = '127.0.0.1'        # local N: every listener on loopback
# Room a local worker process is given (its libraries, its tasks' chunks and tile cache):
# local N starts no more workers than the memory available has room for.
LOCAL_WORKER_MEMORY = 10 ** 9
CONNECT_TIMEOUT = 5.0           # seconds to reach a scheduler (combine's schedulerTimeout)
SCHEMES = ('tcp', 'tls')        # Dask's plain and TLS transports
SUBTREE_LEVELS = 2              # levels of chunks a task does (see Workers)
ARCHIVE_NAME = 'chimerax_connectome.zip'


@dataclass(frozen=True)
class Scheduler:
    """Where combine's chunk work runs: ``address`` as the user gives it (tcp://host:8786,
    tls://host:8786, or local N), how long to wait to reach it, and, for tls://, the PEM
    files of the certificate authority, this client's certificate and its key (the key
    may be inside the certificate's file)."""
    address: str
    timeout: float = CONNECT_TIMEOUT
    tls_ca_file: str = None
    tls_cert: str = None
    tls_key: str = None


def parse_address(address):
    """'tcp://host:8786' (or tls://, as given) or ('local', N) for 'local N'; an
    InputError naming the address and what is wrong with it."""
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
    address = words[0]
    scheme, sep, rest = address.partition('://')
    if not sep:
        rest = address                  # Dask's default transport, tcp
    elif scheme not in SCHEMES:
        raise InputError('scheduler %s: unknown address scheme %r (tcp:// or tls://)'
                         % (address, scheme))
    host, colon, port = rest.rpartition(':')
    if not colon or not host.strip('[]'):
        raise InputError('scheduler %s: needs a host and a port, such as tcp://head-node:8786'
                         % address)
    if not port.isdigit() or not 0 < int(port) < 2 ** 16:
        raise InputError('scheduler %s: the port %r is not a number from 1 to 65535'
                         % (address, port))
    return address


def local_workers(requested):
    """How many local worker processes to start for ``local N`` (N = requested): at most
    one per core and one per LOCAL_WORKER_MEMORY of the memory available; and a sentence
    saying why when that is fewer than asked for (None when not)."""
    cores = available_cores()
    available = psutil.virtual_memory().available
    n = max(1, min(requested, cores, available // LOCAL_WORKER_MEMORY))
    if n == requested:
        return n, None
    return n, ('scheduler local %d: starting %d worker process%s (at most one per core, %d'
               ' here, and one per %g GB of the %.1f GB of memory available)'
               % (requested, n, '' if n == 1 else 'es', cores, LOCAL_WORKER_MEMORY / 1e9,
                  available / 1e9))


def _security(scheduler, address, distributed):
    """The distributed.security.Security for a tls:// address (None for tcp:// and local
    workers), from the files the user named; an InputError when they are missing or given
    for a plain address."""
    files = {'tlsCaFile': scheduler.tls_ca_file, 'tlsCert': scheduler.tls_cert,
             'tlsKey': scheduler.tls_key}
    given = [option for option, path in files.items() if path]
    if not (isinstance(address, str) and address.startswith('tls://')):
        if given:
            raise InputError('scheduler %s: %s given for an address without TLS; a tls://'
                             ' address uses them' % (scheduler.address, ', '.join(given)))
        return None
    missing = [option for option in ('tlsCaFile', 'tlsCert') if not files[option]]
    if missing:
        raise InputError('scheduler %s: a tls:// address needs %s (the certificate'
                         ' authority\'s and this client\'s certificates, PEM files)'
                         % (address, ' and '.join(missing)))
    for option in given:
        if not os.path.isfile(files[option]):
            raise InputError('scheduler %s: %s %s is not a file'
                             % (address, option, files[option]))
    return distributed.security.Security(
        tls_ca_file=scheduler.tls_ca_file, tls_client_cert=scheduler.tls_cert,
        tls_client_key=scheduler.tls_key, require_encryption=True)


class Connection:
    """A run's connection to a Dask cluster (local N started here, or a scheduler's
    address), with the bundle's pure code sent to it: connected by ``with``, which
    reports the worker threads found ("VERB on N Dask worker threads") and calls
    ``_started``; closed, the code taken back, when the ``with`` ends.  ``purpose`` names
    the work in errors ("combine on a cluster needs ...")."""

    purpose = 'combine'
    verb = 'Combining'

    def __init__(self, scheduler, report=None):
        """``scheduler``: a Scheduler, or its address alone."""
        if not isinstance(scheduler, Scheduler):
            scheduler = Scheduler(str(scheduler))
        self.address = parse_address(scheduler.address)
        try:
            import distributed
        except ImportError as e:
            raise InputError('%s on a cluster needs dask.distributed (%s), which installing'
                             ' the bundle (make install) installs; here it is missing: pip'
                             ' install the dask and distributed of requirements/runtime.txt'
                             % (self.purpose, e))
        self._distributed = distributed
        self.scheduler = scheduler
        self.security = _security(scheduler, self.address, distributed)
        self.report = report
        self.client = self.cluster = None
        self._archive = self._plugin = None
        self._quiet = _QuietDaskLogs()

    def _started(self):
        """Called once connected, the code sent (the work's own setup)."""

    def __enter__(self):
        distributed = self._distributed
        # What goes wrong reaches the user as one InputError, so Dask's own log records
        # of it (a CommClosedError traceback when the scheduler is lost) are not shown.
        self._quiet.__enter__()
        try:
            if isinstance(self.address, tuple):
                n, note = local_workers(self.address[1])
                if note and self.report is not None:
                    self.report(note, True)
                self.cluster = distributed.LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, host=LOCAL_HOST,
                    # Its HTTP server (health, metrics) runs anyway: loopback, any port.
                    dashboard_address=LOCAL_HOST + ':0', silence_logs=logging.ERROR)
                self.client = distributed.Client(self.cluster)
            else:
                self.client = distributed.Client(self.address, timeout=self.scheduler.timeout,
                                                 security=self.security)
        except (OSError, TimeoutError, ValueError) as e:
            self._close()
            if isinstance(self.address, tuple):
                raise InputError('cannot start the local Dask workers: %s' % e)
            raise InputError('cannot reach the Dask scheduler %s within %g s (schedulerTimeout'
                             ' gives it longer): %s' % (self.address, self.scheduler.timeout, e))
        threads = sum(self.client.nthreads().values())
        if not threads:
            self._close()
            raise InputError('the Dask scheduler %s has no workers' % (self.address,))
        self.workers = threads
        try:
            self._send_code()
            self._started()
        except BaseException:
            # __exit__ will not run: close the client, the local workers and the logs.
            self._close()
            raise
        if self.report is not None:
            self.report('%s on %d Dask worker thread%s (%s)'
                        % (self.verb, threads, '' if threads == 1 else 's',
                           self.client.scheduler.address),
                        True)
        return self

    def __exit__(self, *exc):
        self._close()

    def _send_code(self):
        """The bundle's pure code to the scheduler and every worker, new ones too, under
        a plugin name of this run's, so that _close can take it back."""
        plugins = self._distributed.diagnostics.plugin
        self._archive = _code_archive()
        self._plugin = 'connectome-code-%s' % uuid.uuid4().hex
        self.client.register_plugin(plugins.SchedulerUploadFile(self._archive),
                                    name=self._plugin)
        self.client.register_plugin(plugins.UploadFile(self._archive), name=self._plugin)

    def _take_code_back(self):
        """Undo _send_code on a cluster that outlives the run: no new worker gets the code,
        and the scheduler and workers drop the archive and the tiles they hold open."""
        self.client.unregister_worker_plugin(self._plugin)
        self.client.unregister_scheduler_plugin(self._plugin)
        self.client.run(_forget_code, ARCHIVE_NAME)
        self.client.run_on_scheduler(_forget_code, ARCHIVE_NAME)

    def _close(self):
        # A lost scheduler keeps nothing of the run (and a client that lost it would wait
        # out its timeout on each call).
        if (self.client is not None and self.cluster is None and self._plugin is not None
                and self.client.status == 'running'):
            try:
                self._take_code_back()
            except Exception:           # noqa: BLE001  (a cluster failing as the run ends)
                pass
        for thing in (self.client, self.cluster):
            if thing is not None:
                try:
                    thing.close()
                except Exception:       # noqa: BLE001  (closing after a failure)
                    pass
        self.client = self.cluster = None
        if self._archive is not None:
            shutil.rmtree(os.path.dirname(self._archive), ignore_errors=True)
            self._archive = None
        self._quiet.__exit__(None, None, None)

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
        return (OSError, TimeoutError, CancelledError,
                self._distributed.scheduler.KilledWorker)

    def _failure(self, e):
        text = str(e)
        if isinstance(e, CancelledError) and 'scheduler-connection-lost' in text:
            text = 'the connection to the scheduler was lost'
        else:
            text = '%s: %s' % (type(e).__name__, text.strip().split('\n')[0])
        return InputError('the Dask cluster %s failed (%s)'
                          % (self.client.scheduler.address if self.client else self.address,
                             text))

    def cancel(self, pending):
        futures = list(pending)
        if self.client is not None and futures:
            try:
                self.client.cancel(futures)
            except Exception:           # noqa: BLE001  (cancelling after a failure)
                pass


class Workers(Connection):
    """The chunk work of one combine on a cluster's workers (the runner interface of
    traversal.Engine: leaf, block, wait, cancel)."""

    reads_tiles = True          # every tile is read by the workers themselves

    def __init__(self, scheduler, source, works, levels, region_start, report=None):
        """``scheduler``: a Scheduler, or its address alone."""
        if not isinstance(scheduler, Scheduler):
            scheduler = Scheduler(str(scheduler))
        parse_address(scheduler.address)
        spec = source.worker_spec()
        if spec is None:
            raise InputError('combine on a cluster reads tile sets and stores only (the'
                             ' workers open the tiles themselves)')
        super().__init__(scheduler, report)
        self.spec = spec
        self.works = works
        self.levels = levels
        self.region_start = tuple(region_start)
        self.dtype = source.dtype
        # A task does a whole subtree of chunks, up to SUBTREE_LEVELS levels above full
        # resolution (64 leaves and their parents): Dask spends about a millisecond of
        # the writing process's time on each task, more than a chunk's own work takes.
        self.subtree_levels = min(SUBTREE_LEVELS, len(levels) - 1)

    def _started(self):
        # Named by each task. A task, not scattered data: Dask's active memory
        # manager keeps one copy of even a broadcast value, lost with its worker
        # (its dependents then cancelled as "already forgotten"); a task's result
        # the scheduler computes again.
        job = (self.spec, self.works, self.levels, self.region_start, self.dtype)
        self._job = self.client.submit(_given, job, pure=False)

    def leaf(self, start, stop):
        return self.client.submit(_remote_leaf, self._job, start, stop, pure=False)

    def block(self, level, a):
        return self.client.submit(_remote_block, self._job, level, a, pure=False)

    def subtree(self, level, index):
        return self.client.submit(_remote_subtree, self._job, level, index, pure=False)


def _code_archive():
    """A zip of this bundle's package (chimerax.connectome) for the cluster: only its
    pure folders are ever imported there.  ``chimerax`` in it is a pkgutil namespace
    package, so it does not hide a ChimeraX of the worker's own."""
    package_dir = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    folder = tempfile.mkdtemp(prefix='connectome-code-')
    path = os.path.join(folder, ARCHIVE_NAME)
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


class _QuietDaskLogs:
    """While a run lasts, Dask's loggers pass nothing below CRITICAL (their levels are
    restored after)."""

    def __enter__(self):
        names = ['distributed'] + [n for n in logging.Logger.manager.loggerDict
                                   if n.startswith('distributed.')]
        self._levels = {n: logging.getLogger(n).level for n in names}
        for n in names:
            logging.getLogger(n).setLevel(logging.CRITICAL)
        return self

    def __exit__(self, *exc):
        for n, level in getattr(self, '_levels', {}).items():
            logging.getLogger(n).setLevel(level)
        self._levels = {}


# --- on the workers ---------------------------------------------------------------------

_JOBS = {}                      # per worker process: the open source of each job's spec
_HDF5 = threading.Lock()        # its HDF5 calls, one thread at a time


def _forget_code(filename, dask_worker=None, dask_scheduler=None):
    """On a worker or the scheduler, at the end of a run: close the tiles its jobs hold
    open, take the bundle's archive off sys.path and delete it."""
    for source in _JOBS.values():
        source.close()
    _JOBS.clear()
    server = dask_worker if dask_worker is not None else dask_scheduler
    path = os.path.join(server.local_directory, filename)
    while path in sys.path:
        sys.path.remove(path)
    if os.path.isfile(path):
        os.remove(path)


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


def _given(job):
    return job


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
