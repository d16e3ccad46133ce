"""Export a tile set or a store as a neuroglancer precomputed volume or an OME-Zarr image,
the way back to the viewers collaborators use (neuroglancer, webKnossos).

The same streaming pass as combine's .cmap (combine.py's module doc; traversal.py):
the output's full-resolution chunks are visited depth first through the pyramid, each
level made from the one below by the same downsampling (mode for labels), so the store
holds the voxels and levels the .cmap of the same tiles holds, in memory bounded by the
chunk sizes and ``memory_limit``.  Worker threads (or a Dask cluster's workers) read and
downsample, and encode a Zarr chunk with the .cmap's codec class (a Blosc frame is the same
in both; labels default to blosc:zstd level 2, ``zarr_defaults``); tensorstore encodes a precomputed chunk (compressed_segmentation) and writes
every chunk in its own threads (formats/stores/write_tensorstore.py); the metadata by
formats/stores/write_precomputed.py or write_zarr.py.  The store is made in a temporary
folder beside the output and given its name when complete (formats/locks.py
atomic_output), so an interrupted export leaves no store under the final name.

Geometry: a .cmap's origin is where its first voxel's centre lies; voxel indices are
kept (the first voxel's index, origin / voxel size, becomes voxel_offset), so the origin
must be a whole number of voxels (or half a voxel more: a precomputed store's own).  Neuroglancer puts a precomputed voxel i's corner, not
its centre, at ``voxel_offset + i`` times the resolution (formats/stores/precomputed.py,
google/neuroglancer#440), and this bundle opens precomputed stores as neuroglancer shows
them: the store's voxels lie half a voxel (+x,+y,+z) from the .cmap's, which the summary
says.  A whole-voxel .cmap origin cannot be written otherwise (voxel_offset is an integer).
OME-Zarr's translation is the origin itself (voxel centres in both).  Pure: no ChimeraX.
"""

import json
import math
import os
import shutil
import stat
import time
from dataclasses import dataclass

import numpy as np

from ..blocks import ceil_div, grid_shape
from ..errors import InputError
from ..formats import cmap, locks
from ..formats.stores import write_precomputed, write_zarr
from ..formats.stores.write_tensorstore import SHARDS_OPEN, ChunkSink, context, \
    morton_bits, shard_block, written_here
from ..progress import Progress, format_bytes, format_duration
from . import combine as cmapcombine
from .chunks import Level
from .labels import is_label_type

FORMATS = ('precomputed', 'zarr')
SHARDED = ('auto', 'true', 'false')
# sharded auto: a precomputed scale of more chunks than this is sharded (one file per
# chunk would be too many files for a file system or a bucket to list quickly).
SHARD_CHUNKS = 4096
MESH_FOLDER = 'mesh'
# A Zarr export's label chunks: blosc:zstd at Blosc level 2 (zstd's level 3), without
# shuffle.  On the dense-neuropil bench labels it encodes 5 to 8 x faster than the
# .cmap's blosc:lz4hc level 5 and makes chunks a third smaller (36:1 against 23:1); it
# decodes at about a fifth of lz4hc's speed, still near 2 GB/s a core, far above what a
# disk or a web server gives neuroglancer (docs/performance.md, the export section).
# Images keep the .cmap's blosc:lz4 level 5 with shuffle, which is zarr-python's own
# default compressor.
ZARR_LABEL_CODEC = ('blosc:zstd', 2, False)


@dataclass
class ExportResult:
    """What export wrote."""
    path: str
    format: str
    size: tuple                 # x,y,z
    dtype: str
    tiles: int
    levels: list                # [(step x,y,z, size x,y,z)], full resolution first
    method: str                 # downsampling
    encoding: str
    sharded_levels: int
    seconds: float
    store_bytes: int
    input_bytes: int
    chunks_written: int
    chunk_side: int
    threads: int
    workers: int                # Dask workers, 0 without a cluster
    half_voxel: tuple = None    # x,y,z nm a precomputed store's voxel centres lie from the
                                # .cmap's (neuroglancer's voxel corners), else None

    def summary(self):
        levels = ', '.join('%d,%d,%d' % step for step, _ in self.levels[1:]) or 'none'
        sharded = ', %d sharded' % self.sharded_levels if self.sharded_levels else ''
        return ('Exported %d tiles to %s (%s): %s voxels %s, subsamples %s, %s (%s%s) in'
                ' %s (%s/s)' % (self.tiles, os.path.basename(self.path), self.format,
                                ' x '.join(map(str, self.size)), self.dtype, levels,
                                format_bytes(self.store_bytes), self.encoding, sharded,
                                format_duration(self.seconds),
                                format_bytes(self.input_bytes / max(self.seconds, 1e-9)))
                + ('' if self.half_voxel is None else
                   '; neuroglancer puts voxel corners at whole coordinates, so its voxel'
                   ' centres lie %s nm from the .cmap\'s' % ','.join('%g' % h for h in
                                                                     self.half_voxel)))


