"""``python -m bench export [--quick]``: ``connectome combine ... format precomputed|zarr``
against ``connectome combine`` to a .cmap and against CloudVolume writing the same
volume, side by side in one run on the same tiles.

The tiles: the dense neuropil segmentation of bench combine (bench/neuropil.py: ~15,000
voxels a region, deflate ~29:1, uint32), 2 x 2 x 2 tiles of 256^3 (2 x 2 x 1 with
--quick), voxels of 11.24 x 11.24 x 28 nm.

Steps, each in its own process (wall time, CPU time of the process and any it starts,
peak resident memory of all of them, bytes written):

- combine: the .cmap with its defaults (blosc:lz4hc level 5, mode pyramid 2,2,1 ...);
- export precomputed: the same pass written as precomputed (compressed_segmentation,
  chunks 64^3, unsharded at this size), and again with every scale sharded;
- export zarr: the same pass as OME-Zarr 0.4 (blosc:lz4hc level 5, as the .cmap);
- CloudVolume: the field's writer given the same volume (Igneous is not in .venv; its
  transfer task is CloudVolume's write plus tinybrain's downsampling, so this is what a
  transfer of these tiles costs): the tiles read whole into memory (timed apart, "read"),
  then tinybrain's mode pyramid of the same steps and CloudVolume writing every scale
  (compressed_segmentation, chunks 64^3, its default gzip for file://, parallel = the
  cores), "write".

Figures: wall, CPU, voxels per CPU second (per core: the rate each core gives, which is
what the goal compares on a machine whose 2 cores other work shares), peak memory,
output size; and the ratios of export's per-core rate to combine's and CloudVolume's.
"""

import os
import shutil
import tempfile

from . import neuropil
from .bench_combine import VOXEL_SIZE, run_child
from chimerax.connectome.progress import format_bytes

CHILD_CPU = '''
def cpu_seconds():
    import os
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
'''

EXPORT_CHILD = CHILD_CPU + '''
from chimerax.connectome.formats import tiles
from chimerax.connectome.pipeline import combine, export
t = time.perf_counter()
with tiles.open_tiles(args['tiles']) as ts:
    if args['format'] == 'cmap':
        r = combine.combine(ts, args['output'], replace=True, voxel_size=args['voxel_size'])
        nbytes = r.file_bytes
    else:
        r = export.export(ts, args['output'], args['format'], replace=True,
                          voxel_size=args['voxel_size'], sharded=args['sharded'])
        nbytes = r.store_bytes
wall = time.perf_counter() - t
print(json.dumps({'wall': wall, 'cpu': cpu_seconds(), 'bytes': nbytes,
                  'voxels': r.input_bytes // 4, 'steps': [s for s, _ in r.levels[1:]],
                  'threads': r.threads, 'maxrss': peak_rss()}))
'''

CLOUDVOLUME_CHILD = CHILD_CPU + '''
import os
import numpy as np
import tinybrain
from cloudvolume import CloudVolume
from chimerax.connectome.formats import tiles
from chimerax.connectome.pipeline import export
t = time.perf_counter()
with tiles.open_tiles(args['tiles']) as ts:
    volume = np.asfortranarray(ts.read().T)                  # x,y,z as CloudVolume takes
read = time.perf_counter() - t
read_cpu = cpu_seconds()
t = time.perf_counter()
url = 'file://' + args['output']
info = CloudVolume.create_new_info(
    num_channels=1, layer_type='segmentation', data_type='uint32',
    encoding='compressed_segmentation', resolution=list(args['voxel_size']),
    voxel_offset=[0, 0, 0], volume_size=list(volume.shape), chunk_size=[64, 64, 64])
cv = CloudVolume(url, info=info, parallel=os.cpu_count(), progress=False)
previous = (1, 1, 1)
for step in args['steps']:
    factor = tuple(s // p for s, p in zip(step, previous))
    cv.add_scale(list(step), chunk_size=[64, 64, 64], encoding='compressed_segmentation')
    previous = tuple(step)
cv.commit_info()
cv[:, :, :] = volume
level = volume
previous = (1, 1, 1)
for mip, step in enumerate(args['steps'], 1):
    factor = tuple(s // p for s, p in zip(step, previous))
    level = tinybrain.downsample_segmentation(level, factor, sparse=True)[0]
    CloudVolume(url, mip=mip, parallel=os.cpu_count(), progress=False)[:, :, :] = level
    previous = tuple(step)
wall = time.perf_counter() - t
print(json.dumps({'wall': wall, 'cpu': cpu_seconds() - read_cpu, 'read': read,
                  'read_cpu': read_cpu, 'bytes': export.folder_bytes(args['output']),
                  'voxels': int(volume.size), 'maxrss': peak_rss()}))
'''


def main(flags):
    quick = '--quick' in flags
    grid = (2, 2, 1) if quick else (2, 2, 2)
    folder, facts = neuropil.tile_set(grid, 256)
    print('tiles: %s, %s voxels uint32, %d regions, deflate %.0f:1'
          % (os.path.basename(folder), ' x '.join(map(str, reversed(facts['shape']))),
             facts['regions'], facts['ratio']), flush=True)
    out = tempfile.mkdtemp(prefix='bench-export-', dir=os.path.dirname(folder))
    rows = {}
    try:
        for name, fmt, sharded in (('combine .cmap', 'cmap', 'auto'),
                                   ('export precomputed', 'precomputed', 'auto'),
                                   ('export precomputed sharded', 'precomputed', 'true'),
                                   ('export zarr', 'zarr', 'auto')):
            target = os.path.join(out, name.replace(' ', '-') + ('.cmap' if fmt == 'cmap'
                                                                  else ''))
            rows[name] = r = run_child(EXPORT_CHILD, tiles=folder, output=target,
                                       format=fmt, sharded=sharded,
                                       voxel_size=VOXEL_SIZE)
            steps = r['steps']
            print_row(name, r)
        r = rows['CloudVolume'] = run_child(CLOUDVOLUME_CHILD, tiles=folder,
                                            output=os.path.join(out, 'cloudvolume'),
                                            voxel_size=VOXEL_SIZE, steps=steps)
        print_row('CloudVolume', r, extra='; the tiles read whole first: %.1f s wall,'
                  ' %.1f s CPU (not counted)' % (r['read'], r['read_cpu']))
        for name in ('export precomputed', 'export precomputed sharded', 'export zarr'):
            print('%s per core: %.2f x combine .cmap, %.2f x CloudVolume'
                  % (name, rate(rows[name]) / rate(rows['combine .cmap']),
                     rate(rows[name]) / rate(rows['CloudVolume'])))
    finally:
        shutil.rmtree(out, ignore_errors=True)


def rate(r):
    return r['voxels'] / r['cpu']


def print_row(name, r, extra=''):
    print('%-28s wall %6.1f s  CPU %6.1f s  %5.1f Mvoxels/CPU s  peak %s  output %s%s'
          % (name, r['wall'], r['cpu'], rate(r) / 1e6, format_bytes(r['peak_rss']),
             format_bytes(r['bytes']), extra), flush=True)
