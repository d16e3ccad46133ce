"""Combine a tile set into one multiresolution, compressed Chimera map in one streaming pass.

The work is cut into the output's full-resolution chunks ("leaves").  They are visited
depth first through the pyramid (pipeline/traversal.py): the leaves under one chunk of
level 1 come together, the level-1 chunks under one chunk of level 2 come together, and
so on, so a chunk of any level is complete soon after its last child and only a few
partial chunks per level are ever held.  Memory is therefore set by the chunk sizes and
``memory_limit``, not by the volume.  Each leaf reads its block from the tiles (each tile
chunk is inflated once; chunks a leaf uses in part wait in TileSet's cache), is
compressed and written whole with a direct chunk write, and is downsampled into its
piece of a level-1 chunk; a complete level-1 chunk is compressed, written and
downsampled in turn, and so on up.

Worker threads do the reading, inflating, downsampling and compressing: libdeflate,
python-blosc (told to release the GIL, and to use no threads of its own), numpy's loops
and the compiled 1x2x2 mode (modekernel.py) run outside Python's GIL, so every core
works; tinybrain's 2x2x2 mode (pyramid.py) holds the GIL, but only for the
chunks above full resolution, briefly each.  The main thread schedules,
assembles and writes, and makes every HDF5 call: workers read tile chunks as bytes
(TileSet.prepare), since HDF5 is not thread-safe; tiles with filters only HDF5 undoes
are read on the main thread, and the log says so.  The map is written under a temporary
name in the output's folder and given its name when complete (formats/locks.py
atomic_output); any failure, disk full included, removes it.  Pure: no ChimeraX.
"""

import math
import os
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from ..errors import InputError
from ..formats import cmap, locks
from ..formats.source import check_geometry
from ..parallel import available_cores
from ..progress import Progress, format_bytes, format_duration
from . import pyramid
from .chunks import ChunkWork, Level
from .labels import is_label_type
from .traversal import Engine, Threads, os_message

DEFAULT_MEMORY_LIMIT = 1.0      # GB: with Python, numpy and h5py, a peak under 1.5 GB
MAP_SUFFIXES = ('.cmap', '.cmp')


@dataclass
class CombineResult:
    """What combine wrote."""
    path: str
    size: tuple                 # x,y,z
    dtype: str
    tiles: int
    levels: list                # [(step x,y,z, size x,y,z)], full resolution first
    method: str                 # downsampling
    seconds: float
    file_bytes: int
    input_bytes: int
    maximum: Optional[int]      # the largest value, for integer types
    tile_chunks_read: int
    chunks_written: int
    chunk_side: int
    chunk_shapes: list          # each level's HDF5 chunk shape (z,y,x), full resolution first
    threads: int
    compress_shuffle: bool
    compression: str
    workers: int                # Dask workers, 0 without a cluster

    def summary(self):
        levels = ', '.join('%d,%d,%d' % step for step, _ in self.levels[1:]) or 'none'
        return ('Combined %d tiles into %s: %s voxels %s, subsamples %s, %s (%s) in %s (%s/s)'
                % (self.tiles, os.path.basename(self.path), ' x '.join(map(str, self.size)),
                   self.dtype, levels, format_bytes(self.file_bytes), self.compression,
                   format_duration(self.seconds),
                   format_bytes(self.input_bytes / max(self.seconds, 1e-9))))


def check_output(output, input_paths, replace):
    """The output path, absolute, after the checks made before any work."""
    path = os.path.abspath(os.path.expanduser(output))
    real = os.path.realpath(path)
    for p in input_paths:
        if os.path.realpath(p) == real:
            raise InputError('output %s is one of the input tiles' % output, output)
    if not path.lower().endswith(MAP_SUFFIXES):
        raise InputError('output %s must end in .cmap (the Chimera map format)' % output, output)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise InputError('output folder %s does not exist' % folder, output)
    if os.path.isdir(path):
        raise InputError('output %s is a folder' % output, output)
    if os.path.lexists(path) and not replace:
        raise InputError('output %s exists (use replace true to overwrite it)' % output, output)
    return path


