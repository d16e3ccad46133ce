"""``python -m bench combine [--quick | --real-tile]``: connectome combine against its
floor, against today's combine path and against ChimeraX's own cmap writer, measured
side by side in one run on the same tiles.

The tiles (bench/neuropil.py): dense neuropil labels as redundant as the authors'
segmentation (~15,000 voxels a region, deflate ~29:1 in 64^3 chunks, uint32) and a
uint8 EM-like image (contiguous, uncompressed, as the authors'), 1024 x 1024 x 512
voxels in 256^3 tiles; the real-size part, 2 x 1 x 1 tiles of 1024^3 (8.6 GB of uint32,
as the authors' tiles are).  --quick: 512 x 512 x 256 only; --real-tile: the real-size
part only; no flag: both.

Figures printed, for the segmentation:

- floors: CPU time to inflate every tile chunk once, with zlib (what HDF5's filter and
  today's combine use) and with libdeflate (what combine uses now), plus compressing
  every chunk of every output array once (with combine's default, blosc:lz4hc level 5,
  what the issue measures the floor with, and with blosc:zstd level 5; combine's default
  shuffle for the type), divided by the cores; measured with every core doing its share
  at once (the goal ratios use this) and one core at a time.
- lz4hc-5 compression with today's python-blosc (1.11.2, lz4 1.9.4) and combine's
  (1.11.4, lz4 1.10.0), one core, in alternating processes: the library's own share.
- combine with its defaults, and with blosc:zstd level 5 (against its own floor);
  ChimeraX's reader reading both files back (full resolution and the first subsampled
  copy), which is why the default is lz4hc.
- combine: wall time (opening the tiles included), the CPU it kept busy, peak resident
  memory of all its processes, file size; also on a region 4x smaller (memory must not
  grow with the volume).
- today's combine: the path before libdeflate and tinybrain (``inflate='zlib'``,
  ``mode_library='numpy'``) with today's defaults, lz4hc level 5 and
  ``compress_shuffle=True``, and today's libraries (requirements/today.txt: python-blosc
  1.11.2, whose lz4 is 1.9.4; installed once into the bench data); for the segmentation
  also today's code with combine's libraries, so the code's and the library's shares of
  the gain are both printed.
- the ceiling: today's combine against combine's floor, i.e. how much faster than today's
  a combine doing nothing beyond its floor would be (the most the 1.4 x goal can get
  with lz4hc-5 on both sides), and the compression's share of that floor's CPU.
- ChimeraX's writer (``write_grid_as_chimera_map``, what ``save x.cmap`` runs) over a
  plain stitched grid that reads each requested block straight from the tiles, same
  compression and subsample steps: wall and peak memory.
- slab reading: that writer reads slabs of up to 1 GB of whole planes; at the real plane
  size (6690 x 9945 uint32) a slab is 4 planes, so each 64-plane tile chunk is inflated
  16 times; measured on one tile through h5py, as a rate and extrapolated; and the whole
  writer run again over the same tiles with 4-plane slabs (its slab depth set to what it
  picks at the real plane size), against combine.
- projections for the real 928 GB segmentation, here and on an 8-core workstation, from
  combine's measured rate per core (its CPU time) and its main thread's (which does
  every HDF5 call and bounds how far more cores help).

Combine, its floor and today's combine (and on the smaller set ChimeraX's writer) run
twice, one round after the other: this machine's speed drifts by 10-20% over minutes, so
every goal ratio uses the faster of the two rounds of each step; both are printed.

Each measured step runs in a separate Python process, so memory figures are its own and
the Python start-up is excluded alike for every step.
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
import deflate
import h5py
import hdf5plugin  # noqa: F401  reads the Blosc chunks of the output back
import numpy as np
import psutil

from . import DATA, REPO, neuropil
from chimerax.connectome.parallel import available_cores
from chimerax.connectome.progress import format_duration
from chimerax.connectome.formats.tiles import find_dataset
from chimerax.connectome.formats.cmap import DEFAULT_LEVEL, DEFAULT_METHOD, IMAGE_METHOD

REAL_PLANE = (6690, 9945)           # x, y of the authors' imaged volume
REAL_PLANES = 3420
REAL_SEGMENTATION_BYTES = 216 * 1024 ** 3 * 4     # 216 tiles of 1024^3 uint32: 928 GB
VOXEL_SIZE = (11.24, 11.24, 28)
# combine's default compression (blosc:lz4hc level 5, what the floor is measured
# with), and the alternative measured beside it (blosc:zstd level 5: smaller and faster to
# write, slower to read back).
COMPRESSION = dict(compress_method=DEFAULT_METHOD, compress_level=DEFAULT_LEVEL)
ALT = dict(compress_method='blosc:zstd', compress_level=5)
IMAGE = dict(compress_method=IMAGE_METHOD, compress_level=DEFAULT_LEVEL)   # images' default


def codec_name(c):
    return '%s-%d' % (c['compress_method'].split(':')[1], c['compress_level'])


DEFAULT_CODEC = codec_name(COMPRESSION)
ALT_CODEC = codec_name(ALT)
IMAGE_CODEC = codec_name(IMAGE)
CODECS = {DEFAULT_CODEC: COMPRESSION, ALT_CODEC: ALT, IMAGE_CODEC: IMAGE}
# Today's combine: zlib, numpy modes, its default compression with byte shuffle.
TODAY = dict(inflate='zlib', mode_library='numpy', compress_shuffle=True,
             compression=dict(compress_method='blosc:lz4hc', compress_level=5))
GOALS = {'floor': 1.3, 'today': 1.4, 'chimerax': 3.0, 'rss': 1.5e9}


# ----------------------------------------------------------------------------
# Running a measured step in its own process

CHILD_PRELUDE = '''
import json, sys, time
sys.path.insert(0, %r)
import bench
args = json.loads(sys.argv[1])


def machine_cpu():
    # (all CPU ticks, idle ticks) of the machine: with this process's CPU time, tells how
    # many cores other work took while a step ran.
    with open('/proc/stat') as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v), v[3] + v[4]


def others(start, wall, cpu):
    import os
    total, idle = machine_cpu()
    busy = os.cpu_count() * (1 - (idle - start[1]) / max(total - start[0], 1))
    return max(0.0, busy - cpu / wall)


def peak_rss():
    # VmHWM: this process's own peak; ru_maxrss would keep the parent's from before exec.
    for line in open('/proc/self/status'):
        if line.startswith('VmHWM:'):
            return int(line.split()[1]) * 1024
'''

COMBINE_CHILD = '''
import os
import blosc
from chimerax.connectome.formats import tiles
from chimerax.connectome.pipeline import combine
# Start-up, as ChimeraX's own modules are imported before its writer is timed: numba
# and the compiled 1x2x2 mode loop from its cache (once per session), timed apart.
import numpy as np
t = time.perf_counter()
if args['mode_library'] == 'fast':
    from chimerax.connectome.pipeline import modekernel
    modekernel.mode_1x2x2(np.zeros((1, 2, 2), np.uint32))
startup = time.perf_counter() - t
t, cpu, main, machine = (time.perf_counter(), time.process_time(), time.thread_time(),
                         machine_cpu())
with tiles.open_tiles(args['tiles'], missing='zero', inflate=args['inflate']) as ts:
    r = combine.combine(ts, args['output'], region=args['region'], replace=True,
                        voxel_size=args['voxel_size'], mode_library=args['mode_library'],
                        compress_shuffle=args['compress_shuffle'], **args['compression'])
wall = time.perf_counter() - t
cpu = time.process_time() - cpu
print(json.dumps({'wall': wall, 'cpu': cpu, 'others': others(machine, wall, cpu),
                  'startup': startup,
                  'main_cpu': time.thread_time() - main, 'levels': r.levels,
                  'size': r.size, 'dtype': r.dtype, 'input_bytes': r.input_bytes,
                  'file_bytes': r.file_bytes, 'tile_chunks_read': r.tile_chunks_read,
                  'chunk_side': r.chunk_side, 'threads': r.threads,
                  'shuffle': r.compress_shuffle, 'compression': r.compression,
                  'blosc': '%s (lz4 %s)' % (blosc.__version__, blosc.clib_info('lz4')[1]),
                  'maxrss': peak_rss()}))
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


import h5py, os
if args.get('slab_planes'):
    # The slab depth write_grid_data picks from the plane size (its only use of this
    # function): here the depth it would pick at the real plane size.
    from chimerax.map_data.cmap import write_cmap
    write_cmap.floor_power_of_2 = lambda n: args['slab_planes']
t, cpu, machine = time.perf_counter(), time.process_time(), machine_cpu()
ts = tiles.open_tiles(args['tiles'], missing='zero')
grid = PlainTilesGrid(ts)
write_grid_as_chimera_map(grid, args['output'], {
    'compress': True, 'compress_method': args['compression']['compress_method'],
    'compress_level': args['compression']['compress_level'],
    'compress_shuffle': args['compress_shuffle'],
    'subsamples': [tuple(s) for s in args['steps']]})
wall = time.perf_counter() - t
cpu = time.process_time() - cpu
print(json.dumps({'wall': wall, 'cpu': cpu, 'maxrss': peak_rss(),
                  'others': others(machine, wall, cpu)}))
'''


def run_child(body, libraries=None, **args):
    """Run a measured step in a new Python; return its JSON result plus 'peak_rss', the
    largest sum of resident memory of it and any processes it starts, sampled.
    ``libraries``: a folder of packages that take precedence over the environment's."""
    code = CHILD_PRELUDE % REPO + textwrap.dedent(body)
    env = dict(os.environ)
    if libraries:
        env['PYTHONPATH'] = os.pathsep.join(filter(None, [libraries, env.get('PYTHONPATH')]))
    p = subprocess.Popen([sys.executable, '-c', code, json.dumps(args)], cwd=REPO, env=env,
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


READ_CHILD = '''
import types
import chimerax
chimerax.app_dirs = types.SimpleNamespace(appname='ChimeraX', version='1.7')  # set by its start-up
from chimerax.map_data.cmap import open as open_cmap
# ChimeraX's reader (PyTables and its Blosc filter), as showing the map reads it: the
# whole full-resolution array and the first subsampled one (read in slabs of 64 MB, so
# a 64-plane chunk is read as often as its planes fill slabs), and a 512^3 region of the
# full resolution (slabs of 64 planes: each chunk once).  Files in turn, three times;
# the fastest of each kept (the first reads of a new array pay for its page faults).
best = {}
for _ in range(3):
    for path in args['paths']:
        levels = open_cmap(path)[0].available_subsamplings
        steps = sorted(levels, key=lambda s: s[0] * s[1] * s[2])[:2]
        g = levels[steps[0]]
        region = tuple(min(512, n) for n in g.size)
        for name, reads in (('whole', [(levels[s], (0, 0, 0), levels[s].size) for s in steps]),
                            ('region', [(g, tuple((n - r) // 2 for n, r in zip(g.size, region)),
                                         region)])):
            t, cpu, nbytes = time.perf_counter(), time.process_time(), 0
            for grid, origin, size in reads:
                nbytes += grid.matrix(origin, size, (1, 1, 1)).nbytes
            r = (time.perf_counter() - t, time.process_time() - cpu, nbytes,
                 [int(n) for n in region])
            key = path + ' ' + name
            if key not in best or r[0] < best[key][0]:
                best[key] = r
print(json.dumps({'reads': best, 'maxrss': peak_rss()}))
'''


def read_in_chimerax(paths):
    """{path + ' whole' or ' region': (wall s, CPU s, bytes)}: ChimeraX's cmap reader
    reading each map's full resolution and first subsampled array whole, and a 512^3
    region of its full resolution."""
    return run_child(READ_CHILD, paths=paths)['reads']


def today_libraries():
    """A folder holding today's combine's libraries (requirements/today.txt: python-blosc
    1.11.2, lz4 1.9.4), installed once into the bench data with this Python's pip."""
    spec = os.path.join(REPO, 'requirements', 'today.txt')
    with open(spec, 'rb') as f:
        tag = hashlib.sha1(f.read()).hexdigest()[:10]
    folder = os.path.join(DATA, 'today-libraries-%s-py%d%d' % ((tag,) + sys.version_info[:2]))
    if not os.path.isdir(folder):
        partial = tempfile.mkdtemp(prefix='today-libraries-', dir=DATA)
        p = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                            '--disable-pip-version-check', '--target', partial, '-r', spec],
                           capture_output=True, text=True)
        if p.returncode != 0:
            shutil.rmtree(partial, ignore_errors=True)
            raise RuntimeError('installing %s failed:\n%s' % (spec, p.stderr))
        os.rename(partial, folder)
    return folder


