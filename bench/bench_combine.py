"""``python -m bench combine [--quick]``: connectome combine against its floor and against
ChimeraX's own cmap writer, measured side by side in one run on the same tiles.

Figures printed:

- floor: CPU time to inflate every tile chunk once plus compress every chunk of every
  output array once (blosc:lz4hc level 5 with shuffle, as combine and ChimeraX write),
  divided by the cores.  Measured twice: with every core doing its share at once (what the
  cores deliver when all work; the goal ratio uses this) and one core at a time.
- combine: wall time (opening the tiles included) and peak resident memory of all its
  processes, on the whole volume and on a region 4x smaller.
- ChimeraX's writer (``write_grid_as_chimera_map``, what ``save x.cmap`` runs) over a plain
  stitched grid that reads each requested block straight from the tiles, same
  compression and subsample steps: wall and peak memory.
- the slab analysis: that writer reads slabs of up to 1 GB of whole planes; at the real
  plane size (6690 x 9945 uint32) a slab is 4 planes, so every tile chunk is inflated
  (chunk depth / 4) times.  Measured on one tile, extrapolated to the real volume.

The data: the tiles of ``connectome demo FOLDER size large`` (``size medium`` with --quick),
written by chimerax.connectome.demo.generate_dataset exactly as the command writes
them (segmentation deflate-compressed in 64^3 chunks like the authors' tiles, EM image
contiguous and uncompressed like theirs) into bench.DATA/demo-SIZE and reused by later
runs; regenerated when missing or when the generator's code changed.  The generation
itself is measured too, when it runs (wall, peak RSS) and reported from the cache
otherwise, with the dataset's size on disk and uncompressed.  Each measured step runs in
a separate process, so memory figures are its own.
"""

import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import zlib
from multiprocessing import Pool

import blosc
import h5py
import hdf5plugin  # noqa: F401  reads the Blosc chunks of the output back
import numpy as np
import psutil

from . import DATA, REPO
from chimerax.connectome.parallel import available_cores
from chimerax.connectome.progress import format_bytes
from chimerax.connectome.formats.tiles import find_dataset

REAL_PLANE = (6690, 9945)           # x, y of the authors' imaged volume
REAL_PLANES = 3420
VOXEL_SIZE = (11.24, 11.24, 28)
COMPRESSION = dict(compress_method='blosc:lz4hc', compress_level=5, compress_shuffle=True)


# ----------------------------------------------------------------------------
# The data

def generator_version():
    """Digest of the code that decides what the dataset holds (the demo package and the
    MAT writer it uses).  The generator has no version number of its own; any change to
    it regenerates the cached data, which is what a benchmark of its tiles needs."""
    from chimerax.connectome import demo
    from chimerax.connectome.formats import matfile
    folder = os.path.dirname(demo.__file__)
    files = sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith('.py'))
    h = hashlib.sha256()
    for path in files + [matfile.__file__]:
        with open(path, 'rb') as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def dataset(size):
    """Folder of the ``connectome demo`` dataset of this size (image/, segmentation/,
    objects/, truth.hdf5), generated once; and the generation's figures."""
    folder = os.path.join(DATA, 'demo-%s' % size)
    record = folder + '.json'
    version = generator_version()
    try:
        with open(record) as f:
            made = json.load(f)
    except (OSError, ValueError):
        made = None
    if (made and made.get('version') == version and made.get('size') == size
            and os.path.isfile(os.path.join(folder, 'truth.hdf5'))):
        made['cached'] = True
        return folder, made
    if os.path.exists(record):
        os.remove(record)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(DATA, exist_ok=True)
    print('generating the %s dataset into %s (once; kept for later runs) ...' % (size, folder),
          flush=True)
    made = run_child(GENERATE_CHILD, folder=folder, size=size)
    made.update(version=version, size=size, seg_disk=_folder_bytes(folder, 'segmentation'),
                image_disk=_folder_bytes(folder, 'image'))
    with open(record, 'w') as f:
        json.dump(made, f)
    made['cached'] = False
    return folder, made


def _folder_bytes(folder, kind):
    d = os.path.join(folder, kind)
    return sum(os.path.getsize(os.path.join(d, n)) for n in os.listdir(d))


