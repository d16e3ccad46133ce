"""``python -m bench views [--quick]``: how fast ChimeraX shows the map ``connectome
combine`` writes, against ChimeraX's own save of the same data, side by side in one run.

The data (bench/neuropil.py): dense-neuropil uint32 labels and a matching uint8 EM image,
2 x 1 x 1 tiles of 1024^3 (the authors' tile size; --quick: 2 x 2 x 1 tiles of 256^3).
Three files of each:

- A: ``connectome combine`` with the previous layout (64^3 chunks for labels, 128^3 for
  the image, at every level), read by ChimeraX's cmap reader alone;
- B: ChimeraX's own ``save x.cmap compressMethod blosc:lz4hc compressShuffle false
  subsamples 2,2,1`` (map_data's write_grid_as_chimera_map over A's full resolution,
  as ChimeraX reads it): chunks one plane thick and a whole plane wide;
- C: ``connectome combine`` with today's defaults (the full resolution in chunks 4 planes
  thin and 128 wide for labels, formats/cmap.py PLANE_DEPTH and PLANE_BLOCKS, and one
  plane thin for the image, IMAGE_PLANE_DEPTH, written sorted by position so a plane's
  chunks lie together in the file, WRITE_BUFFER_BYTES; subsampled levels cubes) read as
  the bundle opens it: every region through the bundle's chunk reader (formats/cmapread.py: one
  opening of the file a region, stored chunks read in file order, decompressed by
  worker threads, only the LZ4 streams holding the planes asked for), and
  session/slabreads.py (once slicing, an xy plane read as its chunk layer's slab, kept
  for the next planes; strided regions read at step 1 in slabs), the kernel asked for
  each region's chunks at once from the map's chunk index (formats/readahead.py);
  C's files are copied twice and C read from one copy, C without read-ahead from the
  other, the same way but for that, at the same places; C alone is C's copy read by
  ChimeraX's reader alone.

Views, each read through ChimeraX's own code (map_data's cmap reader and GridData /
SubsampledGrid region reads, the calls a Volume makes; drawing excluded, which costs the
same for every file): one full-resolution xy plane (the middle one, whole); a slicing
movie of 64 consecutive 512^2 planes (one read a plane, as ``volume ... planes z``
asks); the EM plane coloured by the segmentation (the EM plane and the segmentation's
plane, what colouring reads); a 256^3 block (what a surface of it reads); an xz plane
across x; the whole volume at ChimeraX's automatic step (its 16 Mvoxel limit, the
level SubsampledGrid picks).  Each view: the grids opened afresh, the files' pages
dropped from the page cache (posix_fadvise DONTNEED: the measured files only, the
machine's other users' cache is left alone), then timed; medians of 21 rounds for the
lone and coloured planes (a few milliseconds each, and the most variable), 7 for the
others, each view's rounds together (planes first), A, B, C and C without read-ahead
alternated within each round, C alone after C.  Each round reads its views elsewhere
(the lone plane 16 planes further, the coloured plane 8 planes past it, movies 64 planes
nearer z 0, blocks 256 voxels further along x, xz planes 128 rows further): this machine
is a virtual machine whose host keeps what was read recently even when the page cache
is emptied, so a view read again in the same place would be cold here but warm on the
host.  A's chunks are 64 planes deep, and B's half a plane wide: A's planes, B's block,
xz plane and whole volume re-read chunks earlier rounds or views read (B's xz plane
most of them), C alone re-reads C's, and the whole volume reads the same chunks every
round.

Also: two decompression floors of each view.  The chunk floor (the issue's): the distinct
chunks the view needs in each file's layout (those ChimeraX's reader touches; C's layout
from C alone), their stored bytes read beforehand, decompressed once each by Blosc on one
core, best of 3.  The voxel floor: the view's voxels alone, at the rate Blosc
decompresses C's chunks (one core), which no chunked file can reach.  ChimeraX reading
nothing: each view through C's grids with every read returning zeros (ChimeraX's own
work around the reads; drawing is not timed).  Chunks
decompressed / distinct chunks for each view (PyTables array reads recorded, each chunk a
read touches counted once: HDF5 decompresses a chunk at most once per read, and
ChimeraX's reader closes the file after every region, so no chunk cache outlives a read); file size; combine's wall, CPU and user CPU time (A
and C in alternating processes after ``sync``, the page cache emptied (as root) and the
tiles read just before, the
four rounds each, medians and the best, for the
segmentation and the image; user time apart because the system time of writing
gigabytes follows the kernel's writeback and, on a virtual machine, the host's memory).
The disk floor: the stored bytes of the chunks C's view read, read from disk and nothing
else, all asked for at once; C against it plus the chunk floor.  Last, a slicing movie
through the tile set opened directly and through a Zarr store of the same labels (the
reading paths of ``open ... format tiles`` and of stores), where the chunk cache is ours.
"""

