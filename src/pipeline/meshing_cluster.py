"""``connectome meshes ... scheduler ADDRESS|local N``: the chunks and objects of a meshing
run as tasks on a Dask cluster, through the cluster path combine uses (cluster.py: the
connection, the bundle's pure code sent to the workers and taken back, TLS, ``local N`` on
loopback).

DaskPool stands where meshing.py's worker processes stand: ``submit(fn, *args)`` returns a
``concurrent.futures.Future`` that the Dask future completes, so meshing.py's one loop
(its window of tasks in flight, progress per task, cancel) runs the same either way and
the results are written by this process in the same way: the same bytes as a local run.
A large array argument (the region -> object lookup, one per run) goes to the cluster once,
as a task's result that every task names: not scattered data, which Dask's active memory
manager keeps one copy of, lost with its worker (cluster.py).  A cancelled future cancels
its Dask task; when the ``with`` ends every task still there is cancelled and the
connection closed; ``kill`` cancels them all, ``restart`` restarts the workers too (for
a task that runs past its time limit).  A worker lost (its tasks rerun elsewhere by Dask, or KilledWorker at
last) or the scheduler lost is an InputError naming the cluster.  The workers read the
segmentation themselves (shared storage or a store's URL).  Pure: no ChimeraX.
"""

import threading
from concurrent.futures import Future, InvalidStateError

import numpy as np

from . import cluster

LARGE_ARGUMENT = 1 << 16        # bytes: an array this big is sent once, as a task


class DaskPool(cluster.Connection):
    """meshing.py's pool of workers on a Dask cluster (``with`` connects and closes)."""

    purpose = 'connectome meshes'
    verb = 'Meshing'

    def __init__(self, scheduler, report=None):
        super().__init__(scheduler, report)
        self._sent = {}             # id(array): (array, its Dask future)
        self._running = {}          # Dask future: the Future handed out for it
        self._lock = threading.Lock()

    def __exit__(self, *exc):
        self.shutdown()
        return super().__exit__(*exc)

    def shutdown(self, wait=True, cancel_futures=True):
        """Cancel every task still on the cluster (as an Executor's shutdown with
        ``cancel_futures``; the connection stays until the ``with`` ends)."""
        with self._lock:
            running = dict(self._running)
            self._running.clear()
        for future in running.values():
            future.cancel()
        self.cancel(list(running))
        self._sent.clear()

    def kill(self):
        """Stop the work: every task still on the cluster cancelled (a task already
        running on a worker runs to its end there; nothing of it is used)."""
        self.shutdown()

    def restart(self):
        """Cancel every task and restart the cluster's workers (Dask's restart: a task
        stuck in native code ends with its worker process); the next tasks send the
        large arguments again, since a restart forgets every result."""
        self.shutdown()
        try:
            self.client.restart()
        except self._lost as e:
            raise self._failure(e)

    def _argument(self, a):
        if isinstance(a, np.ndarray) and a.nbytes >= LARGE_ARGUMENT:
            if id(a) not in self._sent:
                self._sent[id(a)] = (a, self.client.submit(cluster._given, a, pure=False))
            return self._sent[id(a)][1]
        return a

    def submit(self, fn, *args):
        task = self.client.submit(fn, *map(self._argument, args), pure=False)
        future = Future()
        with self._lock:
            self._running[task] = future

        def cancelled(f):
            if f.cancelled():
                self.cancel([task])

        def done(t):
            with self._lock:
                self._running.pop(t, None)
            try:
                if t.status == 'finished':
                    outcome = (future.set_result, t.result())
                else:
                    outcome = (future.set_exception, self._outcome_error(t))
            except BaseException as e:      # noqa: BLE001  (any failure reaches the loop)
                outcome = (future.set_exception, self._outcome_error(t, e))
            try:
                outcome[0](outcome[1])
            except InvalidStateError:       # cancelled meanwhile
                pass

        future.add_done_callback(cancelled)
        task.add_done_callback(done)
        return future

    def _outcome_error(self, task, error=None):
        """What a task that did not finish raised: its own error (an InputError of the
        work) as it is, the cluster's failure as an InputError naming the cluster."""
        if error is None:
            try:
                error = task.exception()
            except BaseException as e:      # noqa: BLE001  (a cancelled task raises)
                error = e
        if isinstance(error, self._lost):
            return self._failure(error)
        return error