def print_dataset(folder, made):
    t = made['tile_size']
    raw = made['tiles'] * t ** 3            # voxels in the tiles present
    print('data: connectome demo %s (seed 0, chimerax.connectome.demo), %s' % (
        made['size'], folder))
    print('  generate_dataset(size=%r): %.1f s wall, peak RSS %s, %d cores%s' % (
        made['size'], made['wall'], _gb(made['peak_rss']), made['cores'],
        ' (measured when generated; cached since)' if made['cached'] else ''))
    print('  %d + %d tiles of %d^3 (%d positions absent), %s voxels, %d regions,'
          ' maximum id %d' % (made['tiles'], made['tiles'], t, made['absent_tiles'],
                              ' x '.join(map(str, made['shape'])), made['regions'],
                              made['maximum_region_id']))
    print('  segmentation: %s on disk (deflate level 4, 64^3 chunks), %s uncompressed (uint32),'
          ' ratio %.0f; EM image: %s (uint8, uncompressed); everything written %s' % (
              format_bytes(made['seg_disk']), format_bytes(4 * raw), 4 * raw / made['seg_disk'],
              format_bytes(made['image_disk']), format_bytes(made['bytes'])), flush=True)


# ----------------------------------------------------------------------------
# Running a measured step in its own process

CHILD_PRELUDE = '''
import json, sys, time
sys.path.insert(0, %r)
import bench
args = json.loads(sys.argv[1])


def peak_rss():
    # VmHWM: this process's own peak; ru_maxrss would keep the parent's from before exec.
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) * 1024
'''

COMBINE_CHILD = '''
from chimerax.connectome.formats import tiles
from chimerax.connectome.pipeline import combine
t = time.perf_counter()
with tiles.open_tiles(args['tiles'], missing='zero') as ts:
    r = combine.combine(ts, args['output'], region=args['region'], replace=True,
                        voxel_size=args['voxel_size'], **args['compression'])
wall = time.perf_counter() - t
print(json.dumps({'wall': wall, 'levels': r.levels, 'size': r.size, 'dtype': r.dtype,
                  'file_bytes': r.file_bytes, 'tile_chunks_read': r.tile_chunks_read,
                  'chunk_side': r.chunk_side, 'threads': r.threads,
                  'maxrss': peak_rss()}))
'''

GENERATE_CHILD = '''
from chimerax.connectome import demo as synthetic
from chimerax.connectome.parallel import available_cores
t = time.perf_counter()
s = synthetic.generate_dataset(args['folder'], size=args['size'], seed=0)
wall = time.perf_counter() - t
layout = synthetic.dataset_layout(args['size'])
print(json.dumps({'wall': wall, 'maxrss': peak_rss(), 'cores': available_cores(),
                  'tile_size': layout['tile_size'],
                  'shape': [n * layout['tile_size'] for n in layout['grid_shape']],
                  'tiles': s['tiles'], 'absent_tiles': s['absent_tiles'],
                  'regions': s['regions'], 'maximum_region_id': s['maximum_region_id'],
                  'bytes': s['bytes']}))
'''

CHIMERAX_CHILD = '''
import types
import chimerax
import numpy as np
chimerax.app_dirs = types.SimpleNamespace(appname='ChimeraX', version='1.7')  # set by its start-up
from chimerax.map_data import GridData
from chimerax.map_data.cmap.write_cmap import write_grid_as_chimera_map
from chimerax.connectome.formats import tiles


class PlainTilesGrid(GridData):
    """Stitched tiles, each requested block read straight from the tiles with h5py."""

    def __init__(self, ts):
        self.ts = ts
        GridData.__init__(self, tuple(reversed(ts.shape)), value_type=ts.dtype, name=ts.name)

    def read_matrix(self, ijk_origin, ijk_size, ijk_step, progress):
        start = tuple(reversed(ijk_origin))
        stop = tuple(s + n for s, n in zip(start, reversed(ijk_size)))
        out = np.zeros(tuple(e - s for s, e in zip(start, stop)), self.value_type)
        for pos, tile in self.ts.tiles.items():
            t0, t1 = self.ts.tile_extent(pos)
            lo = [max(a, b) for a, b in zip(start, t0)]
            hi = [min(a, b) for a, b in zip(stop, t1)]
            if any(h <= l for l, h in zip(lo, hi)):
                continue
            with h5py.File(tile.path, 'r') as f:
                out[tuple(slice(l - s, h - s) for l, h, s in zip(lo, hi, start))] = \\
                    f[tile.dataset_name][tuple(slice(l - t, h - t) for l, h, t in zip(lo, hi, t0))]
        return out[::ijk_step[2], ::ijk_step[1], ::ijk_step[0]]


import h5py
t = time.perf_counter()
ts = tiles.open_tiles(args['tiles'], missing='zero')
grid = PlainTilesGrid(ts)
write_grid_as_chimera_map(grid, args['output'], {
    'compress': True, 'compress_method': args['compression']['compress_method'],
    'compress_level': args['compression']['compress_level'],
    'compress_shuffle': args['compression']['compress_shuffle'],
    'subsamples': [tuple(s) for s in args['steps']]})
wall = time.perf_counter() - t
print(json.dumps({'wall': wall, 'maxrss': peak_rss()}))
'''