import json
import os
import shutil
import tempfile
import time

import numpy as np

from . import DATA, neuropil
from .bench_combine import VOXEL_SIZE, run_child

VIEWS = ('plane', 'movie', 'colored', 'block', 'xz', 'whole')
TITLES = {'plane': 'one full-resolution xy plane',
          'movie': 'slicing movie: 64 consecutive 512^2 planes',
          'colored': 'EM plane coloured by the segmentation',
          'block': '256^3 block (as a surface)',
          'xz': 'xz plane across x',
          'whole': 'whole volume, automatic step'}
FILES = ('A', 'B', 'C', 'C without read-ahead', 'C alone')
# Rounds of each view: more for the planes, a few milliseconds each, whose cold reads vary
# most from one to the next.
ROUNDS = {'plane': 21, 'colored': 21}

COMBINE_CHILD = '''
import os
from chimerax.connectome.formats import tiles
from chimerax.connectome.formats import cmap
from chimerax.connectome.pipeline import combine
depth = cmap.BY_CONTENT if args['plane_depth'] == 'default' else args['plane_depth']
t, cpu, times = time.perf_counter(), time.process_time(), os.times()
with tiles.open_tiles(args['tiles']) as ts:
    r = combine.combine(ts, args['output'], replace=True, voxel_size=args['voxel_size'],
                        plane_depth=depth)
# User time apart: the system time of writing gigabytes follows the kernel's writeback
# and page reclaim, which vary from run to run far more than combine's own work.
print(json.dumps({'wall': time.perf_counter() - t, 'cpu': time.process_time() - cpu,
                  'user': os.times().user - times.user,
                  'file_bytes': r.file_bytes,
                  'chunk_shapes': r.chunk_shapes, 'maxrss': peak_rss()}))
'''

SAVE_CHILD = '''
import types
import chimerax
chimerax.app_dirs = types.SimpleNamespace(appname='ChimeraX', version='1.7')
from chimerax.map_data.cmap import open as open_cmap
from chimerax.map_data.cmap.write_cmap import write_grid_as_chimera_map
grid = open_cmap(args['source'])[0]
full = grid.available_subsamplings[(1, 1, 1)]
t = time.perf_counter()
# save x.cmap compressMethod blosc:lz4hc compressShuffle false subsamples 2,2,1
write_grid_as_chimera_map(full, args['output'], {
    'compress': True, 'compress_method': 'blosc:lz4hc', 'compress_shuffle': False,
    'subsamples': [(2, 2, 1)]})
print(json.dumps({'wall': time.perf_counter() - t, 'maxrss': peak_rss()}))
'''

