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
  chunks 64^3, unsharded at this size), again with gzipped chunk files (compressMethod
  gzip), and again with every scale sharded;
- export zarr: the same pass as OME-Zarr 0.4 (labels: blosc:zstd level 2, export's
  default), and again with the .cmap's codec (blosc:lz4hc level 5); each store then
  read whole by zarr-python on one core (``zarr_read``: what a reader's decoding costs);
- CloudVolume: the field's writer given the same volume (Igneous is not in .venv; its
  transfer task is CloudVolume's write plus tinybrain's downsampling, so this is what a
  transfer of these tiles costs): the tiles read whole into memory (timed apart, "read"),
  then tinybrain's mode pyramid of the same steps and CloudVolume writing every scale
  (compressed_segmentation, chunks 64^3, its default gzip for file://, parallel = the
  cores), "write".

The Zarr chunk codecs side by side (``zarr_codecs``): the first two tiles cut into 64^3
chunks, each Blosc candidate encoding and decoding them on one core (best of 3): encode
CPU, ratio, decode speed.

The unsharded precomputed store's chunk files are then gzipped in memory (zlib and
libdeflate at level 6, libdeflate at CloudVolume's 9, timed on one core,
``gzip_chunk_files``): what writing CloudVolume's ``.gz`` chunk files would cost and
save.