# ChimeraX indexes a map's grid with 32-bit integers; HDF5 (and file systems) address a
# file's bytes with signed 64-bit offsets.
MAX_SIDE = 2 ** 31 - 1
MAX_BYTES = 2 ** 63 - 1


def check_size(size, dtype):
    """InputError unless a map of ``size`` (z,y,x) voxels of ``dtype`` can be written
    and opened: checked before any work, since combine's bookkeeping grows with it."""
    shown = ' x '.join(map(str, reversed(size)))
    if max(size) > MAX_SIDE:
        raise InputError('%s voxels is too large for a Chimera map: a side holds at most %d'
                         ' voxels (ChimeraX indexes a grid with 32-bit integers); combine a'
                         ' region of it' % (shown, MAX_SIDE))
    if math.prod(size) * dtype.itemsize > MAX_BYTES:
        raise InputError('%s voxels of %s is too large for a Chimera map: an HDF5 file holds'
                         ' at most 2^63 bytes; combine a region of it' % (shown, dtype.name))


def region_bounds(region, size):
    """ChimeraX region (i1,j1,k1,i2,j2,k2, inclusive, x,y,z) -> z,y,x start and stop."""
    if region is None or region == 'all':
        return (0, 0, 0), tuple(size)
    if len(region) != 6:
        raise InputError('region must be 6 integers i1,j1,k1,i2,j2,k2')
    lo = tuple(int(v) for v in reversed(region[:3]))
    hi = tuple(int(v) + 1 for v in reversed(region[3:]))
    for a in range(3):
        if not 0 <= lo[a] < hi[a] <= size[a]:
            raise InputError('region %s is outside the tiles\' grid 0,0,0,%s'
                             % (','.join(map(str, region)),
                                ','.join(str(n - 1) for n in reversed(size))))
    return lo, hi


