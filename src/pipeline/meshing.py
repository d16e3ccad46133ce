"""``connectome meshes``: the surface of every chosen object of a class from the
full-resolution segmentation, at several levels of detail, written in neuroglancer's
multi-resolution mesh format (formats/meshes/).

Two passes, both bounded in memory.  First every chunk of the volume is meshed
(meshing_chunks.py: relabelled region -> object, one voxel of overlap, padded at the
volume's boundary) and its pieces kept in a work folder, chunk by chunk, so that a run
killed there continues from the chunks it finished.  Then the objects, in batches of at
most ``batch_triangles`` triangles: each object's pieces are its LOD 0 fragments, and
coarser LODs are made node by node from the finer level's, the node faces kept, so that
levels meet without a crack (meshing_lods.py).  The output folder is
written whole under a temporary name and published at the end (formats/locks.py); the
work folder is removed then.  zmesh and DracoPy hold the GIL, and a crash in their native
code would end the process that runs them (ChimeraX), so chunks and objects are always
meshed in ``workers`` (at least one) worker processes (``spawn``, which imports only the
pure code); a worker that dies becomes an InputError naming the objects or chunks it was
meshing, with no output written and the finished chunks kept for a re-run.  The wait
for the workers polls: a cancel (Ctrl-C) is noticed while a worker is busy, and then the
workers are killed (nothing is written; the finished chunks are kept).  An object whose
simplification runs past its time limit (``TimeLimit``; zmesh's quadric edge collapse,
used before, was seen never to return) has its workers killed and replaced, and is
made once more without a limit, which is logged.

Coordinates: "stored model" coordinates are voxel indices (voxel i's centre at i), the
octree's grid starts at -1 (the padding) with nodes of ``side`` voxels, and ``info``'s
transform takes them to ChimeraX's placement of the map in nm: origin + i * step.
Pure: numpy, h5py, fastremap, zmesh, DracoPy.
"""

import hashlib
import multiprocessing
import os
import shutil
import signal
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Optional, Sequence

import numpy as np

from ..errors import InputError
from ..formats import locks
from ..formats.meshes import MeshInfo, encode_object
from ..progress import Progress, cancel_requested
from . import cluster
from .meshing_chunks import COMMAND, WorkFolder, chunk_grid, mesh_chunk
from .meshing_lods import object_lods
from .meshing_output import finish_folder

DEFAULT_SIDE = 128              # voxels along each axis of a chunk (an LOD 0 node)
DEFAULT_LODS = 3
QUANTIZATION_BITS = 16
BATCH_TRIANGLES = 20_000_000    # LOD 0 triangles of the objects assembled at once
# Tests only: a worker process meshing this ("object 12", "chunk 0,1,2") aborts itself
# (SIGABRT, as a native library's abort does).  Read in worker processes only.
CRASH_VARIABLE = 'CONNECTOME_MESHES_TEST_CRASH'
# Tests only: a worker process simplifying this object ("object 12") never returns (as
# zmesh's simplifier did), the first time it is asked to; "object 12 > PATH" also makes
# the file PATH (holding the worker's process id) once it hangs.  Read in workers only.
HANG_VARIABLE = 'CONNECTOME_MESHES_TEST_HANG'
# The time limit of one object's simplification: "SECONDS[,SECONDS_PER_MILLION]"
# (TimeLimit), for a run that must differ from the default.
LIMIT_VARIABLE = 'CONNECTOME_MESHES_TIME_LIMIT'
POLL_SECONDS = 0.25             # how often a wait for the workers looks at cancel and time
LIBRARIES = {'chunk': 'zmesh marching cubes', 'object': 'zmesh simplifier or DracoPy'}


@dataclass(frozen=True)
class TimeLimit:
    """How long one object's levels of detail may take in a worker before it is killed
    and the object's levels are made by the fallback: ``seconds``, plus
    ``per_million`` seconds per million LOD-0 triangles (zmesh simplifies about a
    million a few seconds on one core; the default leaves a wide margin for a loaded
    machine).  None seconds: no limit."""
    seconds: Optional[float] = 120.0
    per_million: float = 60.0

    def of(self, triangles):
        if self.seconds is None:
            return None
        return self.seconds + self.per_million * triangles / 1e6

    @classmethod
    def from_environment(cls):
        text = os.environ.get(LIMIT_VARIABLE)
        if not text:
            return cls()
        try:
            values = [float(t) for t in text.split(',')]
            if len(values) > 2 or min(values) <= 0:
                raise ValueError
        except ValueError:
            raise InputError('%s=%r is not SECONDS[,SECONDS_PER_MILLION]'
                             % (LIMIT_VARIABLE, text)) from None
        return cls(*values)


