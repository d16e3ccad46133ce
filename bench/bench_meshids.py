"""``connectome meshes`` of a store whose region ids are above 2^32, beside the same store
with small ids, per core.

The dense-neuropil block of bench_meshes.py (its regions grouped into objects of a
class), written by tensorstore as two neuroglancer precomputed uint64 stores (64^3
chunks): its ids as they are, and every id but 0 moved above 2^32.  The big store's
attribute file keeps an id map in a random order (as `connectome ids` saves one: the
order ids were first read), with the class array indexed by its values; its chunks are
read through that saved map (formats/stores/idmap.py SavedIdMap).  Both run in a fresh
process with one worker (threads 1), compared by CPU time (the process and the worker
it waited for); the two mesh folders must be byte for byte the same.  Goal (issue 24:
reading ids above 2^32 within 1.5x of small ids): the big store's meshes within 1.5x.

    python -m bench meshids [--quick]
"""

import os
import shutil
import tempfile
import time

import numpy as np

from . import DATA
from .bench_combine import run_child
from .bench_meshes import LODS, OURS, volume
from .neuropil import VOXEL_NM

BIG = 2 ** 40 + 12345
GOAL = 1.5


def write_store(path, labels):
    import tensorstore as ts
    t = ts.open({'driver': 'neuroglancer_precomputed',
                 'kvstore': {'driver': 'file', 'path': path + '/'},
                 'multiscale_metadata': {'type': 'segmentation', 'data_type': 'uint64',
                                         'num_channels': 1},
                 'scale_metadata': {'size': list(labels.shape[::-1]),
                                    'resolution': list(VOXEL_NM[::-1]),
                                    'voxel_offset': [0, 0, 0], 'encoding': 'raw',
                                    'chunk_size': [64, 64, 64]}}, create=True).result()
    t[..., 0].T.write(labels).result()


def attribute_file(store_path, ids=None):
    """The store's attribute file (formats/sidecar.py), keeping ``ids`` as its map."""
    from chimerax.connectome.formats import sidecar, stores
    store = stores.open_store(store_path, compact_ids=ids is not None)
    path = sidecar.create(sidecar.default_path(store), store)
    if ids is not None:
        sidecar.save_ids(path, ids)
    return path


def read_chunks(seg, side=128, repeats=3):
    """CPU seconds (best of ``repeats``) this process takes to read every block the
    chunk pass reads (meshing_chunks.chunk_block: side^3 plus the overlap) as it reads
    them: ids above 2^32 through the saved map, small ids as they are; the store opened
    afresh each time (no decoded chunk kept)."""
    from chimerax.connectome.pipeline import meshing_chunks
    from chimerax.connectome.pipeline.meshing_chunks import (chunk_block, chunk_grid,
                                                              read_padded)
    grid = chunk_grid(seg.shape, side)
    positions = [(x, y, z) for z in range(grid[2]) for y in range(grid[1])
                 for x in range(grid[0])]
    best = None
    for _ in range(repeats):
        meshing_chunks._open.clear()
        t = time.process_time()
        for p in positions:
            read_padded(seg, *chunk_block(p, side, seg.shape))
        t = time.process_time() - t
        best = t if best is None else min(best, t)
    return best


def files(folder):
    return {n: open(os.path.join(folder, n), 'rb').read() for n in sorted(os.listdir(folder))}


def main(flags):
    side = 128 if '--quick' in flags else 256
    regions, values = volume(side)
    work = tempfile.mkdtemp(prefix='bench-meshids-', dir=DATA)
    try:
        present = np.unique(regions)
        present = present[present > 0]
        order = np.random.default_rng(1).permutation(present)
        ids = np.concatenate([[0], order.astype(np.uint64) + np.uint64(BIG)])
        compact = np.zeros(len(ids), values.dtype)
        compact[1:] = values[order]
        runs, reads = {}, {}
        for kind, labels, array in (
                ('small', regions.astype(np.uint64), values),
                ('big', np.where(regions > 0, regions.astype(np.uint64) + np.uint64(BIG), 0),
                 compact)):
            store = os.path.join(work, kind)
            write_store(store, labels)
            seg = attribute_file(store, ids if kind == 'big' else None)
            np.save(os.path.join(work, kind + '.npy'), array)
            from chimerax.connectome.pipeline import survey
            from chimerax.connectome.pipeline.meshing_chunks import segmentation_of
            reads[kind] = read_chunks(segmentation_of(survey.Survey(seg)))
            runs[kind] = run_child(OURS, seg=seg, values=os.path.join(work, kind + '.npy'),
                                   out=os.path.join(work, kind + '-meshes'), lods=LODS)
        same = files(os.path.join(work, 'small-meshes')) == files(os.path.join(work,
                                                                              'big-meshes'))
        print('dense neuropil %d^3 voxels as uint64 precomputed stores (64^3 chunks, tensorstore),'
              ' %d regions (%d ids in the big store\'s saved map), %d objects, %d levels of detail'
              % (side, len(present), len(ids) - 1, runs['small']['objects'], LODS))
        for kind in ('small', 'big'):
            r = runs[kind]
            print('%-5s ids: %.2f s (%.2f s of CPU; chunks %.2f s wall), %.2f M voxels per CPU'
                  ' second, peak %.0f MB' % (kind, r['wall'], r['cpu'], r['chunks_wall'],
                                             regions.size / r['cpu'] / 1e6,
                                             r['peak_rss'] / 1e6))
        print('reading the chunk pass\'s blocks (128^3 and the overlap), CPU, best of 3:'
              ' small ids %.2f s, ids above 2^32 through the saved map %.2f s: %.2fx'
              % (reads['small'], reads['big'], reads['big'] / reads['small']))
        ratio = runs['big']['cpu'] / runs['small']['cpu']
        print('ids above 2^32 / small ids (CPU time): %.2fx (goal <= %.1fx); mesh folders'
              ' byte for byte the same: %s; %s' % (ratio, GOAL, same,
                                                   'met' if ratio <= GOAL and same
                                                   else 'NOT met'))
    finally:
        shutil.rmtree(work, ignore_errors=True)