def subsample_steps(subsamples, size_xyz, voxel_size):
    """Steps (x,y,z) for ``subsamples``: 'auto', 'none', or steps given as in ChimeraX's
    save, where the given steps are followed by doubling ones down to a small volume."""
    if subsamples in (None, 'auto'):
        return pyramid.auto_steps(size_xyz, voxel_size)
    if subsamples == 'none':
        return []
    steps = [tuple(int(v) for v in ((s,) * 3 if np.isscalar(s) else s)) for s in subsamples]
    if any(len(s) != 3 or min(s) < 1 for s in steps):
        raise InputError('subsamples must be positive steps I,J,K')
    previous = (1, 1, 1)
    for s in steps:
        if s == previous:
            raise InputError('subsample step %s is %s; each step must be coarser than the'
                             ' one before' % (','.join(map(str, s)), 'the full resolution'
                                              if s == (1, 1, 1) else 'the step before it'))
        previous = s
    step = steps[-1]
    while True:
        # ChimeraX's own rule (map_data/cmap/write_cmap.py), floor division included.
        step = tuple(2 * s for s in step)
        if any(s > n for s, n in zip(step, size_xyz)) or \
                math.prod(n // s for n, s in zip(size_xyz, step)) < pyramid.MIN_LEVEL_VOXELS:
            break
        steps.append(step)
    try:
        pyramid.level_factors(steps)
    except ValueError as e:
        raise InputError(str(e))
    return steps


@dataclass(frozen=True)
class PassPlan:
    """What one pass over a source makes, whatever it writes (a .cmap here, a store in
    export.py): the region read (``start``, ``stop``, ``size``, z,y,x), where it lies
    (``origin``, ``voxel_size``, x,y,z), the levels (``steps`` x,y,z after the full
    resolution, ``factors`` z,y,x from each level to the next), the downsampling
    ``method``, the worker ``threads`` and the chunk ``side``."""
    start: tuple
    stop: tuple
    size: tuple
    origin: tuple
    voxel_size: tuple
    steps: list
    factors: list
    method: str
    threads: int
    side: int


def plan_pass(source, *, region=None, voxel_size=(1, 1, 1), origin=None, subsamples='auto',
              downsample='auto', memory_limit=DEFAULT_MEMORY_LIMIT, threads=None,
              chunk_side=None):
    """The PassPlan of a pass over ``source`` with combine's options (see combine), or
    InputError for options that cannot be used, before any work."""
    voxel_size, origin = check_geometry(voxel_size, origin)
    start, stop = region_bounds(region, source.shape)
    size = tuple(e - s for s, e in zip(start, stop))               # z,y,x
    size_xyz = tuple(reversed(size))
    if origin is None:
        origin = tuple(float(o + s) * v for o, s, v in
                       zip(reversed(source.offset), reversed(start), voxel_size))
    steps = subsample_steps(subsamples, size_xyz, voxel_size)
    factors = [tuple(reversed(f)) for f in pyramid.level_factors(steps)]
    method = pyramid.default_method(source.dtype) if downsample in (None, 'auto') else downsample
    if method not in pyramid.METHODS:
        raise InputError('downsample must be auto, %s' % ', '.join(pyramid.METHODS))
    for f in factors:
        try:
            pyramid.check_factors(f, method)
        except ValueError as e:
            raise InputError('subsamples: %s (choose steps closer together)' % e)
    if not (np.isfinite(memory_limit) and memory_limit > 0):
        raise InputError('memoryLimit must be a positive number of GB, not %g' % memory_limit)
    threads = threads or available_cores()
    side = chunk_side_for(chunk_side or cmap.default_chunk_side(source.dtype.itemsize),
                          factors)
    return PassPlan(start, stop, size, origin, voxel_size, steps, factors, method, threads,
                    side)


def run_pass(source, writer, path, levels, codecs, p, plan, mode_library, scheduler,
             progress, ntiles, report):
    """Run the pass: every chunk of ``levels`` (chunks.Level) read from ``source``,
    downsampled as ``p`` (the PassPlan) says, encoded by its level's codec (``codecs``)
    and given to ``writer.write_chunk`` (a .cmap's writer, or a store's), in this
    process's threads or on the cluster ``scheduler``; ``plan`` is the MemoryPlan.
    Returns (the traversal.Engine, the runner)."""
    integer = source.dtype.kind in 'iu'
    works = [ChunkWork(codec, lv.up, p.method, mode_library, integer)
             for codec, lv in zip(codecs, levels)]
    if scheduler is None:
        runner = Threads(source, works, p.threads)
    else:
        from . import cluster       # Dask is imported only for a cluster
        runner = cluster.Workers(scheduler, source, works, levels, p.start, report)
    with cmap.blosc_threads(), runner:
        if scheduler is not None:
            progress.title += ' on %d Dask workers' % runner.workers
        engine = Engine(source, writer, path, levels, p.start, runner,
                        max(plan.window, 2 * runner.workers), progress, ntiles)
        engine.run()
    return engine, runner


def combine(tileset, output, *, region=None, voxel_size=(1, 1, 1), origin=None,
            subsamples='auto', downsample='auto', compress=True,
            compress_method=None, compress_level=cmap.DEFAULT_LEVEL, compress_shuffle=None,
            chunk_side=None, plane_depth=cmap.BY_CONTENT, plane_blocks=cmap.BY_CONTENT,
            memory_limit=DEFAULT_MEMORY_LIMIT,
            threads=None, replace=False, name=None, report=None, mode_library='fast',
            scheduler=None):
    """Write ``tileset`` (a tiles.TileSet, or anything with its reading interface, such
    as a stores.Store) to the Chimera map ``output``.

    ``region`` (x,y,z inclusive, as ChimeraX's save) crops; ``voxel_size`` and ``origin``
    are x,y,z (origin defaults to where the region's first voxel lies); ``subsamples``
    'auto', 'none' or a list of steps; ``downsample`` 'auto' (mode for labels, mean for
    images), 'mode', 'mean' or 'stride'; ``compress_method`` None picks
    ``default_method``, ``compress_shuffle`` None ``default_shuffle``; ``memory_limit``
    in GB; ``threads`` defaults to the cores this process may use; ``mode_library``
    'numpy' computes modes without tinybrain and modekernel (to compare); ``chunk_side``
    the side of the cubic blocks combine works in (and the stored chunks of the subsampled
    levels), ``plane_depth`` the depth of the full resolution's thin chunks and
    ``plane_blocks`` their width in blocks (formats/cmap.py full_resolution_layout;
    BY_CONTENT: 4 x 128 x 128 for labels, 1 x 256 x 256 for images; plane_depth None:
    cubes); ``scheduler``
    runs the chunk work on a Dask cluster (cluster.py: an address such as
    'tcp://host:8786', or 'local N' for N worker processes here).  Returns a
    CombineResult.
    """
    t_start = time.monotonic()
    path = check_output(output, tileset.paths, replace)
    p = plan_pass(tileset, region=region, voxel_size=voxel_size, origin=origin,
                  subsamples=subsamples, downsample=downsample, memory_limit=memory_limit,
                  threads=threads, chunk_side=chunk_side)
    start, size, origin, voxel_size = p.start, p.size, p.origin, p.voxel_size
    steps, factors, method, threads, side = p.steps, p.factors, p.method, p.threads, p.side
    stop = p.stop
    check_size(size, tileset.dtype)
    if compress_method is None:
        compress_method = default_method(tileset.dtype)
    if compress_shuffle is None:
        compress_shuffle = default_shuffle(tileset.dtype)
    content = cmap.SEGMENTATION if is_label_type(tileset.dtype) else cmap.IMAGE
    leaf, _ = cmap.full_resolution_layout(side, size, steps[0] if steps else None, content,
                                          plane_depth, plane_blocks)
    plan = memory_plan(int(memory_limit * 1e9), side, tileset, len(factors), threads,
                       leaf_voxels=math.prod(leaf))
    tileset.set_cache_limit(plan.cache)

    # Held to the end: a second combine to this output is refused, not interleaved.
    with locks.atomic_output(path, 'connectome combine', replace, report=report) as temp:
        check_output(output, tileset.paths, replace)
        writer = None
        try:
            try:
                writer = cmap.ChimeraMapWriter(
                    temp, size, tileset.dtype, steps, name=name or tileset.name,
                    origin=origin, voxel_size=voxel_size, chunk_side=side,
                    plane_depth=plane_depth, plane_blocks=plane_blocks, compress=compress,
                    compress_method=compress_method, compress_level=compress_level,
                    compress_shuffle=compress_shuffle, content=content)
            except OSError as e:
                raise InputError('cannot write %s: %s' % (path, os_message(e)), path)
            compression = writer.levels[0].codec.describe()
            writer_levels = writer.levels
            levels = [Level(lv.shape, lv.chunk_shape, f, lv.step)
                      for lv, f in zip(writer.levels, factors + [None])]
            ntiles = tileset.count_in(start, stop)
            progress = Progress('combine %s' % os.path.basename(path), ntiles, 'tiles', report)
            _note_filtered(tileset, progress)
            tileset.copy_values()       # a store's id map is kept in the .cmap (below)
            engine, runner = run_pass(tileset, writer, path, levels,
                                      [w.codec for w in writer.levels], p, plan,
                                      mode_library, scheduler, progress, ntiles, report)
            if tileset.dtype.kind in 'iu':
                writer.set_maximum_segment_id(engine.maximum)
            try:
                writer.close()
            except _HDF5_ERRORS as e:
                raise InputError('writing %s failed: %s' % (path, os_message(e)), path)
            writer = None
            tileset.finish_copy(temp)
        except BaseException:
            if writer is not None:
                writer.abandon()
            raise
    seconds = time.monotonic() - t_start
    result = CombineResult(
        path=path, size=tuple(reversed(size)), dtype=tileset.dtype.name, tiles=ntiles,
        levels=[(lv.step, tuple(reversed(lv.shape))) for lv in levels],
        method=method, seconds=seconds, file_bytes=os.path.getsize(path),
        input_bytes=math.prod(size) * tileset.dtype.itemsize,
        maximum=engine.maximum if tileset.dtype.kind in 'iu' else None,
        tile_chunks_read=tileset.chunks_read, chunks_written=engine.chunks_written,
        chunk_side=side, chunk_shapes=[lv.stored_shape for lv in writer_levels],
        threads=threads, compress_shuffle=compress_shuffle,
        compression=compression,
        workers=runner.workers if scheduler is not None else 0)
    progress.finish(result.summary())
    return result


def default_method(dtype):
    """compressMethod's default: blosc:lz4hc for label maps (23:1 on dense labels, where
    blosc:lz4 gives 11:1), blosc:lz4 (ChimeraX's default) for images, which an LZ codec
    cannot shrink: lz4hc would spend 60 times the CPU for the same bytes (see
    formats/cmap.py and docs/performance.md)."""
    return cmap.DEFAULT_METHOD if is_label_type(dtype) else cmap.IMAGE_METHOD


def default_shuffle(dtype):
    """compressShuffle's default: off for label maps, on (ChimeraX's default) for images.

    Byte shuffling groups the bytes of each value by significance, which helps smooth
    images; region ids are runs of one repeated value, which Blosc's LZ codecs already
    store as back-references, and shuffling them cuts each run into four byte planes:
    on supervoxel-like uint32 labels lz4hc-5 gives 23:1 without it, 19:1 with it (and
    31.5 vs 15.8 on the authors' segmentation, per the issue that set this default).
    """
    return not is_label_type(dtype)


def _note_filtered(tileset, progress):
    """Say in the log which tiles are read through HDF5's filter pipeline (one thread,
    HDF5's own inflation) instead of as raw chunks inflated by worker threads."""
    filtered = tileset.filtered_tiles()
    if not filtered:
        return
    names = sorted(set(', '.join(t.filter_names()) for t in filtered))
    shown = ', '.join(t.name for t in filtered[:4]) + (' ...' if len(filtered) > 4 else '')
    progress.note('Tiles with filters only HDF5 undoes (%s): %s (%d of %d), read through'
                  ' h5py\'s filter pipeline on one thread, more slowly than deflated tiles'
                  % ('; '.join(names), shown, len(filtered), len(tileset.tiles)))


def chunk_side_for(side, factors):
    """The chunk side rounded to a multiple of every factor (see chunks.Level)."""
    step = 1
    for f in factors:
        for v in f:
            step = step * v // math.gcd(step, v)
    return max(step, side // step * step)


@dataclass(frozen=True)
class MemoryPlan:
    """How combine spends its memory budget (bytes)."""
    window: int         # chunk tasks in flight at most
    cache: int          # the source's cache of partly used tile chunks
    fixed: int          # partial chunks of the upper levels and the tasks in flight


def memory_plan(budget, side, tileset, nlevels, threads, leaf_voxels=None):
    """Split the memory budget: partial chunks of the upper levels (depth first, about
    two per level), tasks in flight, and the cache of partly used tile chunks.
    ``leaf_voxels``: the voxels of a full-resolution block where it is not a cube of
    ``side`` (formats/cmap.py full_resolution_layout).  Tasks in flight are two a thread,
    fewer where the budget is tight (four at least)."""
    itemsize = tileset.dtype.itemsize
    chunk = side ** 3 * itemsize
    leaf = max(chunk, (leaf_voxels or 0) * itemsize)
    tile_chunk = int(np.prod(tileset.chunk_shape or (side,) * 3)) * itemsize
    per_task = 4 * leaf + 2 * tile_chunk       # block, padded copy, compressed, tile chunks
    levels = 2 * nlevels * chunk
    window = max(4, min(2 * threads, (budget * 3 // 4 - levels) // per_task))
    fixed = levels + window * per_task
    if fixed > budget:
        raise InputError('memoryLimit %.2f GB is too small for these chunks: at least %.2f GB'
                         ' is needed' % (budget / 1e9, fixed / 1e9))
    cache = min(budget - fixed, max(budget // 4, 2 * tile_chunk))
    return MemoryPlan(window, cache, fixed)


# h5py reports a failed write as OSError, but a failed close (flushing a file that can
# no longer grow) as RuntimeError.
_HDF5_ERRORS = (OSError, RuntimeError)

