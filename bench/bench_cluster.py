"""``python -m bench cluster [--quick]``: connectome combine on a Dask cluster against the
same combine without one, side by side on the same tiles, and how many chunks a second
the writer alone can take (so: how many workers one writer can feed).

Figures printed:

- combine with threads (no cluster) and combine on a cluster of 2 worker processes (a
  `dask scheduler` and `dask worker --nworkers 2 --nthreads 1` started here, loopback),
  wall time each, and the cluster's overhead per chunk: (cluster wall - threads wall)
  / chunks.  On this 2-core machine the cluster cannot be faster: its workers, the
  scheduler and the writer share the same 2 cores; the figure is the cost of the
  cluster, not its gain.
- the writer alone: the output's chunks, already compressed, written again with direct
  chunk writes (what the writing process does for each chunk a worker sends), chunks/s
  and MB/s; and the chunk rate of one core doing the chunk work (threads run above,
  per core).  Their ratio is how many worker cores one writer can keep up with.

The tiles: the dense neuropil segmentation of bench combine (bench/neuropil.py: ~15,000
voxels a region, deflate ~29:1), 4 x 2 x 1 tiles of 256^3 (2 x 2 x 1 with --quick).
Each measured step runs in its own process.
"""

import json
import os
import shutil
import sys
import tempfile
import time

import h5py
import hdf5plugin  # noqa: F401  (reads the Blosc chunks back)

from . import DATA, REPO, neuropil
from .bench_combine import COMPRESSION, VOXEL_SIZE, run_child
from chimerax.connectome.progress import format_bytes, format_duration

sys.path.insert(0, os.path.join(REPO, 'tests', 'common'))
import daskcluster  # noqa: E402

CLUSTER_CHILD = '''
from chimerax.connectome.formats import tiles
from chimerax.connectome.pipeline import combine
t = time.perf_counter()
with tiles.open_tiles(args['tiles']) as ts:
    r = combine.combine(ts, args['output'], replace=True, voxel_size=args['voxel_size'],
                        scheduler=args['scheduler'], region=args['region'],
                        **args['compression'])
wall = time.perf_counter() - t
print(json.dumps({'wall': wall, 'cpu': time.process_time(), 'chunks': r.chunks_written,
                  'bytes': r.file_bytes,
                  'input': r.input_bytes, 'workers': r.workers, 'threads': r.threads,
                  'maxrss': peak_rss()}))
'''


def writer_rate(path, work):
    """Chunks/s and bytes/s of writing the compressed chunks of ``path`` again, as the
    writing process does with what workers send."""
    from chimerax.connectome.formats.cmap import ChimeraMapWriter
    chunks = []
    with h5py.File(path, 'r') as f:
        g = f['/Chimera/image1']
        steps, shape, dtype = [], None, None
        for name, d in g.items():
            level = 0 if name == 'data_zyx' else None
            if level is None:
                steps.append(tuple(int(s) for s in d.attrs['subsample_spacing']))
            else:
                shape, dtype = d.shape, d.dtype
        steps.sort()
        names = ['data_zyx'] + ['data_zyx_%d_%d_%d' % s for s in steps]
        for level, name in enumerate(names):
            d = g[name]
            cs = d.chunks
            for i in range(d.id.get_num_chunks()):
                info = d.id.get_chunk_info(i)
                chunks.append((level, info.chunk_offset,
                               d.id.read_direct_chunk(info.chunk_offset)[1]))
    out = os.path.join(work, 'rewrite.cmap')
    w = ChimeraMapWriter(out, shape, dtype, steps, chunk_side=cs[0], **{
        'compress_method': COMPRESSION['compress_method'],
        'compress_level': COMPRESSION['compress_level']})
    t = time.perf_counter()
    for level, offset, data in chunks:
        # Stored chunks, which are thinner than combine's blocks at full resolution.
        w.write_stored_chunk(level, offset, data)
    w.close()
    seconds = time.perf_counter() - t
    os.remove(out)
    nbytes = sum(len(c[2]) for c in chunks)
    return len(chunks) / seconds, nbytes / seconds, len(chunks)