def run_child(body, **args):
    """Run a measured step in a new Python; return its JSON result plus 'peak_rss', the
    largest sum of resident memory of it and any processes it starts, sampled."""
    code = CHILD_PRELUDE % REPO + textwrap.dedent(body)
    p = subprocess.Popen([sys.executable, '-c', code, json.dumps(args)], cwd=REPO,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc = psutil.Process(p.pid)
    peak = 0
    while p.poll() is None:
        try:
            procs = [proc] + proc.children(recursive=True)
            peak = max(peak, sum(q.memory_info().rss for q in procs))
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.05)
    out, err = p.communicate()
    if p.returncode != 0:
        raise RuntimeError('measured step failed:\n' + err)
    result = json.loads(out.strip().splitlines()[-1])
    result['peak_rss'] = max(peak, result['maxrss'])
    return result


# ----------------------------------------------------------------------------
# The floor: inflate every tile chunk once, compress every output chunk once

def _tile_chunk_jobs(tile_paths):
    return [('inflate', p) for p in tile_paths]


def _output_chunk_jobs(path):
    jobs = []
    with h5py.File(path, 'r') as f:
        for name, d in f['/Chimera/image1'].items():
            offsets = []
            d.id.chunk_iter(lambda info: offsets.append(info.chunk_offset))
            jobs.extend(('compress', path, d.name, o) for o in offsets)
    return jobs


def _floor_work(jobs):
    """CPU seconds spent inflating / compressing (reading the bytes is not counted)."""
    blosc.set_nthreads(1)
    cpu = {'inflate': 0.0, 'compress': 0.0}
    nbytes = {'inflate': 0, 'compress': 0}
    cname = COMPRESSION['compress_method'].split(':')[1]
    files = {}
    for job in jobs:
        if job[0] == 'inflate':
            cpu_s, n = _inflate_tile(job[1])
            cpu['inflate'] += cpu_s
            nbytes['inflate'] += n
        else:
            _, path, name, offset = job
            if path not in files:
                files[path] = h5py.File(path, 'r')
            d = files[path][name]
            _, raw = d.id.read_direct_chunk(offset)
            chunk = np.frombuffer(blosc.decompress(raw), d.dtype)
            t = time.process_time()
            blosc.compress(chunk, typesize=d.dtype.itemsize, clevel=COMPRESSION['compress_level'],
                           shuffle=blosc.SHUFFLE, cname=cname)
            cpu['compress'] += time.process_time() - t
            nbytes['compress'] += chunk.nbytes
    for f in files.values():
        f.close()
    return cpu, nbytes


def _inflate_tile(path):
    """CPU seconds to inflate every chunk of one tile once, and the bytes inflated."""
    cpu, n = 0.0, 0
    with h5py.File(path, 'r') as f, open(path, 'rb') as fh:
        d = find_dataset(f, None, path)
        p = d.id.get_create_plist()
        codes = [p.get_filter(i)[0] for i in range(p.get_nfilters())]
        if not codes or p.get_layout() != h5py.h5d.CHUNKED:
            return 0.0, 0           # stored uncompressed: nothing to inflate
        infos = []
        d.id.chunk_iter(infos.append)
        itemsize = d.dtype.itemsize
        for info in infos:
            if set(codes) <= {1, 2}:        # deflate, shuffle: what combine undoes itself
                fh.seek(info.byte_offset)
                raw = fh.read(info.size)
                t = time.process_time()
                data = zlib.decompress(raw) if 1 in codes else raw
                if 2 in codes and itemsize > 1:
                    data = np.frombuffer(data, np.uint8).reshape(itemsize, -1).T.copy()
                cpu += time.process_time() - t
                n += len(data) if isinstance(data, bytes) else data.nbytes
            else:                           # other filters: HDF5 reads the chunk
                sel = tuple(slice(o, o + c) for o, c in zip(info.chunk_offset, d.chunks))
                t = time.process_time()
                n += d[sel].nbytes
                cpu += time.process_time() - t
    return cpu, n