class ArrayChunks:
    """The codec of a store's chunks in combine's traversal: the chunk's array itself,
    which tensorstore encodes as the store's metadata says (chunks.ChunkWork's codec)."""

    def __init__(self, description):
        self.description = description

    def encode(self, array):
        return array

    def describe(self):
        return self.description


class OriginalIds:
    """A codec (as ArrayChunks or cmap.ChunkCodec) of the chunks of a store read through
    an id map (formats/stores/idmap.py): the traversal downsamples its compact values
    (the mode's rule depends on no value's size, only on counts and the order values are
    met, so the levels are those of the ids themselves), and each chunk is written as the
    original uint64 ids, looked up in the map as it is encoded."""

    def __init__(self, codec, id_map):
        self.codec = codec
        self.id_map = id_map

    def encode(self, array):
        return self.codec.encode(self.id_map.original(array))

    def describe(self):
        return self.codec.describe()


def check_output_folder(output, input_paths, replace):
    """The output folder's path, absolute, after the checks made before any work."""
    path = os.path.abspath(os.path.expanduser(output))
    real = os.path.realpath(path)
    for p in input_paths:
        rp = os.path.realpath(p)
        if rp == real or rp.startswith(real + os.sep) or real.startswith(rp + os.sep):
            raise InputError('output %s is, or lies in, one of the inputs' % output, output)
    if path.lower().endswith(cmapcombine.MAP_SUFFIXES):
        raise InputError('output %s names a Chimera map; a store is written as a folder'
                         % output, output)
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        raise InputError('output folder %s does not exist' % folder, output)
    if os.path.lexists(path) and not os.path.isdir(path):
        raise InputError('output %s exists and is not a folder' % output, output)
    if os.path.isdir(path) and os.listdir(path):
        if not replace:
            raise InputError('output %s exists (use replace true to overwrite it)'
                             % output, output)
        if not written_here(path):
            # Only what this bundle provably made is ever deleted.
            raise InputError('output %s is a folder this bundle did not write; it is not'
                             ' replaced (remove it, or name another folder)' % output, output)
    return path


def voxel_offset(origin, voxel_size, output):
    """(voxel_offset x,y,z, shift x,y,z nm) of an origin (the first voxel's centre) for
    precomputed, whose voxel_offset puts the first voxel's corner there
    (formats/stores/precomputed.py).  An origin half a voxel past a whole number of voxels
    (a precomputed store's own, read here) is placed exactly (shift 0); a whole number of
    voxels (a .cmap's, tiles') keeps its voxel index, and the store's voxels then lie half a
    voxel further (the shift); anything else is an InputError (a precomputed volume cannot
    start between voxels)."""
    offset, shift = [], []
    for o, v in zip(origin, voxel_size):
        n = o / v
        tolerance = 1e-6 * max(abs(n), 1)
        if abs(n - round(n)) <= tolerance:
            offset.append(int(round(n)))
            shift.append(v / 2)
        elif abs(n - 0.5 - round(n - 0.5)) <= tolerance:
            offset.append(int(round(n - 0.5)))
            shift.append(0.0)
        else:
            raise InputError('origin %s is not a whole number of voxels of %s nm: a'
                             ' precomputed volume starts on a voxel (give origin a multiple'
                             ' of voxelSize, or format zarr)'
                             % (','.join('%g' % x for x in origin),
                                ','.join('%g' % x for x in voxel_size)), output)
    return tuple(offset), tuple(shift)