def main(flags):
    started = time.perf_counter()
    quick = '--quick' in flags
    grid = (2, 2, 1) if quick else (4, 2, 1)
    folder, facts = neuropil.tile_set(grid, 256)
    print('tiles: %s, %d x %d x %d voxels uint32, %s raw, deflate %.1f:1'
          % (folder, *facts['shape'][::-1], format_bytes(facts['raw_bytes']), facts['ratio']),
          flush=True)
    work = tempfile.mkdtemp(prefix='bench-cluster-', dir=DATA)
    cluster = daskcluster.Cluster(workers=2)
    try:
        args = dict(tiles=folder, voxel_size=VOXEL_SIZE, compression=COMPRESSION)
        local = run_child(CLUSTER_CHILD, output=os.path.join(work, 'local.cmap'),
                          scheduler=None, region=None, **args)
        remote = run_child(CLUSTER_CHILD, output=os.path.join(work, 'cluster.cmap'),
                           scheduler=cluster.address, region=None, **args)
        # The same on one 128^3 corner: what a cluster run costs the writing process
        # whatever its size (importing Dask, connecting, sending the code).
        small = run_child(CLUSTER_CHILD, output=os.path.join(work, 'small.cmap'),
                          scheduler=cluster.address, region=(0, 0, 0, 127, 127, 127), **args)
        same = open(os.path.join(work, 'local.cmap'), 'rb').read() == \
            open(os.path.join(work, 'cluster.cmap'), 'rb').read()
        chunks = local['chunks']
        print('combine, %d threads: %.2f s wall (%s/s), %d chunks written, peak RSS %s'
              % (local['threads'], local['wall'], format_bytes(local['input'] / local['wall']),
                 chunks, format_bytes(local['peak_rss'])))
        print('combine on a cluster of %d worker processes: %.2f s wall (%s/s), writer'
              ' process peak RSS %s; same file byte for byte: %s'
              % (remote['workers'], remote['wall'], format_bytes(remote['input'] / remote['wall']),
                 format_bytes(remote['peak_rss']), same))
        overhead = (remote['wall'] - local['wall']) / chunks
        print('  cluster / threads = %.2f; overhead %.2f ms a chunk (scheduling, sending'
              ' downsampled blocks back, on the same 2 cores)'
              % (remote['wall'] / local['wall'], 1000 * overhead))
        rate, byte_rate, n = writer_rate(os.path.join(work, 'local.cmap'), work)
        per_core = chunks / local['wall'] / local['threads']
        print('writer alone: %d compressed chunks in %.3f s: %.0f chunks/s, %s/s'
              % (n, n / rate, rate, format_bytes(byte_rate)))
        writer_cpu = (remote['cpu'] - small['cpu']) / (chunks - small['chunks'])
        print('the writing process on a cluster: %.2f s of CPU whatever the size (a run of'
              ' %d chunks), then %.2f ms a chunk (receiving, assembling the levels above,'
              ' writing, Dask\'s client), so it can take %.0f chunks/s'
              % (small['cpu'], small['chunks'], 1000 * writer_cpu, 1 / writer_cpu))
        print('chunk work on one core: %.0f chunks/s (threads run above); one writer can'
              ' keep up with about %.0f worker cores (%.0f counting the writing alone)'
              % (per_core, 1 / writer_cpu / per_core, rate / per_core))
        print(json.dumps({'local_wall': local['wall'], 'cluster_wall': remote['wall'],
                          'chunks': chunks, 'writer_chunks_per_s': rate,
                          'writer_cpu_per_chunk': writer_cpu,
                          'core_chunks_per_s': per_core, 'same': same}))
    finally:
        cluster.close()
        shutil.rmtree(work, ignore_errors=True)
    print('bench cluster: done in %s' % format_duration(time.perf_counter() - started))
