"""A real Dask cluster on this machine for tests: a `dask scheduler` process and a
`dask worker` process with N worker processes (each with its nanny), on loopback ports,
started the way a user starts them (the command lines), run from a folder where this
bundle cannot be imported, so what the workers run must come from combine itself.  Every
listener is on 127.0.0.1 (listeners() says which there are); with ``tls`` (tls_files())
the cluster speaks Dask's TLS only."""

import datetime
import ipaddress
import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import NamedTuple

import psutil
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class TlsFiles(NamedTuple):
    ca: str                     # the certificate authority's certificate (PEM)
    cert: str                   # a certificate it signed, for 127.0.0.1
    key: str                    # that certificate's key


def tls_files(folder):
    """A throwaway certificate authority and one certificate it signed (for 127.0.0.1,
    used by the scheduler, the workers and the client alike), written under folder."""
    def name(text):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name('test CA')).issuer_name(name('test CA'))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    cert = (x509.CertificateBuilder().subject_name(name('127.0.0.1')).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address('127.0.0.1'))]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    files = TlsFiles(*(os.path.join(str(folder), n) for n in ('ca.pem', 'cert.pem', 'key.pem')))
    for path, data in ((files.ca, ca.public_bytes(serialization.Encoding.PEM)),
                       (files.cert, cert.public_bytes(serialization.Encoding.PEM)),
                       (files.key, key.private_bytes(serialization.Encoding.PEM,
                                                     serialization.PrivateFormat.PKCS8,
                                                     serialization.NoEncryption()))):
        with open(path, 'wb') as f:
            f.write(data)
    return files


def listeners(pids):
    """The (ip, port) every process of pids and their children listens on."""
    found = []
    for pid in pids:
        try:
            top = psutil.Process(pid)
            for p in [top] + top.children(recursive=True):
                found += [(c.laddr.ip, c.laddr.port) for c in p.net_connections('inet')
                          if c.status == psutil.CONN_LISTEN]
        except psutil.NoSuchProcess:
            pass
    return found


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Cluster:
    def __init__(self, workers=2, tls=None):
        self.port = free_port()
        self.tls = tls
        self.address = '%s://127.0.0.1:%d' % ('tls' if tls else 'tcp', self.port)
        secure = [] if tls is None else ['--tls-ca-file', tls.ca, '--tls-cert', tls.cert,
                                         '--tls-key', tls.key]
        self.folder = tempfile.mkdtemp(prefix='dask-test-')
        env = {k: v for k, v in os.environ.items() if k != 'PYTHONPATH'}
        bin_dir = os.path.dirname(sys.executable)
        self.scheduler = subprocess.Popen(
            [os.path.join(bin_dir, 'dask'), 'scheduler', '--host', '127.0.0.1', '--port',
             str(self.port), '--no-dashboard', '--dashboard-address', '127.0.0.1:0']
            + (['--protocol', 'tls'] if tls else []) + secure, cwd=self.folder, env=env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.worker = subprocess.Popen(
            [os.path.join(bin_dir, 'dask'), 'worker', self.address, '--nworkers',
             str(workers), '--nthreads', '1', '--host', '127.0.0.1', '--no-dashboard',
             '--dashboard-address', '127.0.0.1:0', '--local-directory',
             self.folder] + secure, cwd=self.folder, env=env, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        self.wait_for_workers(workers)

    def client(self):
        from distributed import Client
        from distributed.security import Security
        security = None if self.tls is None else Security(
            tls_ca_file=self.tls.ca, tls_client_cert=self.tls.cert, tls_client_key=self.tls.key,
            require_encryption=True)
        return Client(self.address, timeout=30, set_as_default=False, security=security)

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

    def listeners(self):
        return listeners([self.scheduler.pid, self.worker.pid])

    def close(self):
        for p in (self.worker, self.scheduler):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, 9)
                except ProcessLookupError:
                    pass
                p.wait()