VIEWS_CHILD = '''
import os, types
import numpy as np
import blosc, h5py, hdf5plugin, tables
import chimerax
chimerax.app_dirs = types.SimpleNamespace(appname='ChimeraX', version='1.7')
from chimerax.map_data.cmap import open as open_cmap
from chimerax.map.volume import ijk_step_for_voxel_limit
from chimerax.connectome.formats import cmapread, h5chunks, readahead
from chimerax.connectome.session.slabreads import add_slab_reads, level_grids

# Chunk reads: every PyTables array read ChimeraX's reader makes, as the chunks it touches,
# and every chunk the bundle's reader decompresses (a part of one counted as one), each
# as (file, array, z, y, x chunk index): the coloured plane reads two files whose arrays
# have the same names.
touched = []


class FileLog:
    # LevelReader.log, read as self.log: an appender that adds the reader's file.
    def __get__(self, reader, owner):
        return self if reader is None else FileLog.Appender(reader.path)

    class Appender:
        def __init__(self, path):
            self.path = os.path.abspath(path)

        def append(self, entry):
            touched.append((self.path,) + tuple(entry))


cmapread.LevelReader.log = FileLog()
plain_getitem = tables.Array.__getitem__


def counting_getitem(self, key):
    cs = self.chunkshape
    ranges = []
    for k, c, n in zip(key, cs, self.shape):
        start, stop, step = k.indices(n)
        idx = sorted(set(i // c for i in range(start, stop, step))) if step > 1 else \\
            list(range(start // c, (stop - 1) // c + 1))
        ranges.append(idx)
    path = os.path.abspath(self._v_file.filename)
    touched.extend((path, self._v_pathname, z, y, x) for z in ranges[0] for y in ranges[1]
                   for x in ranges[2])
    return plain_getitem(self, key)


tables.Array.__getitem__ = counting_getitem


def drop(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def opened(path, slabs):
    grids = open_cmap(path)
    if slabs:
        add_slab_reads(grids, path)
    return grids[0]


def rate(path):
    # Blosc's decompression rate of the file's full-resolution chunks, one core (bytes/s).
    blosc.set_nthreads(1)
    with h5py.File(path, 'r') as f:
        d = f['/Chimera/image1/data_zyx']
        n = d.id.get_num_chunks()
        raw = [d.id.read_direct_chunk(d.id.get_chunk_info(i).chunk_offset)[1]
               for i in range(0, n, max(1, n // 400))]
    t = time.perf_counter()
    nbytes = sum(len(blosc.decompress(c)) for c in raw)
    return nbytes / (time.perf_counter() - t)


def chunk_floor(chunks):
    """(seconds, chunks, bytes): Blosc decompressing ``chunks`` (file, array, z, y, x chunk
    index) once each, one core, their stored bytes already read (best of 3): the
    issue's decompression floor, the distinct chunks a view needs."""
    blosc.set_nthreads(1)
    by_array = {}
    for path, name, *index in chunks:
        by_array.setdefault((path, name), []).append(index)
    raw, size, nbytes = [], 0, 0
    for (path, name), indices in by_array.items():
        with h5py.File(path, 'r') as f:
            d = f[name]
            chunk = int(np.prod(d.chunks)) * d.dtype.itemsize
            size = max(size, chunk)
            for index in indices:
                try:
                    mask, data = d.id.read_direct_chunk(
                        tuple(i * c for i, c in zip(index, d.chunks)))
                except RuntimeError:        # never written: nothing to decompress
                    continue
                # A chunk Blosc could not shrink is stored by HDF5 as is (filter mask
                # set): copied, not decompressed.
                raw.append((bool(mask), data))
                nbytes += chunk
    buf = np.empty(max(size, 1), np.uint8)
    best = float('inf')
    for _ in range(3):
        t = time.perf_counter()
        for as_is, c in raw:
            if as_is:
                buf[:len(c)] = np.frombuffer(c, np.uint8)
            else:
                blosc.decompress_ptr(c, buf.ctypes.data)
        best = min(best, time.perf_counter() - t)
    return best, len(raw), nbytes


def disk_floor(chunks):
    """Seconds to read the stored bytes of ``chunks`` (file, array, z, y, x chunk index)
    from disk and nothing else: the page cache emptied, every chunk's bytes asked for at
    once (posix_fadvise WILLNEED), then read in file order; best of 3.  The chunks are
    those the view's last round has just read, which this virtual machine's host still
    holds (see ``place``): a lower bound of the disk's part of a cold view, so a view's
    ratio to it errs high."""
    by_path = {}
    for path, name, *index in chunks:
        by_path.setdefault(path, {}).setdefault(name, []).append(index)
    spans = {}
    for path, arrays in by_path.items():
        with h5py.File(path, 'r') as f:
            for name, indices in arrays.items():
                offset, size, _ = h5chunks.chunk_locations(f[name])
                spans[path] = spans.get(path, []) + [
                    (int(offset[i]), int(size[i])) for i in map(tuple, indices) if size[i]]
    best = float('inf')
    for _ in range(3):
        fds = {path: os.open(path, os.O_RDONLY) for path in spans}
        try:
            for path, fd in fds.items():
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            t = time.perf_counter()
            for path, fd in fds.items():
                for offset, size in spans[path]:
                    os.posix_fadvise(fd, offset, size, os.POSIX_FADV_WILLNEED)
            for path, fd in fds.items():
                for offset, size in sorted(spans[path]):
                    os.pread(fd, size, offset)
            best = min(best, time.perf_counter() - t)
        finally:
            for fd in fds.values():
                os.close(fd)
    return best


X, Y, Z = args['size']          # x, y, z


def place(centre, extent, n, shift, rnd, way=1):
    """Where round ``rnd`` reads an extent of ``extent`` voxels along an axis of ``n``:
    the start nearest ``centre`` among multiples of ``shift``, moved by ``shift`` a
    round (``way`` -1: towards 0; cycling).  Each round reads other chunks of every
    file (shifts of 64 planes or more: past A's chunks), because this machine is a
    virtual machine whose host keeps what was read recently even when the page cache is
    emptied: a view re-read from the same place would be cold here and warm on the
    host."""
    starts = list(range(0, max(1, n - extent + 1), shift))
    k = min(range(len(starts)), key=lambda i: abs(starts[i] - centre))
    return starts[(k + way * rnd) % len(starts)]


def view(name, seg, img, rnd=0):
    """Read one view (placed for round ``rnd``); returns voxel bytes read."""
    if name in ('plane', 'colored'):
        # 16 planes further each round, the coloured plane 8 past the lone plane of
        # its round: other chunks of B and C each time (A's 64-plane chunks are read
        # again), so that no plane is one an earlier round or view has read.
        z = min(Z - 1, place(Z // 2, 1, Z, 16, rnd) + (8 if name == 'colored' else 0))
        n = img.matrix((0, 0, z), (X, Y, 1), (1, 1, 1)).nbytes if name == 'colored' else 0
        return n + seg.matrix((0, 0, z), (X, Y, 1), (1, 1, 1)).nbytes
    if name == 'movie':
        mx, my = max(0, (X - 512) // 2), max(0, (Y - 512) // 2)
        # Towards z 0, away from the planes the lone and coloured planes read.
        mz = place(Z // 2 - 32, 64, Z, 64, rnd, -1)
        return sum(seg.matrix((mx, my, z), (min(512, X), min(512, Y), 1), (1, 1, 1)).nbytes
                   for z in range(mz, min(Z, mz + 64)))
    if name == 'block':
        size = tuple(min(256, n) for n in (X, Y, Z))
        b = (place((X - 256) // 2, size[0], X, 256, rnd), max(0, (Y - 256) // 2),
             max(0, (Z - 256) // 2))
        return seg.matrix(b, size, (1, 1, 1)).nbytes
    if name == 'xz':
        y = place(Y // 2, 1, Y, 128, rnd)
        return seg.matrix((0, y, 0), (X, 1, Z), (1, 1, 1)).nbytes
    if name == 'whole':
        step = ijk_step_for_voxel_limit((0, 0, 0), (X - 1, Y - 1, Z - 1), (1, 1, 1), 0,
                                        True, 16)
        return seg.matrix((0, 0, 0), (X, Y, Z), tuple(step)).nbytes


# name -> (segmentation, image, plane slabs, read-ahead)
files = args['files']
rates = {name: rate(seg) for name, (seg, img, slabs, ahead) in files.items()}
advise = readahead._advise
times, counts, nbytes, needed = {}, {}, {}, {}
# Each view's rounds together, the views in order (planes first): B's chunks are a plane
# wide, so a block, an xz plane or a movie read before a plane would have put the host's
# cache of most of B's planes ahead of C's.  A, B and C alternated; C alone (C's file)
# always after C, so that C never reads what C alone has just read.
for name in args['views']:
    for rnd in range(args['rounds'].get(name, args['rounds']['other'])):
        order = ['A', 'B', 'C', 'C without read-ahead']
        for f in (order if rnd % 2 == 0 else order[::-1]) + ['C alone']:
            seg_path, img_path, slabs, ahead = files[f]
            readahead._advise = advise if ahead else None
            seg, img = opened(seg_path, slabs), opened(img_path, slabs)
            drop(seg_path)
            drop(img_path)
            touched.clear()
            t = time.perf_counter()
            n = view(name, seg, img, rnd)
            times.setdefault(name, {}).setdefault(f, []).append(time.perf_counter() - t)
            counts.setdefault(name, {})[f] = (len(touched), len(set(touched)))
            nbytes.setdefault(name, {})[f] = n
            needed.setdefault(name, {})[f] = set(touched)
# The chunks a view needs: those ChimeraX's reader touches (A, B, and C's file read by
# ChimeraX's reader alone: C's layout), each decompressed once.
floors = {name: {f: chunk_floor(needed[name][f]) for f in ('A', 'B', 'C alone')}
          for name in needed}
disks = {name: disk_floor(needed[name]['C alone']) for name in needed}


def reading_nothing(grids):
    # Every level grid's read_matrix returns zeros of the region's shape: what is left
    # of a view is ChimeraX's own work around the reads (grids, regions, copies).
    for g in level_grids(grids):
        g.read_matrix = lambda origin, size, step, progress, g=g: np.zeros(
            [-(-n // s) for n, s in zip(reversed(size), reversed(step))], g.value_type)
    return grids[0]


own = {}
for name in args['views']:
    for rnd in range(3):
        seg_path, img_path, _, _ = files['C']
        seg = reading_nothing(open_cmap(seg_path))
        img = reading_nothing(open_cmap(img_path))
        t = time.perf_counter()
        view(name, seg, img)
        own.setdefault(name, []).append(time.perf_counter() - t)
print(json.dumps({'times': times, 'counts': counts, 'bytes': nbytes, 'rates': rates,
                  'floors': floors, 'disks': disks, 'own': own, 'maxrss': peak_rss()}))
'''