def run_combine(tiles, output, region=None, today=False, shuffle=None, compression=None):
    """combine in a new process: its defaults (or ``compression``), or today's path
    (``today=True``: today's code and libraries; ``'code'``: today's code with the
    libraries combine has now)."""
    options = dict(TODAY) if today else dict(inflate='libdeflate', mode_library='fast',
                                             compress_shuffle=shuffle,
                                             compression=compression or {})
    return run_child(COMBINE_CHILD, today_libraries() if today is True else None,
                     tiles=tiles, output=output, region=region, voxel_size=VOXEL_SIZE,
                     **options)


def run_chimerax(folder, work, combined, slab_planes=None, compression=None):
    """ChimeraX's writer over the tiles, with combine's compression (or ``compression``)
    and subsample steps (``combined``: combine's result); ``slab_planes`` sets its slab
    depth."""
    output = os.path.join(work, 'chimerax.cmap')
    r = run_child(CHIMERAX_CHILD, tiles=folder, output=output,
                  compression=compression or COMPRESSION,
                  steps=[s for s, _ in combined['levels'][1:]],
                  compress_shuffle=combined['shuffle'], slab_planes=slab_planes)
    os.remove(output)
    return r


# ----------------------------------------------------------------------------
# The floor: inflate every tile chunk once, compress every output chunk once

