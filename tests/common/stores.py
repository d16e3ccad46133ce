"""Small chunked stores for tests, written by the field's own libraries: neuroglancer
precomputed by tensorstore and by CloudVolume (raw and compressed_segmentation,
sharded and unsharded), OME-Zarr and N5 by zarr-python, OME-Zarr v0.5 (Zarr v3) by
tensorstore.  Each writer takes the levels as numpy arrays (z,y,x, full resolution
first), so a test compares what the bundle reads with exactly what was written, and an
HTTP server on the loopback address stands in for a remote bucket.
"""

import functools
import http.server
import json
import os
import re
import socket
import threading
import warnings

import numpy as np


def padded(level, shape):
    """A written level inside the level grid a store reads (rounded up: zeros past)."""
    out = np.zeros(shape, level.dtype)
    out[tuple(slice(0, n) for n in level.shape)] = level
    return out


def pyramid(volume, factors):
    """Levels [volume, volume[::f1], ...] for factors (z,y,x) relative to the full
    resolution: striding keeps every voxel an exact copy, which is what the tests check."""
    return [volume] + [volume[::fz, ::fy, ::fx] for fz, fy, fx in factors]


# ----------------------------------------------------------------------------
# neuroglancer precomputed

SHARDING = {'@type': 'neuroglancer_uint64_sharded_v1', 'preshift_bits': 0,
            'hash': 'identity', 'minishard_bits': 1, 'shard_bits': 2,
            'minishard_index_encoding': 'gzip', 'data_encoding': 'gzip'}