def combine_file(tiles, output, plane_depth):
    return run_child(COMBINE_CHILD, tiles=tiles, output=output, voxel_size=VOXEL_SIZE,
                     plane_depth=plane_depth)


def chimerax_save(source, output, segmentation):
    r = run_child(SAVE_CHILD, source=source, output=output)
    if segmentation:
        # ChimeraX's save keeps no maximum_segment_id: without it colouring scans the
        # whole volume for the largest id (23 s in the issue), which is not reading.
        import h5py
        import hdf5plugin  # noqa: F401
        with h5py.File(source, 'r') as f:
            mx = f['/Chimera/image1'].attrs['maximum_segment_id']
        with h5py.File(output, 'r+') as f:
            f['/Chimera/image1'].attrs['maximum_segment_id'] = mx
    return r


def _drop_page_cache():
    """Empty the machine's whole page cache (root only; False where not allowed).
    Before each combine: on this virtual machine a combine's system time depended on
    what the run before had left in memory (an image combine right after another
    layout's took 3-4 s more), by more than the layouts differ; with the cache emptied
    first, runs of one layout in one sequence agree within about 15%."""
    try:
        with open('/proc/sys/vm/drop_caches', 'w') as f:
            f.write('1')
        return True
    except OSError:
        return False


def _read_through(folder):
    """Read every file of ``folder`` once (into the page cache)."""
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), 'rb') as f:
            while f.read(2 ** 23):
                pass