def measure_floor(tile_paths, output, cores):
    jobs = _tile_chunk_jobs(tile_paths) + _output_chunk_jobs(output)
    serial, nbytes = _floor_work(jobs)
    # Every core its share at once; jobs dealt round-robin so each gets tiles and chunks.
    t = time.perf_counter()
    with Pool(cores) as pool:
        parts = pool.map(_floor_work, [jobs[i::cores] for i in range(cores)])
    parallel_wall = time.perf_counter() - t
    parallel = {k: sum(p[0][k] for p in parts) for k in serial}
    return {'serial': serial, 'parallel': parallel, 'bytes': nbytes,
            'parallel_wall': parallel_wall}


# ----------------------------------------------------------------------------
# The slab analysis

def floor_power_of_2(n):
    return 1 << (max(1, int(n)).bit_length() - 1)


def slab_analysis(ts):
    """Time to read 4 planes of one tile versus its whole first chunk layer, through h5py
    as ChimeraX's writer does; extrapolated to the real volume."""
    tile = next(t for p, t in sorted(ts.tiles.items()) if t.chunk_shape)
    itemsize = ts.dtype.itemsize
    kchunk_real = floor_power_of_2(2**30 // (REAL_PLANE[0] * REAL_PLANE[1] * itemsize))
    depth = tile.chunk_shape[0]
    timings = {}
    for name, planes in (('slab', min(kchunk_real, depth)), ('layer', depth)):
        best = None
        for _ in range(3):
            with h5py.File(tile.path, 'r') as f:
                d = f[tile.dataset_name]
                t = time.perf_counter()
                d[0:planes]
                dt = time.perf_counter() - t
            best = dt if best is None else min(best, dt)
        timings[name] = best
    tile_area = tile.shape[1] * tile.shape[2]
    tiles_per_plane = REAL_PLANE[0] * REAL_PLANE[1] / tile_area
    slabs = math.ceil(REAL_PLANES / kchunk_real)
    layers = math.ceil(REAL_PLANES / depth)
    bench_plane = ts.shape[1] * ts.shape[2] * itemsize
    return {
        'kchunk_real': kchunk_real, 'chunk_depth': depth, 'tile': tile.name,
        'tile_area': tile_area, 'slab_s': timings['slab'], 'layer_s': timings['layer'],
        'rereads': depth / kchunk_real,
        'measured_rereads': (depth / kchunk_real) * timings['slab'] / timings['layer'],
        'real_writer_read_s': slabs * tiles_per_plane * timings['slab'],
        'real_once_read_s': layers * tiles_per_plane * timings['layer'],
        'kchunk_bench': floor_power_of_2(2**30 // bench_plane),
    }


# ----------------------------------------------------------------------------

def _gb(n):
    return '%.2f GB' % (n / 1e9)


def _stored_chunks(ts):
    return sum(int(np.prod([-(-n // c) for n, c in zip(t.shape, t.chunk_shape)]))
               for t in ts.tiles.values() if t.chunk_shape)


def compare(tiles_folder, cores, work, both_sizes):
    """combine, its floor and ChimeraX's writer on one tile set; print the figures."""
    from chimerax.connectome.formats import tiles
    with tiles.open_tiles(tiles_folder, missing='zero') as ts:
        tile_paths = list(ts.paths)
        shape = ts.shape
        stored = _stored_chunks(ts)
        print('%s: %d tiles, %s voxels (x,y,z) %s, %s, tile chunks %s'
              % (tiles_folder, len(ts.tiles), ' x '.join(map(str, reversed(shape))), ts.dtype,
                 _gb(ts.nbytes), ts.chunk_shape or 'none (contiguous)'), flush=True)
        slabs = slab_analysis(ts) if both_sizes and ts.chunk_shape else None
    common = dict(tiles=tiles_folder, voxel_size=VOXEL_SIZE, compression=COMPRESSION)
    output = os.path.join(work, 'combined.cmap')
    full = run_child(COMBINE_CHILD, output=output, region=None, **common)
    steps = [s for s, _ in full['levels'][1:]]
    print('  combine: %.1f s wall, peak RSS %s, %s written, subsamples %s, chunks %d^3,'
          ' %d threads; tile chunks inflated %d of %d stored'
          % (full['wall'], _gb(full['peak_rss']), _gb(full['file_bytes']),
             ' '.join('%d,%d,%d' % tuple(s) for s in steps), full['chunk_side'],
             full['threads'], full['tile_chunks_read'], stored), flush=True)
    floor = measure_floor(tile_paths, output, cores)
    par, ser, nbytes = floor['parallel'], floor['serial'], floor['bytes']
    floor_par = sum(par.values()) / cores
    floor_ser = sum(ser.values()) / cores
    print('  floor, all %d cores at once: inflate %.1f s + compress %.1f s CPU / %d = %.1f s'
          % (cores, par['inflate'], par['compress'], cores, floor_par))
    print('  floor, one core at a time:   inflate %.1f s (%.0f MB/s) + compress %.1f s'
          ' (%.0f MB/s) CPU / %d = %.1f s'
          % (ser['inflate'], nbytes['inflate'] / max(ser['inflate'], 1e-9) / 1e6,
             ser['compress'], nbytes['compress'] / max(ser['compress'], 1e-9) / 1e6, cores,
             floor_ser))
    print('  combine / floor = %.2f (goal <= 1.3); against the one-core-at-a-time floor %.2f'
          % (full['wall'] / floor_par, full['wall'] / floor_ser), flush=True)
    cx = run_child(CHIMERAX_CHILD, output=os.path.join(work, 'chimerax.cmap'), steps=steps,
                   **common)
    print('  ChimeraX write_grid_as_chimera_map: %.1f s wall, peak RSS %s;'
          ' ChimeraX writer / combine = %.2f (goal >= 2)'
          % (cx['wall'], _gb(cx['peak_rss']), cx['wall'] / full['wall']), flush=True)
    for name in ('combined.cmap', 'chimerax.cmap'):
        os.remove(os.path.join(work, name))
    if not both_sizes:
        return
    # The second size, 4x fewer voxels: a region crop of these same tiles (half of x, half
    # of y, every plane), not the 'medium' dataset.  The crop has exactly 4x fewer voxels
    # and the same tile size, chunking and label statistics, so only the volume changes;
    # 'medium' has 128^3 tiles instead of 256^3 (tile size drives combine's per-tile
    # buffers) and 4.3x fewer voxels, which would mix two effects in the comparison.
    z, y, x = shape
    quarter = run_child(COMBINE_CHILD, output=os.path.join(work, 'quarter.cmap'),
                        region=(0, 0, 0, x // 2 - 1, y // 2 - 1, z - 1), **common)
    os.remove(os.path.join(work, 'quarter.cmap'))
    print('  peak RSS (all processes): %s for %s voxels, %s for %s voxels (4x fewer);'
          ' goal <= 1.5 GB; combine %.1f s and %.1f s'
          % (_gb(full['peak_rss']), ' x '.join(map(str, full['size'])), _gb(quarter['peak_rss']),
             ' x '.join(map(str, quarter['size'])), full['wall'], quarter['wall']))
    if slabs:
        print_slab_analysis(slabs, shape, ts.dtype)


def print_slab_analysis(s, shape, dtype):
    print('  slab analysis (ChimeraX\'s writer reads slabs of whole planes, up to 1 GB):')
    print('    real plane %d x %d %s: %d planes per slab; tile chunks %d planes deep are'
          ' inflated %.0f times each' % (REAL_PLANE + (dtype, s['kchunk_real'],
                                                       s['chunk_depth'], s['rereads'])))
    print('    measured on %s: %d planes %.3f s, its whole chunk layer (%d planes) %.3f s'
          ' -> %.1f x the inflation of reading once'
          % (s['tile'], min(s['kchunk_real'], s['chunk_depth']), s['slab_s'],
             s['chunk_depth'], s['layer_s'], s['measured_rereads']))
    print('    real volume (%d planes), one core: reading for that writer ~%.1f h, reading'
          ' each chunk once ~%.0f min' % (REAL_PLANES, s['real_writer_read_s'] / 3600,
                                         s['real_once_read_s'] / 60))
    print('    at this benchmark\'s plane size a slab holds %d planes: %s'
          % (s['kchunk_bench'], 'no tile chunk is inflated twice'
             if s['kchunk_bench'] >= s['chunk_depth'] else
             'each tile chunk is inflated %.0f times' % (s['chunk_depth'] / s['kchunk_bench'])))


def main(flags):
    quick = '--quick' in flags
    size = 'medium' if quick else 'large'
    folder, made = dataset(size)
    print_dataset(folder, made)
    cores = available_cores()
    print('%d cores; compression %s level %d, shuffle'
          % (cores, COMPRESSION['compress_method'], COMPRESSION['compress_level']))
    work = tempfile.mkdtemp(prefix='bench-combine-', dir=DATA)
    try:
        compare(os.path.join(folder, 'segmentation'), cores, work, both_sizes=True)
        if os.path.isdir(os.path.join(folder, 'image')):
            compare(os.path.join(folder, 'image'), cores, work, both_sizes=False)
    finally:
        shutil.rmtree(work, ignore_errors=True)