@dataclass(frozen=True)
class MeshJob:
    """What to mesh: ``seg`` (meshing_chunks.Segmentation), ``class_name`` and the
    object ``ids`` chosen (None: all), into the folder ``output``, ``sharded`` or not
    (None: chosen from the number of objects, meshing_output.py)."""
    seg: object
    class_name: str
    ids: Optional[Sequence[int]]
    output: str
    lods: int = DEFAULT_LODS
    side: int = DEFAULT_SIDE
    replace: bool = False
    sharded: Optional[bool] = None


@dataclass(frozen=True)
class MeshResult:
    """What a run made: objects, triangles per LOD (all objects), chunks meshed now and
    taken from an earlier run."""
    objects: int
    triangles: tuple
    chunks_meshed: int
    chunks_kept: int


def lookup_of(values, ids, regions=0):
    """Per region, the object id it is meshed as (0: none): ``values`` is the class's
    attribute array, ``ids`` the objects chosen (None: all); ``regions``, the values an
    id map has given (meshing_chunks.Segmentation), when more than the array covers
    (values given after it was written: regions in no object)."""
    values = np.asarray(values)
    if values.ndim != 1 or not np.issubdtype(values.dtype, np.integer):
        raise InputError('the class array is not one integer per region')
    lookup = np.zeros(max(len(values), regions), np.uint64)
    lookup[:len(values)] = np.where(values > 0, values, 0)
    if ids is not None:
        lookup[~np.isin(lookup, np.asarray(list(ids), np.uint64))] = 0
    return lookup


def transform_of(seg):
    """info's 3x4 transform: voxel index -> ChimeraX's scene coordinates (nm)."""
    (ox, oy, oz), (sx, sy, sz) = seg.origin, seg.step
    return (sx, 0, 0, ox, 0, sy, 0, oy, 0, 0, sz, oz)


def parameters_of(job, lookup):
    """What a work folder's chunks depend on: a re-run keeps them only if all are equal."""
    return {'segmentation': os.path.abspath(job.seg.path) if '://' not in job.seg.path
            else job.seg.path, 'shape': list(job.seg.shape), 'class': job.class_name,
            'side': job.side, 'lookup': hashlib.sha256(lookup.tobytes()).hexdigest(),
            **({'id_map': job.seg.id_map_digest} if job.seg.id_map_digest else {})}


def make_meshes(job, values, workers=1, report=None, batch_triangles=BATCH_TRIANGLES,
                scheduler=None, time_limit=None):
    """Mesh ``job`` whose class array is ``values``; returns a MeshResult.  With
    ``scheduler`` (cluster.Scheduler) the work runs on that Dask cluster
    (meshing_cluster.py) rather than in ``workers`` local processes.
    ``time_limit``: a TimeLimit (default: TimeLimit.from_environment())."""
    time_limit = time_limit or TimeLimit.from_environment()
    lookup = lookup_of(values, job.ids, job.seg.id_values)
    if not lookup.any():
        raise InputError('%s: no region belongs to %s %s' % (job.seg.path, job.class_name,
                                                              'all' if job.ids is None else
                                                              ','.join(map(str, job.ids))))
    grid = chunk_grid(job.seg.shape, job.side)
    positions = [(x, y, z) for z in range(grid[2]) for y in range(grid[1])
                 for x in range(grid[0])]
    info = MeshInfo(transform_of(job.seg), QUANTIZATION_BITS)
    with locks.exclusive(job.output, COMMAND, report):
        if (os.path.isdir(job.output) and os.listdir(job.output) and not job.replace):
            raise InputError('folder %s exists and is not empty (use replace true to'
                             ' overwrite it)' % job.output, job.output)
        work = WorkFolder(job.output, parameters_of(job, lookup))
        done = work.open(report)
        with _pool(workers, scheduler, report) as pool:
            meshed = _mesh_chunks(pool, job, lookup, work, positions, done, report)
            with locks.atomic_output(job.output, COMMAND, replace=job.replace,
                                     kind='folder', report=report) as temp:
                counts = _assemble(pool, job, work, positions, temp, batch_triangles,
                                   time_limit, report)
                finish_folder(temp, info, job.sharded, report, os.path.basename(job.output))
        work.remove()
    return MeshResult(counts[0], tuple(counts[1]), meshed, len(done & set(positions)))