def _mb(n):
    return '%.1f MB' % (n / 1e6)


def print_table(r, sizes, combines):
    times, counts, nbytes, rates = r['times'], r['counts'], r['bytes'], r['rates']
    floors = r['floors']
    med = {v: {f: float(np.median(times[v][f])) for f in FILES} for v in times}
    print('\n| view | A (previous combine) | B (ChimeraX save) | C (combine now) | C / B'
          ' | C / A | C without read-ahead | C / C without | C alone (ChimeraX reader)'
          ' | chunk floor: A, B, C | A, B, C vs chunk floor | C vs voxel floor'
          ' | disk floor C | C vs disk + chunk floor | ChimeraX reading nothing | chunks decompressed / distinct: A, B, C,'
          ' C without read-ahead, C alone |')
    print('|' + ' --- |' * 16)
    for v in VIEWS:
        if v not in med:
            continue
        m = med[v]
        floor = nbytes[v]['C'] / rates['C']
        chunk = {f: floors[v][f][0] for f in ('A', 'B', 'C alone')}
        ratios = ', '.join('%.1f' % (counts[v][f][0] / max(1, counts[v][f][1]))
                           for f in FILES)
        without = m['C without read-ahead']
        disk = r['disks'][v]
        print('| %s | %.3f s | %.3f s | %.3f s | %.2f | %.2f | %.3f s | %.2f | %.3f s'
              ' | %.3f, %.3f, %.3f s | %.1fx, %.1fx, **%.1fx** | %.1fx (%.4f s) | %.4f s'
              ' | %.1fx | %.4f s | %s |'
              % (TITLES[v], m['A'], m['B'], m['C'], m['C'] / m['B'], m['C'] / m['A'],
                 without, m['C'] / without, m['C alone'], chunk['A'], chunk['B'],
                 chunk['C alone'], m['A'] / chunk['A'], m['B'] / chunk['B'],
                 m['C'] / chunk['C alone'], m['C'] / floor, floor, disk,
                 m['C'] / (disk + chunk['C alone']), float(np.median(r['own'][v])), ratios))
    print('\nchunk floor: the distinct chunks the view needs (those ChimeraX\'s reader'
          ' touches in each file; C\'s from C alone) decompressed once by Blosc, one'
          ' core, stored bytes already read; chunks and MB decompressed: ' + '; '.join(
              '%s %s' % (v, ', '.join('%s %d / %.0f' % (f[0], floors[v][f][1],
                                                         floors[v][f][2] / 1e6)
                                      for f in ('A', 'B', 'C alone')))
              for v in VIEWS if v in floors))
    print('voxel floor: the voxels shown, at the rate Blosc decompresses C\'s file;'
          ' ChimeraX reading nothing: the view through C\'s grids with every read'
          ' returning zeros (ChimeraX\'s own work around the reads; drawing is not timed)')
    print('disk floor: the stored bytes of the chunks C alone read, read from disk and'
          ' nothing else (page cache emptied, all asked for at once, read in file order;'
          ' best of 3, after the views: host-warm, so a lower bound)')
    print('\nfile sizes (segmentation + image): ' + ', '.join(
        '%s %s + %s' % (f, _mb(sizes[f][0]), _mb(sizes[f][1])) for f in 'ABC'))
    print('C / A file size: segmentation %.3f, image %.3f'
          % (sizes['C'][0] / sizes['A'][0], sizes['C'][1] / sizes['A'][1]))
    print('Blosc decompression, one core: ' + ', '.join(
        '%s %.2f GB/s' % (f, rates[f] / 1e9) for f in 'ABC'))
    for kind, (a, c) in combines.items():
        parts = []
        for n, name in enumerate(('wall', 'CPU', 'user CPU')):
            pa, pc = ([run[n] for run in runs] for runs in (a, c))
            parts.append('%s A %s s, C %s s (C / A: median %.3f, best %.3f)' % (
                name, ', '.join('%.2f' % x for x in pa), ', '.join('%.2f' % x for x in pc),
                float(np.median(pc) / np.median(pa)), min(pc) / min(pa)))
        print('combine %s: %s' % (kind, '; '.join(parts)))
    print('raw medians: ' + json.dumps(med))