def _output_chunk_jobs(path):
    jobs = []
    with h5py.File(path, 'r') as f:
        for d in f['/Chimera/image1'].values():
            offsets = []
            d.id.chunk_iter(lambda info: offsets.append(info.chunk_offset))
            jobs.extend(('compress', path, d.name, o) for o in offsets)
    return jobs


def _floor_work(args):
    """CPU seconds spent inflating (zlib, libdeflate) and compressing (with each of
    CODECS: 'compress lz4hc-5', ...); reading the bytes is not counted."""
    jobs, shuffle = args
    blosc.set_nthreads(1)
    cpu = {'zlib': 0.0, 'libdeflate': 0.0}
    cpu.update({'compress ' + c: 0.0 for c in CODECS})
    nbytes = {'inflate': 0, 'compress': 0}
    files = {}
    for job in jobs:
        if job[0] == 'inflate':
            z, ld, n = _inflate_tile(job[1])
            cpu['zlib'] += z
            cpu['libdeflate'] += ld
            nbytes['inflate'] += n
        else:
            _, path, name, offset = job
            if path not in files:
                files[path] = h5py.File(path, 'r')
            d = files[path][name]
            _, raw = d.id.read_direct_chunk(offset)
            chunk = np.frombuffer(blosc.decompress(raw), d.dtype)
            for codec, c in CODECS.items():
                t = time.process_time()
                blosc.compress(chunk, typesize=d.dtype.itemsize, clevel=c['compress_level'],
                               shuffle=blosc.SHUFFLE if shuffle else blosc.NOSHUFFLE,
                               cname=c['compress_method'].split(':')[1])
                cpu['compress ' + codec] += time.process_time() - t
            nbytes['compress'] += chunk.nbytes
    for f in files.values():
        f.close()
    return cpu, nbytes


def _inflate_tile(path):
    """CPU seconds to inflate every chunk of one tile once with zlib and with
    libdeflate, and the bytes inflated (0 for a tile stored uncompressed)."""
    cpu_z = cpu_ld = 0.0
    n = 0
    with h5py.File(path, 'r') as f, open(path, 'rb') as fh:
        d = find_dataset(f, None, path)
        p = d.id.get_create_plist()
        codes = [p.get_filter(i)[0] for i in range(p.get_nfilters())]
        if not codes or p.get_layout() != h5py.h5d.CHUNKED:
            return 0.0, 0.0, 0
        if not set(codes) <= {1, 2}:
            raise ValueError('%s: the floor counts deflate and shuffle only' % path)
        infos = []
        d.id.chunk_iter(infos.append)
        itemsize = d.dtype.itemsize
        size = int(np.prod(d.chunks)) * itemsize
        for info in infos:
            fh.seek(info.byte_offset)
            raw = fh.read(info.size)
            for which in ('zlib', 'libdeflate'):
                t = time.process_time()
                if 1 not in codes:
                    data = raw
                elif which == 'zlib':
                    data = zlib.decompress(raw)
                else:
                    data = deflate.zlib_decompress(raw, size)
                if 2 in codes and itemsize > 1:
                    data = np.frombuffer(data, np.uint8).reshape(itemsize, -1).T.copy()
                dt = time.process_time() - t
                if which == 'zlib':
                    cpu_z += dt
                else:
                    cpu_ld += dt
            n += size
    return cpu_z, cpu_ld, n


def measure_floor(tile_paths, output, cores, shuffle, serial=True):
    jobs = [('inflate', p) for p in tile_paths] + _output_chunk_jobs(output)
    result = {}
    if serial:
        result['serial'], result['bytes'] = _floor_work((jobs, shuffle))
    # Every core its share at once; jobs dealt round-robin so each gets tiles and chunks.
    with Pool(cores) as pool:
        parts = pool.map(_floor_work, [(jobs[i::cores], shuffle) for i in range(cores)])
    result['parallel'] = {k: sum(p[0][k] for p in parts) for k in parts[0][0]}
    result.setdefault('bytes', {k: sum(p[1][k] for p in parts) for k in parts[0][1]})
    return result


def floors(cpu, cores):
    """{'libdeflate': s, 'zlib': s} at combine's default compression, and the same
    with ' zstd-5' (etc.) after the name for the other codecs."""
    out = {}
    for codec in CODECS:
        for k in ('zlib', 'libdeflate'):
            name = k if codec == DEFAULT_CODEC else '%s %s' % (k, codec)
            out[name] = (cpu[k] + cpu['compress ' + codec]) / cores
    return out