def is_sharded(nchunks, sharded):
    """Whether a level of ``nchunks`` chunks is sharded (``sharded`` auto, true, false)."""
    return sharded == 'true' or (sharded == 'auto' and nchunks > SHARD_CHUNKS)


def shard_bits(levels, k, chunk_bytes, budget):
    """Chunk-id bits one shard of level ``k`` (of chunks.Levels) spans: as many as keep
    its raw voxels within ``budget`` bytes and make the shard the chunks of level ``k``
    under one chunk of a level above, which the traversal visits one after another (so
    each shard fills, and is written, once).  At the top level, visited in Morton order,
    any number does."""
    most = max(0, int(math.floor(math.log2(max(1, budget // chunk_bytes)))))
    grid = levels[k].chunk_grid
    axis_bits = morton_bits(grid)
    most = min(most, sum(axis_bits))
    if k == len(levels) - 1:
        return most
    subtrees = set()
    factor = [1, 1, 1]
    for j in range(k + 1, len(levels)):
        factor = [f * u for f, u in zip(factor, levels[j - 1].up)]
        subtrees.add(tuple(min(ceil_div(c * f, ck), 1 << b) for c, f, ck, b in
                           zip(levels[j].chunk_shape, factor, levels[k].chunk_shape,
                               axis_bits)))
    for bits in range(most, 0, -1):
        if shard_block(grid, bits) in subtrees:
            return bits
    return 0


def zarr_defaults(dtype, method=None, level=None, shuffle=None):
    """(compressMethod, compressLevel, compressShuffle) of a Zarr export, the ones given
    kept: for labels ZARR_LABEL_CODEC when no method is given (a level given alone is
    zstd's), else the .cmap's defaults (combine.default_method, level 5, default_shuffle)."""
    if method is None and is_label_type(dtype):
        method, default_level, default_shuffle = ZARR_LABEL_CODEC
    else:
        if method is None:
            method = cmapcombine.default_method(dtype)
        default_level = cmap.DEFAULT_LEVEL
        default_shuffle = cmapcombine.default_shuffle(dtype)
    return (method, default_level if level is None else level,
            default_shuffle if shuffle is None else shuffle)


def export(source, output, format, *, region=None, voxel_size=(1, 1, 1), origin=None,
           subsamples='auto', downsample='auto', compress=True, compress_method=None,
           compress_level=None, compress_shuffle=None, chunk_side=None,
           memory_limit=cmapcombine.DEFAULT_MEMORY_LIMIT, threads=None, replace=False,
           name=None, report=None, mode_library='fast', scheduler=None, sharded='auto',
           segment_properties=None, meshes=None):
    """Write ``source`` (a formats/source.py VolumeSource) as a store of ``format``
    (precomputed or zarr) in the folder ``output``.  Options as combine.combine's;
    ``compress*`` set Zarr's compressor, as the .cmap's (``zarr_defaults`` when not
    given; precomputed chunks are compressed_segmentation for labels, raw for images;
    ``compress_level`` None: the method's default level); ``sharded`` auto, true or
    false (precomputed); ``segment_properties`` (ids, [(name, kind, values)]) as
    write_precomputed.write_segment_properties takes them, or None; ``meshes`` a folder
    of precomputed meshes copied in as the volume's mesh.  Returns an ExportResult."""
    t_start = time.monotonic()
    if format not in FORMATS:
        raise InputError('format must be one of %s' % ', '.join(FORMATS))
    if sharded not in SHARDED:
        raise InputError('sharded must be one of %s' % ', '.join(SHARDED))
    path = check_output_folder(output, source.paths, replace)
    p = cmapcombine.plan_pass(source, region=region, voxel_size=voxel_size, origin=origin,
                              subsamples=subsamples, downsample=downsample,
                              memory_limit=memory_limit, threads=threads,
                              chunk_side=chunk_side)
    start, stop, size, origin, voxel_size = p.start, p.stop, p.size, p.origin, p.voxel_size
    steps, factors, method, threads, side = p.steps, p.factors, p.method, p.threads, p.side
    offset, shift = (voxel_offset(origin, voxel_size, output) if format == 'precomputed'
                     else (None, None))
    # A store read through an id map: its compact values are read and downsampled, and
    # written as the original ids (OriginalIds).
    id_map = source.copy_values()
    dtype = source.dtype if id_map is None else np.dtype(np.uint64)
    if format == 'precomputed' and source.dtype.name not in write_precomputed.DATA_TYPES:
        raise InputError('a precomputed volume cannot hold %s voxels (it holds %s); use'
                         ' format zarr' % (source.dtype.name,
                                           ', '.join(write_precomputed.DATA_TYPES)), output)
    if meshes is not None:
        check_meshes(meshes)
    segmentation = is_label_type(source.dtype)
    all_steps = [(1, 1, 1)] + [tuple(s) for s in steps]
    shapes = [grid_shape(size, tuple(reversed(s))) for s in all_steps]
    chunk_shapes = [tuple(min(side, n) for n in shape) for shape in shapes]
    levels = [Level(shape, cs, f, step) for shape, cs, f, step in
              zip(shapes, chunk_shapes, factors + [None], all_steps)]
    # A sharded scale keeps at most SHARDS_OPEN shards open and as many committing (see
    # write_tensorstore.py): a quarter of the memory budget holds them all.
    budget = int(memory_limit * 1e9)
    chunk_bytes = side ** 3 * dtype.itemsize
    sharding = [format == 'precomputed' and is_sharded(math.prod(grid_shape(shape, cs)),
                                                       sharded)
                for shape, cs in zip(shapes, chunk_shapes)]
    shards = sum(sharding)
    shard_budget = budget // (4 * 2 * SHARDS_OPEN * max(1, shards))
    scales = [write_precomputed.ScaleSpec(
        step, shape, cs, shard_bits(levels, k, chunk_bytes, shard_budget)
        if sharding[k] else None)
        for k, (step, shape, cs) in enumerate(zip(all_steps, shapes, chunk_shapes))]
    plan = cmapcombine.memory_plan(budget * 3 // 4 if shards else budget, side, source,
                                   len(factors), threads)
    source.set_cache_limit(plan.cache)
    if compress_method == 'gzip' and format != 'precomputed':
        raise InputError('compressMethod gzip is for format precomputed (gzipped chunk'
                         ' files)', output)
    compress_method, compress_level, compress_shuffle = zarr_defaults(
        dtype, compress_method, compress_level, compress_shuffle)
    gzip = format == 'precomputed' and compress_method == 'gzip'
    if format == 'precomputed':
        encoding = write_precomputed.encoding(dtype, segmentation)
        codecs = [write_precomputed.GzipChunks(dtype, segmentation)
                  if gzip and s.shard_bits is None else ArrayChunks(encoding)
                  for s in scales]
        if gzip:
            encoding = codecs[0].describe()
    else:
        if compress_method == 'zlib':
            compress_shuffle = False        # Zarr's zlib has no shuffle
        codecs = [cmap.ChunkCodec(cs, dtype, compress, compress_method,
                                  compress_level, compress_shuffle) for cs in chunk_shapes]
        encoding = codecs[0].describe()
    pass_codecs = codecs if id_map is None else [OriginalIds(c, id_map) for c in codecs]
    name = name or source.name

    with locks.atomic_output(path, 'connectome combine', replace, kind='folder',
                             report=report) as temp:
        # Again under the lock: another run may have written the output meanwhile.
        check_output_folder(output, source.paths, replace)
        ctx = context(threads)
        try:
            if format == 'precomputed':
                info = write_precomputed.precomputed_info(
                    dtype, segmentation, voxel_size, offset, scales,
                    mesh=MESH_FOLDER if meshes else None,
                    segment_properties=segment_properties is not None)
                arrays = write_precomputed.open_scales(temp, info, scales, ctx, gzip)
            else:
                attrs = write_zarr.ome_attributes(name, voxel_size, origin, all_steps,
                                                  segmentation)
                arrays = write_zarr.open_arrays(temp, attrs, dtype,
                                                list(zip(shapes, chunk_shapes)), codecs,
                                                ctx)
        except (OSError, ValueError) as e:
            raise InputError('cannot write %s: %s' % (path, e), path)
        sink = ChunkSink(arrays, path, max_pending=plan.window)
        try:
            ntiles = source.count_in(start, stop)
            progress = Progress('export %s' % os.path.basename(path), ntiles, 'tiles', report)
            runner = cmapcombine.run_pass(source, sink, path, levels, pass_codecs, p, plan,
                                          mode_library, scheduler, progress, ntiles,
                                          report)[1]
            sink.close()
        except BaseException:
            sink.abandon()
            raise
        if format == 'precomputed':
            _extras(temp, segment_properties, meshes, shift)
        store_bytes = folder_bytes(temp)
    seconds = time.monotonic() - t_start
    result = ExportResult(
        path=path, format=format, size=tuple(reversed(size)), dtype=dtype.name,
        tiles=ntiles,
        levels=[(lv.step, tuple(reversed(lv.shape))) for lv in levels], method=method,
        encoding=encoding, sharded_levels=sum(s.shard_bits is not None for s in scales),
        seconds=seconds, store_bytes=store_bytes,
        input_bytes=math.prod(size) * dtype.itemsize,
        chunks_written=sink.chunks_written, chunk_side=side, threads=threads,
        workers=runner.workers if scheduler is not None else 0,
        half_voxel=shift if shift is not None and any(shift) else None)
    progress.finish(result.summary())
    return result


def _extras(folder, segment_properties, meshes, shift):
    """The segment properties and the mesh folder of a precomputed volume; the meshes'
    transform moved by ``shift`` (x,y,z nm: where the volume's voxels lie from where the
    meshes were made, voxel_offset's half voxel), so they sit on the volume in
    neuroglancer as they sat on the .cmap in ChimeraX."""
    try:
        if segment_properties is not None:
            ids, properties = segment_properties
            write_precomputed.write_segment_properties(folder, ids, properties)
        if meshes is not None:
            target = os.path.join(folder, MESH_FOLDER)
            copy_meshes(meshes, target)
            if any(shift):
                shift_meshes(target, shift)
    except OSError as e:
        raise InputError('cannot write %s: %s' % (folder, e.strerror or e), folder)


MESH_TYPES = ('neuroglancer_multilod_draco', 'neuroglancer_legacy_mesh')


def check_meshes(folder):
    """InputError unless ``folder`` is a folder of neuroglancer precomputed meshes (its
    info file names one of MESH_TYPES)."""
    try:
        with open(os.path.join(folder, 'info'), encoding='utf-8') as f:
            kind = json.load(f).get('@type')
    except (OSError, ValueError, AttributeError):
        kind = None
    if kind not in MESH_TYPES:
        raise InputError('meshes %s is not a folder of precomputed meshes (its info file'
                         ' names no %s)' % (folder, ' or '.join(MESH_TYPES)), folder)


def shift_meshes(folder, shift):
    """Move the multi-resolution meshes of ``folder`` (a copy this export made) by
    ``shift`` (x,y,z nm) through their info's transform; legacy meshes (vertices in nm,
    no transform) cannot be moved without rewriting them: InputError."""
    path = os.path.join(folder, 'info')
    with open(path, encoding='utf-8') as f:
        info = json.load(f)
    if info.get('@type') != 'neuroglancer_multilod_draco':
        raise InputError('meshes: %s holds legacy meshes, which cannot be moved the half'
                         ' voxel (%s nm) neuroglancer places this volume from the .cmap;'
                         ' make them with connectome meshes' % (
                             folder, ','.join('%g' % v for v in shift)), folder)
    transform = [float(v) for v in info.get('transform', [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0])]
    for axis, v in enumerate(shift):
        transform[4 * axis + 3] += v
    info['transform'] = transform
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(info, f)


def copy_meshes(source, target):
    """Copy a folder of meshes, refusing anything that is not a plain file or folder
    (a link is not followed into what it points at)."""
    os.mkdir(target)
    with os.scandir(source) as entries:
        for entry in entries:
            dst = os.path.join(target, entry.name)
            if entry.is_dir(follow_symlinks=False):
                copy_meshes(entry.path, dst)
            elif entry.is_file(follow_symlinks=False):
                shutil.copyfile(entry.path, dst, follow_symlinks=False)
            else:
                raise InputError('meshes: %s is not a plain file or folder' % entry.path,
                                 entry.path)


def folder_bytes(folder):
    """Bytes of the files under ``folder``."""
    total = 0
    for root, _, files in os.walk(folder):
        for f in files:
            info = os.lstat(os.path.join(root, f))
            if stat.S_ISREG(info.st_mode):
                total += info.st_size
    return total
