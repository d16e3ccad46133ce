"""What sharding and a Dask cluster cost ``connectome meshes``, side by side in one run, on
the dense-neuropil piece of bench_meshes.py:

- meshing with 2 local worker processes, unsharded, then the same run ``sharded true``
  (wall time; the shard step's own time, the files written);
- the same meshes with ``scheduler local 2`` (a Dask LocalCluster of 2 worker processes
  started by the run): wall time, and whether the folder is the same byte for byte;
- the shard step alone on many objects (the folder's objects copied under OBJECTS ids):
  seconds and MB/s, files before and after.

    python -m bench meshshards [--quick]
"""

import os
import shutil
import tempfile

from . import DATA
from .bench_combine import run_child
from .bench_meshes import LODS, volume, write_cmap

OBJECTS = 20000

RUN = '''
import os
import numpy as np
from chimerax.connectome.pipeline import cluster, meshing, survey
from chimerax.connectome.pipeline.meshing_chunks import segmentation_of
values = np.load(args['values'])
seg = segmentation_of(survey.Survey(args['seg']))
sharded = {'true': True, 'false': False}[args['sharded']]
job = meshing.MeshJob(seg, 'axon', None, args['out'], lods=args['lods'], sharded=sharded)
scheduler = cluster.Scheduler(args['scheduler']) if args['scheduler'] else None
t, c = time.monotonic(), os.times()
r = meshing.make_meshes(job, values, workers=2, scheduler=scheduler)
wall, e = time.monotonic() - t, os.times()
print(json.dumps({'wall': wall, 'cpu': sum(e[:4]) - sum(c[:4]), 'objects': r.objects,
                  'files': len(os.listdir(args['out'])),
                  'maxrss': peak_rss()}))
'''

SHARD = '''
import os, shutil
import numpy as np
from chimerax.connectome.formats.meshes import MeshInfo
from chimerax.connectome.pipeline import meshing_output
source = args['source']
ids = sorted(int(n[:-6]) for n in os.listdir(source) if n.endswith('.index'))
folder = args['out']
os.makedirs(folder)
nbytes = 0
for k in range(args['objects']):
    i = ids[k % len(ids)]
    for suffix in ('', '.index'):
        shutil.copy(os.path.join(source, '%d%s' % (i, suffix)),
                    os.path.join(folder, '%d%s' % (k + 1, suffix)))
        nbytes += os.path.getsize(os.path.join(folder, '%d%s' % (k + 1, suffix)))
before = len(os.listdir(folder))
info = MeshInfo((1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0))
t = time.monotonic()
meshing_output.finish_folder(folder, info, True)
wall = time.monotonic() - t
print(json.dumps({'wall': wall, 'bytes': nbytes, 'before': before,
                  'after': len(os.listdir(folder)), 'maxrss': peak_rss()}))
'''


def same_bytes(a, b):
    names = sorted(os.listdir(a))
    return names == sorted(os.listdir(b)) and all(
        open(os.path.join(a, n), 'rb').read() == open(os.path.join(b, n), 'rb').read()
        for n in names)


def main(flags):
    import numpy as np
    quick = '--quick' in flags
    side = 96 if quick else 128
    objects = 2000 if quick else OBJECTS
    regions, values = volume(side)
    work = tempfile.mkdtemp(prefix='bench-meshshards-', dir=DATA)
    try:
        seg = os.path.join(work, 'seg.cmap')
        write_cmap(seg, regions)
        np.save(os.path.join(work, 'values.npy'), values)
        print('dense neuropil %d^3 voxels, %d levels of detail' % (side, LODS), flush=True)
        common = dict(seg=seg, values=os.path.join(work, 'values.npy'), lods=LODS)
        results = {}
        for name, sharded, scheduler in (('plain', 'false', None), ('sharded', 'true', None),
                                         ('cluster', 'true', 'local 2')):
            results[name] = r = run_child(RUN, out=os.path.join(work, name), sharded=sharded,
                                          scheduler=scheduler, **common)
            print('%-8s (%s, sharded %s): %.2f s wall, %.2f s CPU with the waited worker'
                  ' processes, %d objects, %d files, peak %.0f MB'
                  % (name, 'scheduler ' + scheduler if scheduler else '2 worker processes',
                     sharded, r['wall'], r['cpu'], r['objects'], r['files'],
                     r['peak_rss'] / 1e6), flush=True)
        print('sharded / unsharded CPU: %.2fx; scheduler local 2 / 2 worker processes wall:'
              ' %.2fx; the cluster\'s folder the same bytes as the local one: %s'
              % (results['sharded']['cpu'] / results['plain']['cpu'],
                 results['cluster']['wall'] / results['sharded']['wall'],
                 same_bytes(os.path.join(work, 'cluster'), os.path.join(work, 'sharded'))),
              flush=True)
        s = run_child(SHARD, source=os.path.join(work, 'plain'),
                      out=os.path.join(work, 'many'), objects=objects)
        print('shard step alone: %d objects (%.1f MB, %d files) -> %d files in %.2f s'
              ' (%.0f MB/s, %.0f objects/s), peak %.0f MB'
              % (objects, s['bytes'] / 1e6, s['before'], s['after'], s['wall'],
                 s['bytes'] / 1e6 / s['wall'], objects / s['wall'], s['peak_rss'] / 1e6),
              flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