# ----------------------------------------------------------------------------
# Which codecs release Python's GIL (combine's worker threads rely on it)

def gil_check(folder):
    """For each library call a worker makes, the longest time the main thread waited to
    run Python while another thread repeated that call: about the call's own duration
    when it holds the GIL, a few ms (the switch interval) at most when it releases it."""
    from chimerax.connectome.pipeline import pyramid
    import tinybrain.accelerated
    from chimerax.connectome.formats import tiles
    with tiles.open_tiles(folder) as ts:
        # 128 MB: single calls of 30-200 ms, longer than the scheduler's time slices, so
        # a wait caused by other work on the machine is not taken for the GIL.
        a = np.ascontiguousarray(ts.read((0, 0, 0), (128, 512, 512)))
    raw = a.tobytes()
    packed = zlib.compress(raw, 4)
    blosc.set_nthreads(1)
    blosc.set_releasegil(True)
    calls = {
        'libdeflate inflate': lambda: deflate.zlib_decompress(packed, len(raw)),
        'zlib inflate': lambda: zlib.decompress(packed),
        'blosc lz4hc-5 compress (releasegil on)': lambda: blosc.compress(
            a[:16], typesize=4, clevel=5, shuffle=blosc.NOSHUFFLE, cname='lz4hc'),
        'blosc zstd-5 compress (releasegil on)': lambda: blosc.compress(
            a[:32], typesize=4, clevel=5, shuffle=blosc.NOSHUFFLE, cname='zstd'),
        'tinybrain 2x2x2 mode': lambda: tinybrain.accelerated.mode_pooling_2x2x2(
            a.T, sparse=True),
        'modekernel 1x2x2 mode (numba)': lambda: pyramid.downsample(a, (1, 2, 2), 'mode'),
        'numpy 1x2x2 mode (a quarter of the block)': lambda: pyramid.downsample(
            a[:32], (1, 2, 2), 'mode', 'numpy'),
        'numpy copy': lambda: np.ascontiguousarray(a.transpose(0, 2, 1)),
    }
    print('  GIL: the main thread\'s longest wait while a thread repeats each call:')
    for name, call in calls.items():
        call()                          # numba compiles (or loads) its loop on first use
        t = time.perf_counter()
        call()
        once = time.perf_counter() - t
        # The least of three tries: other work on the machine can delay the main thread
        # once, a held GIL delays it every time.
        longest = min(_longest_wait(call, max(0.3, 4 * once)) for _ in range(3))
        print('    %-42s one call %5.1f ms, longest wait %5.1f ms: %s'
              % (name, once * 1e3, longest * 1e3,
                 'holds the GIL' if longest > 0.5 * once else 'releases the GIL'), flush=True)


def _longest_wait(call, seconds):
    import threading
    stop = []
    thread = threading.Thread(target=lambda: [call() for _ in iter(lambda: stop, [1])])
    thread.start()
    last = time.perf_counter()
    end, longest = last + seconds, 0.0
    while last < end:
        now = time.perf_counter()
        longest, last = max(longest, now - last), now
    stop.append(1)
    thread.join()
    return longest


def chunk_costs(folder, count=64):
    """One core's time per 64^3 chunk for each step combine takes, on ``count`` chunks of
    the first tile: inflating (zlib, libdeflate), mode downsampling (tinybrain, numpy),
    compression with each codec without and with byte shuffle (ratio, speed both ways)."""
    from chimerax.connectome.pipeline import pyramid
    with h5py.File(os.path.join(folder, 'x0y0z0.hdf5'), 'r') as f, \
            open(os.path.join(folder, 'x0y0z0.hdf5'), 'rb') as fh:
        d = f['data']
        infos = []
        d.id.chunk_iter(infos.append)
        raws = []
        for info in infos[:count]:
            fh.seek(info.byte_offset)
            raws.append(fh.read(info.size))
        shape, dtype = d.chunks, d.dtype
    size = int(np.prod(shape)) * dtype.itemsize
    chunks = [np.frombuffer(deflate.zlib_decompress(r, size), dtype).reshape(shape)
              for r in raws]
    blosc.set_nthreads(1)

    def per_chunk(f, items):
        t = time.process_time()
        out = [f(x) for x in items]
        return (time.process_time() - t) / len(items) * 1e3, out
    cost = {}
    cost['inflate zlib'] = per_chunk(zlib.decompress, raws)[0]
    cost['inflate libdeflate'] = per_chunk(lambda r: deflate.zlib_decompress(r, size), raws)[0]
    import tinybrain.accelerated
    pyramid.downsample(chunks[0], (1, 2, 2), 'mode')          # numba compiles (or loads) it
    cost['mode 1x2x2 modekernel (used)'] = per_chunk(
        lambda a: pyramid.downsample(a, (1, 2, 2), 'mode'), chunks)[0]
    cost['mode 1x2x2 numpy'] = per_chunk(
        lambda a: pyramid.downsample(a, (1, 2, 2), 'mode', 'numpy'), chunks)[0]
    # tinybrain's 2x2x2 on every plane repeated: the same modes, holding the GIL.
    cost['mode 1x2x2 tinybrain'] = per_chunk(
        lambda a: tinybrain.accelerated.mode_pooling_2x2x2(np.repeat(a, 2, 0).T, sparse=True),
        chunks)[0]
    for lib, name in (('fast', 'tinybrain (used)'), ('numpy', 'numpy')):
        cost['mode 2x2x2 %s' % name] = per_chunk(
            lambda a: pyramid.downsample(a, (2, 2, 2), 'mode', lib), chunks)[0]
    print('  one core, per 64^3 chunk of %s (%d chunks): %s' % (
        os.path.basename(folder), len(chunks),
        ', '.join('%s %.2f ms' % kv for kv in cost.items())))
    for codec, c in CODECS.items():
        for shuffle in (blosc.NOSHUFFLE, blosc.SHUFFLE):
            ms, packed = per_chunk(lambda a: blosc.compress(
                a, typesize=dtype.itemsize, clevel=c['compress_level'], shuffle=shuffle,
                cname=c['compress_method'].split(':')[1]), chunks)
            back = per_chunk(blosc.decompress, packed)[0]
            print('    %s %s shuffle: ratio %.1f:1, compress %.2f ms (%.0f MB/s), decompress'
                  ' %.2f ms (%.0f MB/s)' % (codec, 'with' if shuffle else 'without',
                                            size * len(chunks) / sum(map(len, packed)), ms,
                                            size / ms / 1e3, back, size / back / 1e3),
                  flush=True)