# A worker's start: the code archive first on its path, and the end of the worker when its
# parent (ChimeraX) is gone (killed: nothing else would end a waiting worker): on Linux
# the kernel's SIGKILL (PR_SET_PDEATHSIG, which also ends a worker stuck in native code
# holding the GIL), elsewhere a thread that watches the parent.
_WORKER_START = '''
import os, sys, threading, time
sys.path.insert(0, %r)
if sys.platform.startswith('linux'):
    import ctypes
    ctypes.CDLL(None).prctl(1, 9)      # PR_SET_PDEATHSIG, SIGKILL
def _watch(parent):
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)
threading.Thread(target=_watch, args=(%d,), daemon=True).start()
open(os.path.join(%r, str(os.getpid())), 'x').close()
'''


class _Workers:
    """Worker processes started by ``spawn`` (no copy of a ChimeraX session's threads),
    which import the bundle's pure code from the archive the cluster path sends to Dask
    workers (first on their path, so it is found whatever ``chimerax`` they have), and
    which end themselves when this process is gone.  Each worker leaves its process id
    in the archive's folder, so that ``kill`` ends exactly these (a ProcessPoolExecutor
    can only wait for a worker stuck in native code); ``restart`` kills them and starts
    new ones.  Leaving the ``with`` block by an exception kills them too."""

    def __init__(self, workers):
        self.workers = workers
        self.archive = cluster._code_archive()
        self.ids = os.path.join(os.path.dirname(self.archive), 'workers')
        os.mkdir(self.ids)
        self.executor = self._start()

    def _start(self):
        return ProcessPoolExecutor(
            self.workers, mp_context=multiprocessing.get_context('spawn'),
            initializer=exec,
            initargs=(_WORKER_START % (self.archive, os.getpid(), self.ids), {}))

    def submit(self, fn, *args):
        return self.executor.submit(fn, *args)

    def kill(self):
        ours = {p.pid for p in multiprocessing.active_children()}
        for name in os.listdir(self.ids):
            if name.isdigit() and int(name) in ours:
                try:
                    os.kill(int(name), signal.SIGKILL)
                except ProcessLookupError:
                    pass
            os.remove(os.path.join(self.ids, name))
        self.executor.shutdown(wait=True, cancel_futures=True)

    def restart(self):
        self.kill()
        self.executor = self._start()

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        try:
            if kind is None:
                self.executor.shutdown(wait=True)
            else:
                self.kill()
        finally:
            shutil.rmtree(os.path.dirname(self.archive), ignore_errors=True)


def _pool(workers, scheduler=None, report=None):
    if scheduler is not None:
        from .meshing_cluster import DaskPool
        return DaskPool(scheduler, report)
    return _Workers(max(1, workers))


