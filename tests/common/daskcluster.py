"""A real Dask cluster on this machine for tests: a `dask scheduler` process and a
`dask worker` process with N worker processes (each with its nanny), on loopback ports,
started the way a user starts them (the command lines), run from a folder where this
bundle cannot be imported, so what the workers run must come from combine itself."""

import os
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, workers=2):
        self.port = free_port()
        self.address = 'tcp://127.0.0.1:%d' % self.port
        self.folder = tempfile.mkdtemp(prefix='dask-test-')
        env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
        bin_dir = os.path.dirname(sys.executable)
        self.scheduler = subprocess.Popen(
            [os.path.join(bin_dir, 'dask'), 'scheduler', '--host', '127.0.0.1', '--port',
             str(self.port), '--no-dashboard', '--dashboard-address', '127.0.0.1:0'], cwd=self.folder, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.worker = subprocess.Popen(
            [os.path.join(bin_dir, 'dask'), 'worker', self.address, '--nworkers',
             str(workers), '--nthreads', '1', '--host', '127.0.0.1', '--no-dashboard',
             '--dashboard-address', '127.0.0.1:0', '--local-directory',
             self.folder], cwd=self.folder, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        self.wait_for_workers(workers)

    def client(self):
        from distributed import Client
        return Client(self.address, timeout=30, set_as_default=False)

    def wait_for_workers(self, n, timeout=60):
        deadline = time.monotonic() + timeout
        with self.client() as c:
            while len(c.scheduler_info()['workers']) < n:
                if time.monotonic() > deadline:
                    raise RuntimeError('%d Dask workers did not start' % n)
                time.sleep(0.2)

    def worker_pids(self):
        with self.client() as c:
            return sorted(c.run(os.getpid).values())

    def close(self):
        for p in (self.worker, self.scheduler):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, 9)
                except ProcessLookupError:
                    pass
                p.wait()