LIBRARY_CHILD = '''
import blosc, h5py, numpy as np
blosc.set_nthreads(1)
with h5py.File(args['tile'], 'r') as f:
    d = f['data']
    chunks = [np.ascontiguousarray(d[z:z + 64, y:y + 64, x:x + 64])
              for z in range(0, 128, 64) for y in range(0, 128, 64) for x in range(0, 256, 64)]
best = {}
for _ in range(3):
    for shuffle in (0, 1):
        t = time.process_time()
        packed = [blosc.compress(c, typesize=4, clevel=5, shuffle=shuffle, cname='lz4hc')
                  for c in chunks]
        cpu = time.process_time() - t
        best[shuffle] = min(best.get(shuffle, cpu), cpu)
print(json.dumps({'blosc': '%s (lz4 %s)' % (blosc.__version__, blosc.clib_info('lz4')[1]),
                  'rates': [sum(c.nbytes for c in chunks) / best[k] for k in (0, 1)],
                  'maxrss': peak_rss()}))
'''


def library_gain(folder, rounds=3):
    """lz4hc-5 compression of 16 chunks with today's python-blosc against combine's, one
    core, each in its own process, alternating (best of 3 per process, median of
    ``rounds`` processes each)."""
    tile = os.path.join(folder, 'x0y0z0.hdf5')
    runs = {'today': [], 'now': []}
    for _ in range(rounds):
        runs['today'].append(run_child(LIBRARY_CHILD, today_libraries(), tile=tile))
        runs['now'].append(run_child(LIBRARY_CHILD, tile=tile))
    med = {k: [float(np.median([r['rates'][i] for r in v])) for i in (0, 1)]
           for k, v in runs.items()}
    print('  lz4hc-5, one core, 16 chunks, alternating processes (median of %d): python-blosc'
          ' %s %.0f MB/s without shuffle, %.0f with; %s %.0f and %.0f MB/s (%.2f x, %.2f x)'
          % (rounds, runs['today'][0]['blosc'], med['today'][0] / 1e6, med['today'][1] / 1e6,
             runs['now'][0]['blosc'], med['now'][0] / 1e6, med['now'][1] / 1e6,
             med['now'][0] / med['today'][0], med['now'][1] / med['today'][1]), flush=True)


# ----------------------------------------------------------------------------
# Slab reading: what ChimeraX's writer does to deflated tiles at the real plane size

def floor_power_of_2(n):
    return 1 << (max(1, int(n)).bit_length() - 1)