def precomputed_tensorstore(path, levels, factors, resolution=(8, 8, 40), offset=(0, 0, 0),
                            encoding='raw', sharded=False, kind=None, chunk=(16, 16, 8)):
    """Write levels with tensorstore's neuroglancer_precomputed driver; ``factors`` are
    x,y,z per level after the first; resolution, offset and chunk x,y,z."""
    import tensorstore as ts
    dtype = levels[0].dtype
    kind = kind or ('segmentation' if dtype.kind in 'iu' and dtype.itemsize > 1 else 'image')
    for k, a in enumerate(levels):
        f = (1, 1, 1) if k == 0 else factors[k - 1]
        scale = {'size': list(reversed(a.shape)),
                 'resolution': [r * v for r, v in zip(resolution, f)],
                 'voxel_offset': [o // v for o, v in zip(offset, f)],
                 'encoding': encoding, 'chunk_size': list(chunk)}
        if encoding == 'compressed_segmentation':
            scale['compressed_segmentation_block_size'] = [8, 8, 8]
        if sharded:
            scale['sharding'] = SHARDING
        t = ts.open({'driver': 'neuroglancer_precomputed',
                     'kvstore': {'driver': 'file', 'path': str(path) + '/'},
                     'multiscale_metadata': {'type': kind, 'data_type': dtype.name,
                                             'num_channels': 1},
                     'scale_metadata': scale}, create=True).result()
        t[..., 0].T.write(a).result()
    return str(path)


def precomputed_cloudvolume(path, levels, factors, resolution=(8, 8, 40), offset=(0, 0, 0),
                            encoding='raw', chunk=(16, 16, 8), compress=False):
    """Write levels with CloudVolume (file://), scales added by its add_scale."""
    from cloudvolume import CloudVolume
    a0 = levels[0]
    kind = 'segmentation' if a0.dtype.kind in 'iu' and a0.dtype.itemsize > 1 else 'image'
    info = CloudVolume.create_new_info(
        num_channels=1, layer_type=kind, data_type=a0.dtype.name, encoding=encoding,
        resolution=list(resolution), voxel_offset=list(offset),
        volume_size=list(reversed(a0.shape)), chunk_size=list(chunk),
        compressed_segmentation_block_size=[8, 8, 8])
    url = 'file://' + str(path)
    vol = CloudVolume(url, info=info, compress=compress, progress=False)
    for f in factors:
        vol.add_scale(list(f), chunk_size=list(chunk), encoding=encoding)
    vol.commit_info()
    for mip, a in enumerate(levels):
        v = CloudVolume(url, mip=mip, compress=compress, progress=False,
                        fill_missing=True)
        lo = v.voxel_offset
        # CloudVolume indexes x,y,z and takes x,y,z(,channel) arrays.
        v[lo[0]:lo[0] + a.shape[2], lo[1]:lo[1] + a.shape[1], lo[2]:lo[2] + a.shape[0]] = \
            np.ascontiguousarray(a.transpose(2, 1, 0))
    return str(path)


# ----------------------------------------------------------------------------
# Zarr, OME-Zarr, N5

def _zarr():
    import zarr
    warnings.filterwarnings('ignore', message='The N5Store is deprecated')
    return zarr


def ome_zarr(path, levels, factors, voxel_size=(8, 8, 40), unit='nanometer',
             translation=(0, 0, 0), label=False, channels=None, chunk=(8, 16, 16)):
    """An OME-Zarr 0.4 image (Zarr v2, written by zarr-python): datasets 0, 1, ... with
    scale transforms; ``channels`` adds a c axis (levels then c,z,y,x); voxel_size and
    translation x,y,z."""
    zarr = _zarr()
    root = zarr.open_group(str(path), mode='w')
    axes = [{'name': a, 'type': 'space', 'unit': unit} for a in 'zyx']
    if channels:
        axes = [{'name': 'c', 'type': 'channel'}] + axes
    datasets = []
    for k, a in enumerate(levels):
        f = (1, 1, 1) if k == 0 else factors[k - 1]
        scale = [v * s for v, s in zip(voxel_size, f)][::-1]
        shift = list(translation)[::-1]
        if channels:
            scale, shift = [1.0] + scale, [0.0] + shift
        c = ((1,) if channels else ()) + tuple(chunk)
        root.create_dataset(str(k), data=a, chunks=c, dimension_separator='/')
        datasets.append({'path': str(k), 'coordinateTransformations': [
            {'type': 'scale', 'scale': scale}, {'type': 'translation', 'translation': shift}]})
    attrs = {'multiscales': [{'version': '0.4', 'axes': axes, 'datasets': datasets,
                              'name': os.path.basename(str(path))}]}
    if label:
        attrs['image-label'] = {'version': '0.4'}
    root.attrs.update(attrs)
    return str(path)


def ome_zarr_v3(path, levels, factors, voxel_size=(8, 8, 40), chunk=(8, 16, 16)):
    """An OME-Zarr 0.5 image (Zarr v3), written by tensorstore's zarr3 driver."""
    import tensorstore as ts
    os.makedirs(str(path), exist_ok=True)
    datasets = []
    for k, a in enumerate(levels):
        f = (1, 1, 1) if k == 0 else factors[k - 1]
        t = ts.open({'driver': 'zarr3', 'kvstore': {'driver': 'file',
                                                    'path': '%s/%d/' % (path, k)}},
                    create=True, dtype=a.dtype.name, shape=a.shape,
                    chunk_layout=ts.ChunkLayout(chunk_shape=list(chunk))).result()
        t.write(a).result()
        datasets.append({'path': str(k), 'coordinateTransformations': [
            {'type': 'scale', 'scale': [v * s for v, s in zip(voxel_size, f)][::-1]}]})
    meta = {'zarr_format': 3, 'node_type': 'group', 'attributes': {'ome': {
        'version': '0.5', 'multiscales': [{
            'axes': [{'name': a, 'type': 'space', 'unit': 'nanometer'} for a in 'zyx'],
            'datasets': datasets}]}}}
    with open(os.path.join(str(path), 'zarr.json'), 'w') as f:
        json.dump(meta, f)
    return str(path)


def n5(path, levels, factors, resolution=(8, 8, 40), chunk=(8, 16, 16)):
    """An N5 multiscale group (zarr-python's N5Store): datasets s0, s1, ... with
    downsamplingFactors, the group's pixelResolution in nm (N5 Viewer's layout)."""
    zarr = _zarr()
    store = zarr.N5Store(str(path))
    root = zarr.group(store=store, overwrite=True)
    for k, a in enumerate(levels):
        f = (1, 1, 1) if k == 0 else factors[k - 1]
        d = root.create_dataset('s%d' % k, data=a, chunks=chunk)
        d.attrs['downsamplingFactors'] = list(f)
    root.attrs['pixelResolution'] = {'dimensions': list(resolution), 'unit': 'nm'}
    root.attrs['axes'] = ['x', 'y', 'z']
    return str(path)


# ----------------------------------------------------------------------------
# A remote store on the loopback address

class _RangeHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with HTTP range requests (sharded stores read byte ranges)."""

    def log_message(self, *args):
        pass

    def send_head(self):
        m = re.match(r'bytes=(\d+)-(\d*)$', self.headers.get('Range', ''))
        if not m:
            return super().send_head()
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return None
        size = os.path.getsize(path)
        start = int(m.group(1))
        stop = min(int(m.group(2)) + 1 if m.group(2) else size, size)
        f = open(path, 'rb')
        f.seek(start)
        self.send_response(206)
        self.send_header('Content-Range', 'bytes %d-%d/%d' % (start, stop - 1, size))
        self.send_header('Content-Length', str(stop - start))
        self.end_headers()
        self.wfile.write(f.read(stop - start))
        f.close()
        return None


class LoopbackServer:
    """Serves a folder at http://127.0.0.1:PORT/ while in a with block."""

    def __init__(self, folder):
        handler = functools.partial(_RangeHandler, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
        self.url = 'http://127.0.0.1:%d/' % self.server.server_address[1]

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class _HangingHandler(_RangeHandler):
    """Static files, except those ``hang(path)`` picks: their request is left
    unanswered until the server closes (a server that never answers, or answers its
    metadata and never its chunks)."""

    hang = staticmethod(lambda path: True)
    closing = None

    def send_head(self):
        if self.hang(self.path):
            self.closing.wait()
            return None
        return super().send_head()


class HangingServer(LoopbackServer):
    """A LoopbackServer whose answers to the paths ``hang`` picks never come."""

    def __init__(self, folder, hang=lambda path: True):
        self.closing = threading.Event()
        handler = type('Handler', (_HangingHandler,), {'hang': staticmethod(hang),
                                                       'closing': self.closing})
        self.server = http.server.ThreadingHTTPServer(
            ('127.0.0.1', 0), functools.partial(handler, directory=str(folder)))
        self.server.daemon_threads = True
        self.url = 'http://127.0.0.1:%d/' % self.server.server_address[1]

    def __exit__(self, *exc):
        self.closing.set()
        super().__exit__(*exc)


def refused_port():
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]