def slicing_tiles_and_store(tiles, work):
    """A slicing movie (16 consecutive 512^2 planes) through the tile set opened directly
    (formats/tiles, what TilesGrid reads) and through a Zarr store of the same labels in
    64^3 chunks (formats/stores, what StoreLevelGrid reads): per plane, the time and, for
    the tiles, the tile chunks inflated so far.  Both keep decoded chunks between reads
    (TileSet's chunk cache, tensorstore's cache pool)."""
    import zarr
    from chimerax.connectome.formats.stores import open_store
    from chimerax.connectome.formats.tiles import open_tiles
    with open_tiles(tiles) as ts:
        nz, ny, nx = ts.shape
        y0, x0, z0 = max(0, (ny - 512) // 2), max(0, (nx - 512) // 2), nz // 2
        region = ((y0, min(ny, y0 + 512)), (x0, min(nx, x0 + 512)))
        rows = []
        for z in range(z0, z0 + 16):
            t = time.perf_counter()
            ts.read((z, region[0][0], region[1][0]), (z + 1, region[0][1], region[1][1]))
            rows.append((z, time.perf_counter() - t, ts.chunks_read))
        block = ts.read((z0 - z0 % 64, 0, 0), (min(nz, z0 - z0 % 64 + 64), ny, nx))
    path = os.path.join(work, 'labels.zarr')
    z = zarr.open(path, mode='w', shape=(nz, ny, nx), chunks=(64, 64, 64), dtype=block.dtype)
    z[z0 - z0 % 64:z0 - z0 % 64 + block.shape[0]] = block
    level = open_store(path, format='zarr').levels[0]
    store = []
    for k in range(z0, z0 + 16):
        t = time.perf_counter()
        level.read((k, region[0][0], region[1][0]), (k + 1, region[0][1], region[1][1]))
        store.append(time.perf_counter() - t)
    print('\nslicing 16 planes of 512^2 from z %d, page cache warm:' % z0)
    print('  tile set (64^3 tile chunks): %s; tile chunks inflated after each plane: %s'
          % (', '.join('%.4f' % t for _, t, _ in rows), ', '.join(str(n) for *_, n in rows)))
    print('  Zarr store (64^3 chunks): %s s' % ', '.join('%.4f' % t for t in store))


def main(flags):
    quick = '--quick' in flags
    grid, tile = ((2, 2, 1), 256) if quick else ((2, 1, 1), 1024)
    t0 = time.perf_counter()
    seg, facts = neuropil.tile_set(grid, tile)
    img, _ = neuropil.tile_set(grid, tile, image=True)
    size = [n for n in reversed(facts['shape'])]
    print('tiles %s ready in %.0f s: %s voxels, uint32 labels and uint8 image'
          % (seg, time.perf_counter() - t0, ' x '.join(map(str, size))), flush=True)
    os.makedirs(DATA, exist_ok=True)
    work = tempfile.mkdtemp(prefix='bench-views-', dir=DATA)
    try:
        paths = {f: {k: os.path.join(work, '%s-%s.cmap' % (f, k)) for k in ('seg', 'img')}
                 for f in 'ABC'}
        combines = {'segmentation': ([], []), 'image': ([], [])}
        # Four alternated rounds: the system time of writing gigabytes on this virtual
        # machine varies run to run by more than the layouts differ (2-5.5 s for the
        # same image combine), and a combine run after another is slower or faster by
        # what the one before left behind; medians of four, alternated, compare them.
        rounds = 1 if quick else 4
        for rnd in range(rounds):
            for kind, tiles in (('segmentation', seg), ('image', img)):
                k = 'seg' if kind == 'segmentation' else 'img'
                for f, depth in ((('A', None), ('C', 'default')) if rnd % 2 == 0
                                 else (('C', 'default'), ('A', None))):
                    # The previous combine's file written back to disk first: else
                    # the next one competes with the kernel writing gigabytes; the
                    # tiles read first, so that every combine finds them in the page
                    # cache (the first image combine after a segmentation's had
                    # read them from disk, 1.4-1.8x slower).
                    os.sync()
                    dropped = _drop_page_cache()
                    _read_through(tiles)
                    r = combine_file(tiles, paths[f][k], depth)
                    combines[kind][0 if f == 'A' else 1].append(
                        (r['wall'], r['cpu'], r['user']))
                    print('combine %s %s: %.1f s (CPU %.1f s, user %.1f s), %s, chunks %s%s' % (
                        kind, f, r['wall'], r['cpu'], r['user'], _mb(r['file_bytes']),
                        r['chunk_shapes'][:2], '' if dropped else
                        ' (page cache not dropped: not allowed)'), flush=True)
        for k in ('seg', 'img'):
            r = chimerax_save(paths['A'][k], paths['B'][k], k == 'seg')
            print('ChimeraX save %s: %.1f s' % (k, r['wall']), flush=True)
        sizes = {f: (os.path.getsize(paths[f]['seg']), os.path.getsize(paths[f]['img']))
                 for f in 'ABC'}
        # C's files copied twice, read with and without read-ahead side by side at the
        # same places: two files written the same way (a copy's reads of a file
        # combine wrote were 1.2-2.2x faster, movies most, so C against its own copy
        # would measure where the disk put them).
        copies = {}
        for how in ('ahead', 'plain'):
            copies[how] = [paths['C'][k] + '.%s.cmap' % how for k in ('seg', 'img')]
            for k, copy in zip(('seg', 'img'), copies[how]):
                shutil.copyfile(paths['C'][k], copy)
        os.sync()
        files = {'A': (paths['A']['seg'], paths['A']['img'], False, False),
                 'B': (paths['B']['seg'], paths['B']['img'], False, False),
                 'C': (*copies['ahead'], True, True),
                 'C without read-ahead': (*copies['plain'], True, False),
                 'C alone': (*copies['ahead'], False, False)}
        r = run_child(VIEWS_CHILD, files=files, size=size, views=list(VIEWS),
                      rounds=dict(ROUNDS, other=7))
        print_table(r, sizes, combines)
        slicing_tiles_and_store(seg, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print('bench views: %.0f s' % (time.perf_counter() - t0))