Figures: wall, CPU, voxels per CPU second (per core: the rate each core gives, which is
what the goal compares on a machine whose 2 cores other work shares), peak memory,
output size; and the ratios of export's per-core rate to combine's and CloudVolume's.
"""

import os
import shutil
import tempfile
import time

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
                          voxel_size=args['voxel_size'], sharded=args['sharded'],
                          compress_method=args.get('compress_method'))
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
                                   ('export precomputed gzip', 'precomputed', 'auto'),
                                   ('export precomputed sharded', 'precomputed', 'true'),
                                   ('export zarr', 'zarr', 'auto'),
                                   ('export zarr lz4hc', 'zarr', 'auto')):
            target = os.path.join(out, name.replace(' ', '-') + ('.cmap' if fmt == 'cmap'
                                                                  else ''))
            rows[name] = r = run_child(EXPORT_CHILD, tiles=folder, output=target,
                                       format=fmt, sharded=sharded,
                                       voxel_size=VOXEL_SIZE,
                                       compress_method=('gzip' if 'gzip' in name else
                                                        'blosc:lz4hc' if 'lz4hc' in name
                                                        else None))
            steps = r['steps']
            print_row(name, r)
            if name == 'export precomputed':
                rows['gzip'] = gzip_chunk_files(target)
            if fmt == 'zarr':
                zarr_read(target)
        r = rows['CloudVolume'] = run_child(CLOUDVOLUME_CHILD, tiles=folder,
                                            output=os.path.join(out, 'cloudvolume'),
                                            voxel_size=VOXEL_SIZE, steps=steps)
        print_row('CloudVolume', r, extra='; the tiles read whole first: %.1f s wall,'
                  ' %.1f s CPU (not counted)' % (r['read'], r['read_cpu']))
        for name in ('export precomputed', 'export precomputed gzip',
                     'export precomputed sharded', 'export zarr', 'export zarr lz4hc'):
            print('%s per core: %.2f x combine .cmap, %.2f x CloudVolume'
                  % (name, rate(rows[name]) / rate(rows['combine .cmap']),
                     rate(rows[name]) / rate(rows['CloudVolume'])))
        plain = rows['export precomputed']
        for how, (cpu, nbytes) in rows['gzip'].items():
            with_gzip = dict(plain, cpu=plain['cpu'] + cpu)
            print('export precomputed + chunk files gzipped by %s: +%.1f s CPU, output %s'
                  ' (%.2f x CloudVolume\'s); per core %.2f x combine .cmap, %.2f x'
                  ' CloudVolume' % (how, cpu, format_bytes(nbytes),
                                    nbytes / rows['CloudVolume']['bytes'],
                                    rate(with_gzip) / rate(rows['combine .cmap']),
                                    rate(with_gzip) / rate(rows['CloudVolume'])))
        zarr_codecs(folder)
    finally:
        shutil.rmtree(out, ignore_errors=True)


ZARR_CANDIDATES = (('lz4hc', 5, 0), ('lz4hc', 3, 0), ('lz4hc', 1, 0), ('lz4', 5, 0),
                   ('lz4', 5, 1), ('lz4', 5, 2), ('zstd', 1, 0), ('zstd', 2, 0),
                   ('zstd', 3, 0), ('zstd', 2, 1))


def zarr_read(folder):
    """Print the CPU seconds zarr-python (numcodecs' Blosc, one thread) takes to read
    the full resolution of the Zarr store ``folder`` whole."""
    import numcodecs
    import zarr
    numcodecs.blosc.use_threads = False
    array = zarr.open_group(folder, mode='r')['0']
    t = time.process_time()
    array[...]
    cpu = time.process_time() - t
    print('  zarr-python reads its full resolution: %.2f s CPU, %.0f Mvoxels/CPU s'
          % (cpu, array.size / cpu / 1e6), flush=True)


def zarr_codecs(folder):
    """Print encode CPU, ratio and decode speed of each Blosc candidate (ZARR_CANDIDATES:
    cname, clevel, shuffle 0 none / 1 byte / 2 bit) on the first two tiles in 64^3
    chunks, on one core, the best of three runs."""
    import glob
    import h5py
    import numpy as np
    import numcodecs
    from numcodecs import Blosc
    numcodecs.blosc.use_threads = False
    chunks = []
    for path in sorted(glob.glob(os.path.join(folder, '*.hdf5')))[:2]:
        with h5py.File(path, 'r') as f:
            v = f['data'][()]
        chunks += [np.ascontiguousarray(v[z:z + 64, y:y + 64, x:x + 64])
                   for z in range(0, v.shape[0], 64) for y in range(0, v.shape[1], 64)
                   for x in range(0, v.shape[2], 64)]
    voxels = sum(c.size for c in chunks)
    print('Zarr chunk codecs, %d chunks of 64^3 uint32, one core:' % len(chunks))
    for cname, level, shuffle in ZARR_CANDIDATES:
        codec = Blosc(cname=cname, clevel=level, shuffle=shuffle)
        encode = decode = float('inf')
        for _ in range(3):
            t = time.process_time()
            encoded = [codec.encode(c) for c in chunks]
            encode = min(encode, time.process_time() - t)
            t = time.process_time()
            for e in encoded:
                codec.decode(e)
            decode = min(decode, time.process_time() - t)
        size = sum(len(e) for e in encoded)
        print('  blosc %-6s level %d %-10s encode %5.2f s CPU %5.0f Mvoxels/s  ratio'
              ' %5.1f:1  decode %5.2f s %5.0f Mvoxels/s'
              % (cname, level, ('', 'shuffle', 'bitshuffle')[shuffle], encode,
                 voxels / encode / 1e6, voxels * 4 / size, decode,
                 voxels / decode / 1e6), flush=True)


def gzip_chunk_files(folder):
    """{how: (CPU seconds, bytes)} of gzipping every chunk file of an unsharded
    precomputed store (what writing CloudVolume's ``.gz`` chunk files would add to the
    export): zlib and libdeflate (the ``deflate`` package, which CloudVolume uses) at level
    6, and libdeflate at CloudVolume's level 9, each file read from the page cache and
    compressed in memory."""
    import zlib
    import deflate
    files = []
    for root, _, names in os.walk(folder):
        for n in names:
            if n != 'info' and '_' in n and '-' in n:
                with open(os.path.join(root, n), 'rb') as f:
                    files.append(f.read())
    out = {}
    for how, compress in (('zlib level 6', lambda b: zlib.compress(b, 6)),
                          ('libdeflate level 6', lambda b: deflate.gzip_compress(b, 6)),
                          ('libdeflate level 9 (CloudVolume\'s)',
                           lambda b: deflate.gzip_compress(b, 9))):
        t = time.process_time()
        nbytes = sum(len(compress(b)) for b in files)
        out[how] = (time.process_time() - t, nbytes)
    print('  %d chunk files, %s as written' % (len(files), format_bytes(sum(map(len, files)))))
    return out


def rate(r):
    return r['voxels'] / r['cpu']


def print_row(name, r, extra=''):
    print('%-28s wall %6.1f s  CPU %6.1f s  %5.1f Mvoxels/CPU s  peak %s  output %s%s'
          % (name, r['wall'], r['cpu'], rate(r) / 1e6, format_bytes(r['peak_rss']),
             format_bytes(r['bytes']), extra), flush=True)