def _run(pool, tasks, progress, on_result, window, work, limit=None, retry=None,
         report=None):
    """Submit ``tasks`` (what, fn, args: ``what`` is ('object', id) or ('chunk',
    position)) keeping at most ``window`` in flight; results go to ``on_result`` in this
    process; progress advances per task (a cancel point), and the wait polls, so a
    cancel is noticed while the workers are busy (the caller's ``with`` kills them).
    ``limit(task)``: the seconds a task may take (None: no limit), timed from its
    submission (``window`` at most the workers, so a task submitted starts at once);
    the workers are then restarted, the task replaced by ``retry(task)`` (which has no
    limit) and the others in flight submitted again.  A worker that died (a crash in
    native code) is an InputError naming what was in flight."""
    pending = {}
    tasks = iter(tasks)

    def submit(task, limited=True):
        seconds = limit(task) if limit is not None and limited else None
        pending[pool.submit(*task[1:])] = (task, time.monotonic(), seconds, limited)

    while True:
        while len(pending) < window:
            task = next(tasks, None)
            if task is None:
                break
            submit(task)
        if not pending:
            return
        finished, _ = wait(pending, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
        if cancel_requested():
            progress.advance(0)
        for f in finished:
            if isinstance(f.exception(), BrokenProcessPool):
                raise _worker_died(sorted(t[0] for t, *_ in pending.values()), work) \
                    from None
        for f in finished:
            pending.pop(f)
            on_result(f.result())
            progress.advance()
        now = time.monotonic()
        late = [f for f, (t, start, seconds, _) in pending.items()
                if seconds is not None and now - start > seconds]
        if late:
            again = list(pending.values())
            pending.clear()
            pool.restart()
            for task, start, seconds, limited in again:
                if seconds is not None and now - start > seconds:
                    if report is not None:
                        report('%s %s: %s did not finish in %.0f s; its worker was'
                               ' replaced and it is made again with no time limit' % (
                                   task[0][0], task[0][1], LIBRARIES[task[0][0]],
                                   seconds), True)
                    submit(retry(task), limited=False)
                else:
                    submit(task, limited)


def _worker_died(in_flight, work):
    """The error for a worker process that died meshing one of ``in_flight``."""
    kinds = sorted({kind for kind, _ in in_flight})
    names = '; '.join('%s %s' % (kind, ', '.join(
        ','.join(map(str, w)) if isinstance(w, tuple) else str(w)
        for k, w in in_flight if k == kind)) for kind in kinds)
    return InputError('a worker process died (a crash in native code: %s) while meshing'
                      ' %s%s; nothing was written, and the %d chunks finished are kept in'
                      ' %s for a re-run' % (
                          ' / '.join(LIBRARIES[k] for k in kinds),
                          'one of ' if len(in_flight) > 1 else '', names,
                          len(work.finished()), work.path), work.path)


def _hang_if_asked(kind, what):
    """Tests only: never return where HANG_VARIABLE names ``what``."""
    wanted, _, mark = os.environ.get(HANG_VARIABLE, '').partition(' > ')
    if wanted and multiprocessing.parent_process() is not None:
        if wanted == '%s %s' % (kind, what):
            if mark:
                with open(mark, 'x') as f:
                    f.write(str(os.getpid()))
            while True:
                time.sleep(1)


def _crash_if_asked(kind, what):
    """Tests only: abort this worker process where CRASH_VARIABLE names ``what``."""
    wanted = os.environ.get(CRASH_VARIABLE)
    if wanted and multiprocessing.parent_process() is not None:
        name = ','.join(map(str, what)) if isinstance(what, tuple) else str(what)
        if wanted == '%s %s' % (kind, name):
            os.kill(os.getpid(), signal.SIGABRT)


def _chunk_task(seg, lookup, side, position):
    _crash_if_asked('chunk', position)
    return position, mesh_chunk(seg, lookup, side, position)


def _mesh_chunks(pool, job, lookup, work, positions, done, report):
    todo = [p for p in positions if p not in done]
    progress = Progress('meshes %s: chunks' % os.path.basename(job.output), len(todo),
                        'chunks', report)
    _run(pool, ((('chunk', p), _chunk_task, job.seg, lookup, job.side, p) for p in todo),
         progress, lambda result: work.save(*result), 2 * pool.workers, work)
    progress.finish()
    return len(todo)


def _object_task(object_id, pieces, lods, side, step, top, method='zmesh'):
    _crash_if_asked('object', object_id)
    if method == 'zmesh':
        _hang_if_asked('object', object_id)
    levels = object_lods(pieces, lods, side, step, top=top, method=method)
    manifest, data = encode_object(levels, (side,) * 3, (-1.0,) * 3, QUANTIZATION_BITS)
    return object_id, manifest, data, [sum(len(f) for v, f in level.values())
                                       for level in levels]


def _assemble(pool, job, work, positions, folder, batch_triangles, time_limit, report):
    """Write every object's manifest and fragments; (objects, triangles per LOD)."""
    triangles = {}
    where = {}
    for p in positions:
        ids, counts = work.counts(p)
        for object_id, n in zip(ids.tolist(), counts.tolist()):
            triangles[object_id] = triangles.get(object_id, 0) + n
            where.setdefault(object_id, []).append(p)
    progress = Progress('meshes %s: objects' % os.path.basename(job.output), len(triangles),
                        'objects', report)
    totals = [0] * job.lods
    batch, size = [], 0
    batches = []
    for object_id in sorted(triangles):
        if batch and size + triangles[object_id] > batch_triangles:
            batches.append(batch)
            batch, size = [], 0
        batch.append(object_id)
        size += triangles[object_id]
    if batch:
        batches.append(batch)

    def written(result):
        object_id, manifest, data, counts = result
        with open(os.path.join(folder, '%d.index' % object_id), 'xb') as f:
            f.write(manifest)
        with open(os.path.join(folder, '%d' % object_id), 'xb') as f:
            f.write(data)
        for k, n in enumerate(counts):
            totals[k] += n

    for batch in batches:
        wanted = set(batch)
        pieces = {object_id: {} for object_id in batch}
        for p in sorted({p for object_id in batch for p in where[object_id]}):
            for object_id, mesh in work.load(p).objects().items():
                if object_id in wanted:
                    pieces[object_id][p] = mesh
        _run(pool, ((('object', i), _object_task, i, pieces.pop(i), job.lods, job.side,
                     job.seg.step, tuple(reversed(job.seg.shape)))
                    for i in batch), progress, written, pool.workers, work,
             limit=lambda task: time_limit.of(triangles[task[0][1]]),
             retry=lambda task: task + ('fqmr',), report=report)
    progress.finish()
    return len(triangles), totals
