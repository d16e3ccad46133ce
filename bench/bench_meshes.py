"""``connectome meshes`` on dense neuropil, per core, beside Igneous's ``mesh forge``.

The volume is the dense-neuropil benchmark block (bench/neuropil.py: every voxel in some
region, ~15,000 voxels a region, 11.24 x 11.24 x 28 nm voxels), its regions grouped at
random into objects of a class (70% of the regions in some object, ten regions an object
on average, as axons and dendrites fill most of the real neuropil).  Ours reads it as
``connectome combine`` writes it (a Chimera map, full resolution only) and relabels
region -> object itself; Igneous reads a neuroglancer precomputed copy of the object ids
(made with CloudVolume, timed apart), then ``mesh forge`` (its per-chunk meshes) and the
unsharded multi-resolution merge, with the same number of levels of detail.  Both run in
a fresh process on one core (ours: threads 1, its one worker process; Igneous:
LocalTaskQueue parallel 1), each with its default chunk size; speed per core is compared
by the CPU time of each process and the child processes it waited for (steady on a
shared machine; wall time shown too), peak memory is the largest resident size of a
process and its children together, sampled.  Goals:
at least as fast per core as Igneous, peak memory under 2 GB.

Igneous pins DracoPy 1.x, so it runs in its own environment: ``make venv-igneous``
(.venv-igneous) or CONNECTOME_IGNEOUS_PYTHON=/path/to/python.

    python -m bench meshes [--quick]
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import psutil

from . import DATA, REPO
from .bench_combine import run_child
from .neuropil import VOXEL_NM, region_block

LODS = 3
OBJECT_SHARE = 0.7
REGIONS_PER_OBJECT = 10
TARGET_BYTES = 2 << 30

OURS = '''
import os
import numpy as np
from chimerax.connectome.pipeline import meshing, survey
from chimerax.connectome.pipeline.meshing_chunks import segmentation_of
values = np.load(args['values'])
seg = segmentation_of(survey.Survey(args['seg']))
job = meshing.MeshJob(seg, 'axon', None, args['out'], lods=args['lods'])
lines = []
t, c = time.monotonic(), os.times()
r = meshing.make_meshes(job, values, workers=1,   # one worker process: count its CPU too
                        report=lambda m, final: lines.append((time.monotonic(), m, final)))
e = os.times()
print(json.dumps({'wall': time.monotonic() - t,
                  'chunks_wall': min([w for w, m, final in lines if final and ': chunks' in m]
                                     or [t]) - t,
                  'fallbacks': [m for w, m, final in lines if 'did not finish' in m],
                  'cpu': sum(e[:4]) - sum(c[:4]),   # user, system, waited children's
                  'objects': r.objects,
                  'triangles': list(r.triangles), 'maxrss': peak_rss()}))
'''

IGNEOUS = '''
import json, os, sys, time
import igneous.task_creation as tc
from taskqueue import LocalTaskQueue
args = json.loads(sys.argv[1])
path = 'file://' + args['path']
tq = LocalTaskQueue(parallel=1, progress=False)
c0 = os.times()
t0 = time.monotonic()
tq.insert(tc.create_meshing_tasks(path, mip=0, mesh_dir='mesh', sharded=False,
                                  spatial_index=True))
tq.execute(progress=False)
t1 = time.monotonic()
tq.insert(tc.create_unsharded_multires_mesh_tasks(path, num_lod=args['lods'],
                                                  mesh_dir='mesh'))
tq.execute(progress=False)
t2 = time.monotonic()
print(json.dumps({'forge': t1 - t0, 'merge': t2 - t1, 'wall': t2 - t0,
                  'cpu': sum(os.times()[:4]) - sum(c0[:4]),  # with waited children's
                  'objects': len([n for n in os.listdir(os.path.join(args['path'], 'mesh'))
                                  if n.endswith('.index')])}))
'''

COPY = '''
import json, sys, time
import numpy as np
from cloudvolume import CloudVolume
args = json.loads(sys.argv[1])
t = time.monotonic()
objects = np.load(args['objects'])
info = CloudVolume.create_new_info(1, 'segmentation', 'uint32', 'raw', args['resolution'],
                                   [0, 0, 0], list(objects.shape[::-1]),
                                   chunk_size=[64, 64, 64])
cv = CloudVolume('file://' + args['path'], info=info, progress=False)
cv.commit_info()
cv[:, :, :] = objects.T[..., None]
print(json.dumps({'wall': time.monotonic() - t}))
'''


def igneous_python():
    return os.environ.get('CONNECTOME_IGNEOUS_PYTHON',
                          os.path.join(REPO, '.venv-igneous', 'bin', 'python'))


def run_igneous(code, **args):
    """Run ``code`` in Igneous's environment; its JSON result plus 'peak_rss' sampled."""
    p = subprocess.Popen([igneous_python(), '-c', textwrap.dedent(code), json.dumps(args)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc = psutil.Process(p.pid)
    peak = 0
    while p.poll() is None:
        try:
            peak = max(peak, sum(q.memory_info().rss
                                 for q in [proc] + proc.children(recursive=True)))
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.05)
    out, err = p.communicate()
    if p.returncode != 0:
        raise RuntimeError('Igneous step failed:\n' + err[-3000:])
    result = json.loads(out.strip().splitlines()[-1])
    result['peak_rss'] = peak
    return result


def volume(side):
    """(region ids z,y,x, per-region object ids) of a side^3 piece of dense neuropil."""
    regions = region_block()[:side, :side, :side].astype(np.uint32) + 1
    n = int(regions.max()) + 1
    rng = np.random.default_rng(0)
    objects = max(1, int(n * OBJECT_SHARE / REGIONS_PER_OBJECT))
    values = rng.integers(1, objects + 1, n).astype(np.uint32)
    values[rng.random(n) >= OBJECT_SHARE] = 0
    values[0] = 0
    return regions, values


def write_cmap(path, regions):
    from chimerax.connectome.formats.cmap import ChimeraMapWriter, SEGMENTATION
    w = ChimeraMapWriter(path, regions.shape, np.uint32, voxel_size=VOXEL_NM[::-1],
                         content=SEGMENTATION)
    try:
        lv = w.levels[0]
        c = lv.chunk_shape
        for k in range(0, regions.shape[0], c[0]):
            for j in range(0, regions.shape[1], c[1]):
                for i in range(0, regions.shape[2], c[2]):
                    block = regions[k:k + c[0], j:j + c[1], i:i + c[2]]
                    w.write_chunk(0, (k // c[0], j // c[1], i // c[2]), lv.codec.encode(
                        np.ascontiguousarray(block)))
        w.set_maximum_segment_id(int(regions.max()))
    finally:
        w.close()


def main(flags):
    quick = '--quick' in flags
    side = 128 if quick else 256
    regions, values = volume(side)
    voxels = regions.size
    work = tempfile.mkdtemp(prefix='bench-meshes-', dir=DATA)
    try:
        seg = os.path.join(work, 'seg.cmap')
        write_cmap(seg, regions)
        np.save(os.path.join(work, 'values.npy'), values)
        objects = values[regions]
        np.save(os.path.join(work, 'objects.npy'), objects)
        print('dense neuropil %d^3 voxels (%.1f M), %d regions, %d objects of the class'
              ' (%d in the volume), %d levels of detail'
              % (side, voxels / 1e6, len(values) - 1, int(values.max()),
                 len(np.unique(objects)) - 1, LODS), flush=True)
        ours = run_child(OURS, seg=seg, values=os.path.join(work, 'values.npy'),
                         out=os.path.join(work, 'ours'), lods=LODS)
        print('ours    (connectome meshes, threads 1, chunks 128^3): %.2f s (%.2f s of CPU;'
              ' chunks %.2f s wall, objects %.2f s), %.2f M voxels per CPU second, %d objects,'
              ' triangles by LOD %s, peak %.0f MB'
              % (ours['wall'], ours['cpu'], ours['chunks_wall'],
                 ours['wall'] - ours['chunks_wall'], voxels / ours['cpu'] / 1e6,
                 ours['objects'], '/'.join(map(str, ours['triangles'])),
                 ours['peak_rss'] / 1e6), flush=True)
        for line in ours['fallbacks']:
            print('ours: ' + line)
        if not os.path.exists(igneous_python()):
            print('Igneous: no environment at %s (make venv-igneous); not compared'
                  % igneous_python())
            return
        path = os.path.join(work, 'precomputed')
        copy = run_igneous(COPY, objects=os.path.join(work, 'objects.npy'), path=path,
                           resolution=list(VOXEL_NM[::-1]))
        theirs = run_igneous(IGNEOUS, path=path, lods=LODS)
        print('Igneous (mesh forge + unsharded multires merge, parallel 1, its default'
              ' 448^3 tasks): %.2f s (%.2f s of CPU; forge %.2f, merge %.2f; the precomputed'
              ' copy %.2f s apart), %.2f M voxels per CPU second, %d objects, peak %.0f MB'
              % (theirs['wall'], theirs['cpu'], theirs['forge'], theirs['merge'],
                 copy['wall'], voxels / theirs['cpu'] / 1e6, theirs['objects'],
                 theirs['peak_rss'] / 1e6), flush=True)
        # CPU seconds of one process each: per core, and steady on a shared machine.
        ratio = theirs['cpu'] / ours['cpu']
        print('ours / Igneous speed per core (CPU time): %.2fx (goal >= 1), peak memory %.0f MB (goal'
              ' <= %d MB): %s' % (ratio, ours['peak_rss'] / 1e6, TARGET_BYTES / 1e6,
                                   'met' if ratio >= 1 and ours['peak_rss'] <= TARGET_BYTES
                                   else 'NOT met'))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main(sys.argv[1:])