def slab_reading(ts):
    """Time to read one slab (the planes ChimeraX's writer reads at once at the real
    plane size) of one tile versus its whole first chunk layer, through h5py."""
    tile = next(t for p, t in sorted(ts.tiles.items()) if t.chunk_shape)
    itemsize = ts.dtype.itemsize
    slab = floor_power_of_2(2**30 // (REAL_PLANE[0] * REAL_PLANE[1] * itemsize))
    depth = tile.chunk_shape[0]
    timings = {}
    for name, planes in (('slab', min(slab, depth)), ('layer', depth)):
        best = None
        for _ in range(2):
            with h5py.File(tile.path, 'r') as f:
                d = f[tile.dataset_name]
                t = time.perf_counter()
                d[0:planes]
                dt = time.perf_counter() - t
            best = dt if best is None else min(best, dt)
        timings[name] = best
    plane_bytes = tile.shape[1] * tile.shape[2] * itemsize
    tiles_per_plane = REAL_PLANE[0] * REAL_PLANE[1] / (tile.shape[1] * tile.shape[2])
    return {
        'slab': slab, 'depth': depth, 'tile': tile.name, 'tile_shape': tile.shape,
        'slab_s': timings['slab'], 'layer_s': timings['layer'],
        'slab_rate': min(slab, depth) * plane_bytes / timings['slab'],
        'layer_rate': depth * plane_bytes / timings['layer'],
        'real_writer_read_s': math.ceil(REAL_PLANES / slab) * tiles_per_plane * timings['slab'],
        'real_once_read_s': math.ceil(REAL_PLANES / depth) * tiles_per_plane
        * timings['layer'],
    }


def print_slab_reading(s, combine_rate):
    print('  slab reading (ChimeraX\'s writer reads slabs of whole planes, up to 1 GB): at'
          ' the real plane size %d x %d a slab is %d planes, so each %d-plane tile chunk is'
          ' inflated %d times' % (REAL_PLANE + (s['slab'], s['depth'], s['depth'] // s['slab'])))
    print('    measured on %s (%s voxels z,y,x), one core: a %d-plane slab %.3f s = %.0f MB/s;'
          ' its whole chunk layer %.3f s = %.0f MB/s; combine on these tiles %.0f MB/s'
          ' (%.1f x the slab rate)'
          % (s['tile'], ' x '.join(map(str, s['tile_shape'])), s['slab'], s['slab_s'],
             s['slab_rate'] / 1e6, s['layer_s'], s['layer_rate'] / 1e6, combine_rate / 1e6,
             combine_rate / s['slab_rate']))
    print('    real volume (%d planes), one core: reading for that writer ~%.1f h, reading'
          ' each chunk once ~%.0f min' % (REAL_PLANES, s['real_writer_read_s'] / 3600,
                                         s['real_once_read_s'] / 60), flush=True)


# ----------------------------------------------------------------------------

def _gb(n):
    return '%.2f GB' % (n / 1e9)


def _goal(value, goal, at_most=True):
    ok = value <= goal if at_most else value >= goal
    return '%s %s %g: %s' % ('goal', '<=' if at_most else '>=', goal, 'met' if ok else 'MISSED')


def _describe(folder, facts):
    print('%s: %s tiles of %d^3 (x,y,z %s), %s voxels z,y,x, %s; %s raw, %s on disk%s'
          % (folder, 'x'.join(map(str, facts['grid'])), facts['tile'],
             'x'.join(map(str, facts['grid'])), ' x '.join(map(str, facts['shape'])),
             'uint32 labels' if facts['kind'] == 'segmentation' else 'uint8 image',
             _gb(facts['raw_bytes']), _gb(facts['stored_bytes']),
             ', deflate (zlib level %d, 64^3 chunks) ratio %.1f:1, %d regions, %.0f voxels'
             ' a region' % (facts['gzip_level'], facts['ratio'], facts['regions'],
                            facts['voxels_per_region'])
             if facts['kind'] == 'segmentation' else ', contiguous, uncompressed'),
          flush=True)


def _print_combine(label, r):
    steps = [s for s, _ in r['levels'][1:]]
    print('  %s: %.1f s wall (%.0f MB/s), CPU %.1f s (%.2f of %d cores busy; main thread'
          ' %.1f s), peak RSS %s, %s written (%s; python-blosc %s), subsamples %s; other'
          ' work took %.2f cores meanwhile%s'
          % (label, r['wall'], r['input_bytes'] / r['wall'] / 1e6, r['cpu'],
             r['cpu'] / r['wall'], r['threads'], r['main_cpu'], _gb(r['peak_rss']),
             _gb(r['file_bytes']), r['compression'], r['blosc'],
             ' '.join('%d,%d,%d' % tuple(s) for s in steps), r['others'],
             '; start-up before it (importing numba, loading the compiled mode loop) %.2f s'
             % r['startup'] if r['startup'] > 0.01 else ''), flush=True)


def _print_floors(floor, cores):
    par, nbytes = floor['parallel'], floor['bytes']
    fl = floors(par, cores)
    print('  floor, all %d cores at once: inflate zlib %.1f s | libdeflate %.1f s CPU; compress'
          ' %s CPU; / %d cores:' % (cores, par['zlib'], par['libdeflate'], ', '.join(
              '%s %.1f s' % (c, par['compress ' + c]) for c in CODECS), cores))
    for c in CODECS:
        suffix = '' if c == DEFAULT_CODEC else ' ' + c
        print('    %s floor: zlib %.1f s, libdeflate %.1f s%s'
              % (c, fl['zlib' + suffix], fl['libdeflate' + suffix],
                 ' (combine\'s default compression for labels)' if c == DEFAULT_CODEC else
                 ' (for images)' if c == IMAGE_CODEC else ''))
    if 'serial' in floor:
        ser = floor['serial']
        rate = lambda k, n: nbytes[n] / max(ser[k], 1e-9) / 1e6
        print('  floor, one core at a time: inflate zlib %.1f s (%.0f MB/s) | libdeflate %.1f s'
              ' (%.0f MB/s); compress %s CPU'
              % (ser['zlib'], rate('zlib', 'inflate'), ser['libdeflate'],
                 rate('libdeflate', 'inflate'), ', '.join(
                     '%s %.1f s (%.0f MB/s)' % (c, ser['compress ' + c],
                                                rate('compress ' + c, 'compress'))
                     for c in CODECS)))
    return fl


def _floor_cpu(floor, codec):
    return floor['parallel']['libdeflate'] + floor['parallel']['compress ' + codec]


def _print_goals(new, alt, old, floor, fl):
    """The issue's goals for the floor and today's path, in wall and CPU time; the same
    figures for combine with the other codec."""
    print('  combine / libdeflate floor (same compression, %s) = %.2f (%s); / zlib floor'
          ' %.2f; with %s: %.2f its libdeflate floor'
          % (DEFAULT_CODEC, new['wall'] / fl['libdeflate'],
             _goal(new['wall'] / fl['libdeflate'], GOALS['floor']), new['wall'] / fl['zlib'],
             ALT_CODEC, alt['wall'] / fl['libdeflate ' + ALT_CODEC]))
    print('  today\'s combine / combine = %.2f (%s); / combine with %s %.2f'
          % (old['wall'] / new['wall'], _goal(old['wall'] / new['wall'], GOALS['today'], False),
             ALT_CODEC, old['wall'] / alt['wall']))
    print('  in CPU time (what other work on the machine disturbs least): combine %.1f s ='
          ' %.2f x its libdeflate floor\'s %.1f s; with %s %.1f s = %.2f x %.1f s; today\'s'
          ' combine %.1f s = %.2f x combine\'s, %.2f x combine\'s with %s'
          % (new['cpu'], new['cpu'] / _floor_cpu(floor, DEFAULT_CODEC),
             _floor_cpu(floor, DEFAULT_CODEC), ALT_CODEC, alt['cpu'],
             alt['cpu'] / _floor_cpu(floor, ALT_CODEC), _floor_cpu(floor, ALT_CODEC), old['cpu'],
             old['cpu'] / new['cpu'], old['cpu'] / alt['cpu'], ALT_CODEC))
    # The most goal 2 allows with this compression: combine doing nothing but its floor.
    ceiling = old['cpu'] / _floor_cpu(floor, DEFAULT_CODEC)
    print('  ceiling: a combine that did nothing beyond its libdeflate floor (%s) would be'
          ' %.2f x faster than today\'s in wall time, %.2f x in CPU; %s compression is %.0f%%'
          ' of that floor\'s CPU'
          % (DEFAULT_CODEC, old['wall'] / fl['libdeflate'], ceiling, DEFAULT_CODEC,
             100 * floor['parallel']['compress ' + DEFAULT_CODEC]
             / _floor_cpu(floor, DEFAULT_CODEC)))
    print('  output: %s with the defaults (%s, shuffle off: the compressShuffle false file),'
          ' %s with today\'s defaults (shuffle on): %.2f x larger; %s with %s (%.2f x the'
          ' defaults\')' % (_gb(new['file_bytes']), DEFAULT_CODEC, _gb(old['file_bytes']),
                            old['file_bytes'] / new['file_bytes'], _gb(alt['file_bytes']),
                            ALT_CODEC, alt['file_bytes'] / new['file_bytes']), flush=True)


def second_round(folder, tile_paths, cores, work, new, floor, old, cx=None):
    """The goal steps once more, in the same order: combine, its floor, today's combine
    (and ChimeraX's writer when ``cx`` is given).  This machine's speed drifts by 10-20%
    over minutes (the same work's CPU time too), so each goal takes the faster of the two
    rounds of each step; both rounds are printed.  Returns (new, floor, old, cx)."""
    out = os.path.join(work, 'round2.cmap')
    new2 = run_combine(folder, out)
    floor2 = measure_floor(tile_paths, out, cores, new2['shuffle'], serial=False)
    os.remove(out)
    old2 = run_combine(folder, os.path.join(work, 'today.cmap'), today=True)
    os.remove(os.path.join(work, 'today.cmap'))
    cx2 = run_chimerax(folder, work, new2) if cx is not None else None
    f1, f2 = floors(floor['parallel'], cores), floors(floor2['parallel'], cores)
    print('  round 1 / round 2: combine %.1f / %.1f s wall (CPU %.1f / %.1f s); its libdeflate'
          ' floor %.1f / %.1f s; today\'s combine %.1f / %.1f s (CPU %.1f / %.1f s)%s; other'
          ' work in round 2 %.2f, %.2f cores; the goals take the faster round of each step'
          % (new['wall'], new2['wall'], new['cpu'], new2['cpu'], f1['libdeflate'],
             f2['libdeflate'], old['wall'], old2['wall'], old['cpu'], old2['cpu'],
             '; ChimeraX\'s writer %.1f / %.1f s' % (cx['wall'], cx2['wall']) if cx else '',
             new2['others'], old2['others']), flush=True)
    faster = lambda a, b: a if a['wall'] <= b['wall'] else b
    best = dict(floor)
    best['parallel'] = min(floor['parallel'], floor2['parallel'],
                           key=lambda p: p['libdeflate'] + p['compress ' + DEFAULT_CODEC])
    return (faster(new, new2), best, faster(old, old2),
            faster(cx, cx2) if cx is not None else None)


def compare_segmentation(folder, facts, cores, work, quarter=True):
    from chimerax.connectome.formats import tiles
    _describe(folder, facts)
    with tiles.open_tiles(folder, missing='zero') as ts:
        tile_paths = list(ts.paths)
        shape = ts.shape
        slabs = slab_reading(ts)
    out = os.path.join(work, 'combined.cmap')
    new = run_combine(folder, out)
    _print_combine('combine (defaults: %s)' % DEFAULT_CODEC, new)
    floor = measure_floor(tile_paths, out, cores, new['shuffle'])
    fl = _print_floors(floor, cores)
    alt_out = os.path.join(work, 'alt.cmap')
    alt = run_combine(folder, alt_out, compression=ALT)
    _print_combine('combine with %s' % ALT_CODEC, alt)
    reads = read_in_chimerax([out, alt_out])
    for part in ('whole', 'region'):
        r0, r1 = reads[out + ' ' + part], reads[alt_out + ' ' + part]
        what = ('the full resolution and the first subsampled copy whole' if part == 'whole'
                else 'a %s region of the full resolution' % ' x '.join(map(str, r0[3])))
        print('  ChimeraX reading %s (%s): %s; %s takes %.2f x as long'
              % (what, _gb(r0[2]), '; '.join(
                  '%s %.2f s (%.0f MB/s), CPU %.2f s' % (name, r[0], r[2] / r[0] / 1e6, r[1])
                  for name, r in ((DEFAULT_CODEC, r0), (ALT_CODEC, r1))), ALT_CODEC,
                 r1[0] / r0[0]), flush=True)
    os.remove(out)
    os.remove(alt_out)
    old = run_combine(folder, os.path.join(work, 'today.cmap'), today=True)
    _print_combine("today's combine (zlib, numpy modes, shuffle on, today's blosc)", old)
    os.remove(os.path.join(work, 'today.cmap'))
    old_code = run_combine(folder, os.path.join(work, 'today.cmap'), today='code')
    _print_combine("today's code with combine's libraries", old_code)
    os.remove(os.path.join(work, 'today.cmap'))
    cx = run_chimerax(folder, work, new)
    print('  ChimeraX write_grid_as_chimera_map (same compression: %s, shuffle off): %.1f s'
          ' wall, CPU %.1f s, peak RSS %s; other work took %.2f cores meanwhile'
          % (DEFAULT_CODEC, cx['wall'], cx['cpu'], _gb(cx['peak_rss']), cx['others']),
          flush=True)
    new, floor, old, cx = second_round(folder, tile_paths, cores, work, new, floor, old, cx)
    fl = floors(floor['parallel'], cores)
    _print_goals(new, alt, old, floor, fl)
    print('  today\'s code with combine\'s libraries / combine = %.2f, CPU %.2f; today\'s'
          ' combine / today\'s code with combine\'s libraries = %.2f, CPU %.2f (the'
          ' library alone)' % (old_code['wall'] / new['wall'], old_code['cpu'] / new['cpu'],
                               old['wall'] / old_code['wall'], old['cpu'] / old_code['cpu']))
    print('  ChimeraX\'s writer / combine = %.2f (%s)'
          % (cx['wall'] / new['wall'], _goal(cx['wall'] / new['wall'], GOALS['chimerax'], False)))
    if quarter:
        z, y, x = shape
        q = run_combine(folder, os.path.join(work, 'quarter.cmap'),
                        region=(0, 0, 0, x // 2 - 1, y // 2 - 1, z - 1))
        os.remove(os.path.join(work, 'quarter.cmap'))
        print('  peak RSS %s for %s voxels, %s for 4x fewer (%s): %s'
              % (_gb(new['peak_rss']), ' x '.join(map(str, new['size'])), _gb(q['peak_rss']),
                 ' x '.join(map(str, q['size'])), _goal(new['peak_rss'] / 1e9,
                                                        GOALS['rss'] / 1e9)))
    print_slab_reading(slabs, new['input_bytes'] / new['wall'])
    # Here a plane is small, so that writer's slabs hold whole tile chunks; at the real
    # plane size they are 4 planes deep.  The same writer, told that depth:
    cx4 = run_chimerax(folder, work, new, slabs['slab'])
    print('  ChimeraX\'s writer reading %d-plane slabs, as at the real plane size: %.1f s wall,'
          ' CPU %.1f s, peak RSS %s; other work took %.2f cores meanwhile; / combine = %.2f (%s)'
          % (slabs['slab'], cx4['wall'], cx4['cpu'], _gb(cx4['peak_rss']), cx4['others'],
             cx4['wall'] / new['wall'], _goal(cx4['wall'] / new['wall'], GOALS['chimerax'],
                                              False)), flush=True)
    project(new, cores)
    return new


def project(r, cores):
    """Time for the real segmentation from combine's rate per core and its main thread's."""
    per_core = r['input_bytes'] / r['cpu']                  # bytes per CPU second
    main = r['input_bytes'] / max(r['main_cpu'], 1e-9)     # what one main thread can take
    here = REAL_SEGMENTATION_BYTES / (r['input_bytes'] / r['wall'])
    eight = REAL_SEGMENTATION_BYTES / min(8 * per_core, main)
    print('  real segmentation (%s of uint32): here (%d cores) ~%s at the measured %.0f MB/s;'
          ' on 8 cores ~%s (%.0f MB/s a core, the main thread bounds it at %.0f MB/s)'
          % (_gb(REAL_SEGMENTATION_BYTES), cores, format_duration(here),
             r['input_bytes'] / r['wall'] / 1e6, format_duration(eight), per_core / 1e6,
             main / 1e6), flush=True)


def compare_image(folder, facts, cores, work):
    """The EM image: combine (default blosc:lz4) against its floor (compressing only: the
    tiles are stored uncompressed), today's combine (lz4hc-5) and ChimeraX's writer."""
    _describe(folder, facts)
    out = os.path.join(work, 'image.cmap')
    new = run_combine(folder, out)
    _print_combine('combine (defaults: %s)' % IMAGE_CODEC, new)
    from chimerax.connectome.formats import tiles
    with tiles.open_tiles(folder, missing='zero') as ts:
        paths = list(ts.paths)
    floor = measure_floor(paths, out, cores, new['shuffle'], serial=False)
    fl = floors(floor['parallel'], cores)
    os.remove(out)
    old = run_combine(folder, os.path.join(work, 'today.cmap'), today=True)
    os.remove(os.path.join(work, 'today.cmap'))
    _print_combine("today's combine (numpy means, lz4hc-5, shuffle on)", old)
    cx = run_chimerax(folder, work, new, compression=IMAGE)
    # With lz4 the compression is no longer the work (reading the tiles and the means
    # are), so no ratio to a compress-only floor is printed for the default.
    print('  floor (compressing only: the tiles are stored uncompressed) %s; today\'s'
          ' combine / its %s floor = %.2f; today\'s combine / combine = %.2f, files %s and'
          ' %s; ChimeraX\'s writer (%s) %.1f s, peak RSS %s: / combine = %.2f'
          % (', '.join('%.1f s (%s)' % (fl['libdeflate' + ('' if c == DEFAULT_CODEC
                                                         else ' ' + c)], c) for c in CODECS),
             DEFAULT_CODEC, old['wall'] / fl['libdeflate'], old['wall'] / new['wall'],
             _gb(new['file_bytes']), _gb(old['file_bytes']), IMAGE_CODEC, cx['wall'],
             _gb(cx['peak_rss']), cx['wall'] / new['wall']), flush=True)


def real_tile(cores, work):
    """The authors' tile size: 2 x 1 x 1 tiles of 1024^3 uint32, default memory limit."""
    t = time.perf_counter()
    folder, facts = neuropil.tile_set((2, 1, 1), 1024)
    print('real-size tiles ready in %.0f s' % (time.perf_counter() - t))
    _describe(folder, facts)
    from chimerax.connectome.formats import tiles
    with tiles.open_tiles(folder) as ts:
        paths = list(ts.paths)
        slabs = slab_reading(ts)
    out = os.path.join(work, 'real.cmap')
    new = run_combine(folder, out)
    _print_combine('combine (defaults: %s, default memoryLimit)' % DEFAULT_CODEC, new)
    floor = measure_floor(paths, out, cores, new['shuffle'], serial=False)
    fl = _print_floors(floor, cores)
    os.remove(out)
    print('  peak RSS %s (%s)' % (_gb(new['peak_rss']), _goal(new['peak_rss'] / 1e9,
                                                             GOALS['rss'] / 1e9)))
    alt = run_combine(folder, os.path.join(work, 'alt.cmap'), compression=ALT)
    os.remove(os.path.join(work, 'alt.cmap'))
    _print_combine('combine with %s' % ALT_CODEC, alt)
    old = run_combine(folder, os.path.join(work, 'today.cmap'), today=True)
    os.remove(os.path.join(work, 'today.cmap'))
    _print_combine("today's combine (zlib, numpy modes, shuffle on, today's blosc)", old)
    new, floor, old, _ = second_round(folder, paths, cores, work, new, floor, old)
    fl = floors(floor['parallel'], cores)
    _print_goals(new, alt, old, floor, fl)
    print_slab_reading(slabs, new['input_bytes'] / new['wall'])
    project(new, cores)


def main(flags):
    quick = '--quick' in flags
    only_real = '--real-tile' in flags
    cores = available_cores()
    print('%d cores; compression %s level %d, shuffle off for labels, on for images'
          ' (combine\'s defaults), and %s level %d beside it; tiles in %s'
          % (cores, COMPRESSION['compress_method'], COMPRESSION['compress_level'],
             ALT['compress_method'], ALT['compress_level'], DATA), flush=True)
    os.makedirs(DATA, exist_ok=True)
    work = tempfile.mkdtemp(prefix='bench-combine-', dir=DATA)
    t0 = time.perf_counter()
    try:
        if not only_real:
            grid = (2, 2, 1) if quick else (4, 4, 2)
            t = time.perf_counter()
            seg = neuropil.tile_set(grid, 256)
            image = neuropil.tile_set(grid, 256, image=True)
            print('tiles ready in %.0f s' % (time.perf_counter() - t), flush=True)
            gil_check(seg[0])
            chunk_costs(seg[0])
            library_gain(seg[0])
            compare_segmentation(seg[0], seg[1], cores, work)
            compare_image(image[0], image[1], cores, work)
        if only_real or not quick:
            real_tile(cores, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print('bench combine: %s' % format_duration(time.perf_counter() - t0))
