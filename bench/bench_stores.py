"""``python -m bench stores [--quick]``: a full-resolution plane region of 1024 x 1024
shown and coloured from a local neuroglancer precomputed store, against the same data as
a .cmap, side by side in one run; and the reading libraries compared on the same store.

The data: a 1024 x 1024 x 64 EM-like uint8 image and a uint32 segmentation of irregular
regions (256 x 256 x 32 with --quick), written once into bench.DATA/stores-SIZE by
tensorstore as precomputed (image raw, segmentation compressed_segmentation, chunks
64^3, two downsampled scales 2,2,1 and 4,4,2, as igneous makes them) and as an OME-Zarr
copy of the segmentation (zarr-python, blosc lz4 chunks 64^3); the .cmap files are made
from the stores by ``connectome combine`` (blosc:lz4hc, its own pyramid).

Figures printed, each the median of REPEATS runs in a fresh ChimeraX process
(bin/chimerax-headless), so no ChimeraX cache is warm; the files are in the system's page
cache (just written or read), which is what a second look at a local dataset sees:

- open: ``open`` of the image and the segmentation (metadata only);
- show plane: ``volume #1 region 0,0,Z,1023,1023,Z step 1 style image`` and a drawn frame
  (the 1024^2 plane read from the full resolution, then drawn);
- colour: ``segmentation colors #2 lime map #1 byAttribute axon`` and a drawn frame (the
  segmentation plane read, the colours computed);
- next plane: the same region one plane further, shown and coloured (chunks of 64 planes:
  the store's chunk cache and the .cmap's HDF5 chunk cache hold them).

Then, outside ChimeraX, the one 1024^2 plane and a 256 x 256 x 64 block read from the same data
through tensorstore, CloudVolume (precomputed) and zarr-python (the OME-Zarr copy), the
median of 5 reads each: the measurements behind choosing tensorstore.

``--probe`` alone prints the store probe instead (tests/common/storeprobe.py): one
segmentation written by each of the field's writers in each published layout, and
whether it opens with exact voxels, geometry and levels and combines exactly.

Then (``id_map_times``; alone with ``--ids``) the cost of the id map (formats/stores/
idmap.py): a uint64 segmentation of dense-neuropil regions (bench/neuropil.py's 256^3
block, 64 x 128 x 128 with --quick) with ids above 2^32 (sparse, as FlyWire's and
MICrONS' are), against the same regions numbered 1, 2, ... (uint64 too), each written as
precomputed compressed_segmentation by tensorstore and by CloudVolume with its default
gzip chunk files (formats/stores/chunkfiles.py reads those), 64^3 chunks.  Read with
open_store, a fresh store each time (no chunk cache kept between runs): the whole volume
in 64-plane slabs and one plane, the median and the fastest of 9, the two alternated.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np

from . import DATA, REPO

REPEATS = 3
REPEATS_IDS = 9
FACTORS = [(2, 2, 1), (4, 4, 2)]            # x,y,z
CHUNK = (64, 64, 64)
RESOLUTION = (11.24, 11.24, 28)


def volumes(shape, seed=0):
    """(image uint8, segmentation uint32, axon attribute int32), z,y,x."""
    rng = np.random.default_rng(seed)
    z, y, x = np.ogrid[:shape[0], :shape[1], :shape[2]]
    image = np.clip(120 + 50 * np.sin(x / 9.0) * np.cos(y / 13.0) + 20 * np.sin(z / 5.0)
                    + rng.normal(0, 15, shape), 0, 255).astype(np.uint8)
    cell = 12
    coarse = [s // cell + 2 for s in shape]
    ids = rng.permutation(np.prod(coarse)).reshape(coarse).astype(np.uint32) + 1
    jitter = [rng.integers(0, cell // 2, shape[a]) for a in range(3)]
    iz = np.clip((np.arange(shape[0]) + jitter[0]) // cell, 0, coarse[0] - 1)
    iy = np.clip((np.arange(shape[1]) + jitter[1]) // cell, 0, coarse[1] - 1)
    ix = np.clip((np.arange(shape[2]) + jitter[2]) // cell, 0, coarse[2] - 1)
    seg = ids[iz[:, None, None], iy[None, :, None], ix[None, None, :]]
    axon = np.zeros(int(seg.max()) + 1, np.int32)
    chosen = rng.choice(np.arange(1, axon.size), axon.size // 4, replace=False)
    axon[chosen] = rng.integers(1, 500, chosen.size)
    return image, seg, axon


def write_stores(folder, shape):
    """The stores, the .cmap copies and the axon object file, made once."""
    done = os.path.join(folder, 'complete-%s' % 'x'.join(map(str, shape)))
    paths = {'image store': os.path.join(folder, 'em'),
             'seg store': os.path.join(folder, 'seg'),
             'seg zarr': os.path.join(folder, 'seg.zarr'),
             'image cmap': os.path.join(folder, 'em.cmap'),
             'seg cmap': os.path.join(folder, 'seg.cmap'),
             'axon csv': os.path.join(folder, 'axon.csv')}
    if os.path.exists(done):
        return paths
    import shutil
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    print('writing the stores into %s (once; kept for later runs) ...' % folder, flush=True)
    image, seg, axon = volumes(shape)
    sys.path.insert(0, os.path.join(REPO, 'tests', 'common'))
    import stores
    factors_zyx = [tuple(reversed(f)) for f in FACTORS]
    stores.precomputed_tensorstore(paths['image store'], stores.pyramid(image, factors_zyx),
                                   FACTORS, resolution=RESOLUTION, chunk=CHUNK)
    stores.precomputed_tensorstore(paths['seg store'], stores.pyramid(seg, factors_zyx),
                                   FACTORS, resolution=RESOLUTION, chunk=CHUNK,
                                   encoding='compressed_segmentation')
    stores.ome_zarr(paths['seg zarr'], stores.pyramid(seg, factors_zyx), FACTORS,
                    voxel_size=RESOLUTION, chunk=CHUNK)
    regions = np.flatnonzero(axon)
    with open(paths['axon csv'], 'w') as f:
        f.write('region,object\n')
        f.write('\n'.join('%d,%d' % (r, axon[r]) for r in regions.tolist()))
        f.write('\n')
    script = os.path.join(folder, 'make-cmaps.cxc')
    with open(script, 'w') as f:
        f.write('connectome combine %s output %s open false\n'
                % (paths['image store'], paths['image cmap']))
        f.write('connectome combine %s output %s open false\n'
                % (paths['seg store'], paths['seg cmap']))
        f.write('connectome ids %s axon %s\n' % (paths['seg cmap'], paths['axon csv']))
        # The store's attributes go to its attribute file (seg.attributes.h5).
        f.write('open %s format precomputed\n' % paths['seg store'])
        f.write('connectome ids #1 axon %s\n' % paths['axon csv'])
    _headless(['--cmd', 'open %s' % script])
    open(done, 'w').close()
    return paths


def _headless(args):
    cmd = [os.path.join(REPO, 'bin', 'chimerax-headless'), '--nogui', '--offscreen',
           '--exit'] + args
    p = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError('chimerax-headless failed:\n%s\n%s' % (p.stdout, p.stderr))
    return p.stdout


CHILD = '''
import json, sys, time
from chimerax.core.commands import run
args = json.loads(sys.argv[1])
t = {}
def timed(name, *commands):
    t0 = time.perf_counter()
    for c in commands:
        run(session, c, log=False)
    session.main_view.image(256, 256)       # a drawn frame: what the user waits for
    t[name] = time.perf_counter() - t0
z, nx, ny = args['z'], args['nx'], args['ny']
t0 = time.perf_counter()
run(session, 'open %s' % args['image'], log=False)
run(session, 'open %s' % args['seg'], log=False)
t['open'] = time.perf_counter() - t0
run(session, 'volume #2 hide', log=False)
region = 'volume #1 region 0,0,%d,%d,%d,%d step 1 style image' % (z, nx - 1, ny - 1, z)
timed('show plane', region)
timed('colour', 'segmentation colors #2 lime map #1 byAttribute axon')
region = 'volume #1 region 0,0,%d,%d,%d,%d step 1' % (z + 1, nx - 1, ny - 1, z + 1)
timed('next plane', region)
with open(args['out'], 'w') as f:
    json.dump(t, f)
'''


def chimerax_times(paths, kind, shape):
    """Seconds of each step, in a fresh ChimeraX process."""
    fmt = ' format precomputed' if kind == 'store' else ''
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, 'child.py')
        with open(script, 'w') as f:
            f.write(textwrap.dedent(CHILD))
        out = os.path.join(tmp, 'times.json')
        args = {'image': paths['image %s' % kind] + fmt, 'seg': paths['seg %s' % kind] + fmt,
                'z': shape[0] // 2, 'nx': shape[2], 'ny': shape[1], 'out': out}
        _headless(['--script', '%s %s' % (script, _quote(json.dumps(args)))])
        with open(out) as f:
            return json.load(f)


def _quote(text):
    return "'%s'" % text.replace("'", "'\\''")


def library_times(paths, shape):
    """Median seconds to read one full-resolution plane and a 256^3 block, per library."""
    import tensorstore as ts
    z = shape[0] // 2
    n = min(256, shape[1], shape[2])
    d = min(n, shape[0])
    b0 = [0, shape[1] // 2 - n // 2, shape[2] // 2 - n // 2]
    out = {}

    def median(read):
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            read()
            times.append(time.perf_counter() - t0)
        return statistics.median(times)

    t = ts.open({'driver': 'neuroglancer_precomputed',
                 'kvstore': 'file://%s/' % paths['seg store'],
                 'context': {'cache_pool': {'total_bytes_limit': 0}}}).result()[..., 0].T
    out['tensorstore, precomputed'] = (
        median(lambda: t[z].read().result()),
        median(lambda: t[b0[0]:b0[0] + d, b0[1]:b0[1] + n, b0[2]:b0[2] + n].read().result()))
    from cloudvolume import CloudVolume
    cv = CloudVolume('file://%s' % paths['seg store'], progress=False, cache=False,
                     parallel=1)
    out['CloudVolume, precomputed'] = (
        median(lambda: cv[:, :, z:z + 1]),
        median(lambda: cv[b0[2]:b0[2] + n, b0[1]:b0[1] + n, b0[0]:b0[0] + d]))
    tz = ts.open({'driver': 'zarr', 'kvstore': 'file://%s/0/' % paths['seg zarr'],
                  'context': {'cache_pool': {'total_bytes_limit': 0}}}).result()
    out['tensorstore, OME-Zarr'] = (
        median(lambda: tz[z].read().result()),
        median(lambda: tz[b0[0]:b0[0] + d, b0[1]:b0[1] + n, b0[2]:b0[2] + n].read().result()))
    import zarr
    za = zarr.open(os.path.join(paths['seg zarr'], '0'), mode='r')
    out['zarr-python, OME-Zarr'] = (
        median(lambda: za[z]),
        median(lambda: za[b0[0]:b0[0] + d, b0[1]:b0[1] + n, b0[2]:b0[2] + n]))
    return out, '%d x %d x %d block' % (n, n, d)


def id_map_times(quick):
    """{(writer, what): (small ids s, ids above 2^32 s)}: see the module paragraph."""
    sys.path.insert(0, os.path.join(REPO, 'tests', 'common'))
    import stores
    from chimerax.connectome.formats.stores import open_store
    from .neuropil import region_block
    block = region_block()
    shape = (64, 128, 128) if quick else block.shape
    labels = block[:shape[0], :shape[1], :shape[2]].astype(np.uint64) + 1
    big = labels * np.uint64(1000003) + np.uint64(2 ** 56)
    folder = os.path.join(DATA, 'stores-ids-%s' % 'x'.join(map(str, reversed(shape))))
    done = os.path.join(folder, 'complete')
    paths = {}
    for writer in ('tensorstore', 'CloudVolume .gz'):
        for name, ids in (('small', labels), ('big', big)):
            paths[writer, name] = os.path.join(folder, '%s-%s' % (writer.split()[0], name))
    if not os.path.exists(done):
        import shutil
        shutil.rmtree(folder, ignore_errors=True)
        os.makedirs(folder)
        for (writer, name), path in paths.items():
            ids = labels if name == 'small' else big
            if writer == 'tensorstore':
                stores.precomputed_tensorstore(path, [ids], [], resolution=RESOLUTION,
                                               chunk=CHUNK, encoding='compressed_segmentation')
            else:
                stores.precomputed_cloudvolume(path, [ids], [], resolution=RESOLUTION,
                                               chunk=CHUNK, compress=None,
                                               encoding='compressed_segmentation')
        open(done, 'w').close()

    def whole(path):
        s = open_store(path, cache_bytes=0)
        for z in range(0, shape[0], 64):
            a = s.levels[0].read((z, 0, 0), (min(z + 64, shape[0]), shape[1], shape[2]))
        return s, a

    def plane(path):
        s = open_store(path, cache_bytes=0)
        return s, s.levels[0].read((shape[0] // 2, 0, 0),
                                   (shape[0] // 2 + 1, shape[1], shape[2]))

    for writer in ('tensorstore', 'CloudVolume .gz'):      # the stores read right first
        s, a = whole(paths[writer, 'big'])
        assert s.id_map is not None and np.array_equal(s.original_ids(a),
                                                       big[-a.shape[0]:]), writer
        s, a = whole(paths[writer, 'small'])
        assert s.id_map is None and np.array_equal(a, labels[-a.shape[0]:]), writer
    out = {}
    for writer in ('tensorstore', 'CloudVolume .gz'):
        for what, read in (('whole volume', whole), ('one plane', plane)):
            times = {'small': [], 'big': []}
            for _ in range(REPEATS_IDS):
                for name in ('small', 'big'):
                    t0 = time.perf_counter()
                    read(paths[writer, name])
                    times[name].append(time.perf_counter() - t0)
            out[writer, what] = tuple(f(times[n]) for f in (statistics.median, min)
                                      for n in ('small', 'big'))
    return out, shape


def print_id_map_times(quick):
    out, shape = id_map_times(quick)
    print('uint64 segmentation %d x %d x %d (neuropil regions), ids 1.. vs ids above 2^32'
          ' through the id map, median and fastest of %d (s), load average %.1f on %d cores:'
          % (shape[2], shape[1], shape[0], REPEATS_IDS, os.getloadavg()[0], os.cpu_count()))
    print('  %-34s %10s %12s %8s %10s %12s %8s' % ('store, read', 'small ids', 'ids > 2^32',
                                                  'ratio', 'fastest', 'fastest', 'ratio'))
    for (writer, what), (small, big, small_min, big_min) in out.items():
        print('  %-34s %10.3f %12.3f %8.2f %10.3f %12.3f %8.2f'
              % ('%s, %s' % (writer, what), small, big, big / small, small_min, big_min,
                 big_min / small_min))


def print_probe():
    """The store probe (tests/common/storeprobe.py): each of the field's writers and
    layouts, opened, read and combined here; a Markdown table."""
    sys.path.insert(0, os.path.join(REPO, 'tests', 'common'))
    import storeprobe
    with tempfile.TemporaryDirectory(dir=DATA if os.path.isdir(DATA) else None) as folder:
        rows = storeprobe.probe(folder)
    print(storeprobe.table(rows))


def main(flags):
    quick = '--quick' in flags
    if '--probe' in flags:
        print_probe()
        return
    if '--ids' in flags:
        print_id_map_times(quick)
        return
    shape = (32, 256, 256) if quick else (64, 1024, 1024)
    folder = os.path.join(DATA, 'stores-%s' % 'x'.join(map(str, reversed(shape))))
    paths = write_stores(folder, shape)
    print('data: %d x %d x %d voxels, image uint8 + segmentation uint32, in %s; load'
          ' average %.1f on %d cores' % (shape[2], shape[1], shape[0], folder,
                                         os.getloadavg()[0], os.cpu_count()))
    runs = {'store': [], 'cmap': []}
    for _ in range(1 if quick else REPEATS):
        for kind in ('store', 'cmap'):          # alternated, so a disturbance hits both
            runs[kind].append(chimerax_times(paths, kind, shape))
    steps = ['open', 'show plane', 'colour', 'next plane']
    print('%d x %d plane at full resolution, median of %d fresh ChimeraX processes (s):'
          % (shape[2], shape[1], len(runs['store'])))
    print('  %-12s %10s %10s %8s' % ('step', 'store', '.cmap', 'ratio'))
    for step in steps:
        s = statistics.median(r[step] for r in runs['store'])
        c = statistics.median(r[step] for r in runs['cmap'])
        print('  %-12s %10.3f %10.3f %8.2f' % (step, s, c, s / c))
    lib, block_name = library_times(paths, shape)
    print('the segmentation read outside ChimeraX, median of 5 (s), no library cache:')
    print('  %-26s %12s %18s' % ('library, format', 'one plane', block_name))
    for name, (plane, block) in lib.items():
        print('  %-26s %12.3f %18.3f' % (name, plane, block))
    print_id_map_times(quick)
