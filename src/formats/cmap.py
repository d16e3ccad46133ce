"""Write a Chimera map (.cmap) chunk by chunk, in the layout ChimeraX's own writer uses.

The layout (ChimeraX map_data/cmap/write_cmap.py, read back by its PyTables reader)::

    /Chimera/image1                group: name, origin, step (x,y,z, float32),
                                   chimera_map_version 1, maximum_segment_id (integers),
                                   connectome_content ('segmentation' or 'image':
                                   how ChimeraX shows the map when it is opened)
        data_zyx                   full resolution, z,y,x, in chunks PLANE_DEPTH
                                   planes thin (an image's: IMAGE_PLANE_DEPTH)
        data_zyx_2_2_1             subsampled copies, one per step, in cubic chunks,
            subsample_spacing      each with the attribute (2,2,1) = step along
                                   x,y,z (int32)

plus the CLASS / VERSION / TITLE attributes PyTables puts on its nodes.  Chunks are
compressed here, outside HDF5, and stored whole with HDF5 direct chunk writes under the
filter pipeline PyTables would have used: Blosc (HDF5 filter 32001, cd_values
(2, 2, typesize, chunk bytes, level, shuffle, compressor)), or shuffle + deflate for
``zlib``.  ``ChunkCodec.encode`` needs neither h5py nor Python's GIL for the compression
itself (python-blosc releases it when told to, zlib always does), so worker threads can
compress while the main thread writes.  Chunks never written read back as 0.
Pure: h5py, hdf5plugin (so h5py can read Blosc chunks back), blosc, numpy.
"""

import os
import zlib

import blosc
import h5py
import hdf5plugin  # noqa: F401  registers the Blosc filter so h5py can read what we write
import numpy as np
from ..blocks import ChunkGrid, grid_shape
from ..errors import InputError
from . import h5chunks

# The compressMethod values of ChimeraX's `save x.cmap` that this writer can produce.
COMPRESS_METHODS = ('blosc', 'blosc:blosclz', 'blosc:lz4', 'blosc:lz4hc', 'blosc:zlib',
                    'blosc:zstd', 'zlib')
BLOSC_FILTER = 32001
_BLOSC_CODES = {'blosclz': 0, 'lz4': 1, 'lz4hc': 2, 'snappy': 3, 'zlib': 4, 'zstd': 5}
CHUNK_BYTES = 2 * 2**20      # largest default chunk
# compressMethod and compressLevel's defaults (combine picks the method by value type:
# pipeline/combine.default_method).  Label maps: blosc:lz4hc level 5 (without shuffle),
# which compresses dense supervoxel-like uint32 labels well and decompresses fast.
# blosc:zstd level 5 makes them half the size and combine a little faster, but
# decompresses more slowly, so ChimeraX reads the map back more slowly, and reading is
# what users do most (figures in docs/performance.md).  Images: blosc:lz4 level 5
# (ChimeraX's own default): an EM image is noise to an LZ codec, so lz4hc spends many
# times lz4's CPU for the same 1:1.
DEFAULT_METHOD = 'blosc:lz4hc'
IMAGE_METHOD = 'blosc:lz4'
DEFAULT_LEVEL = 5
# The marker of a map this bundle wrote, and its values: session/initialdisplay.py opens a
# segmentation hidden and an image as a plane in image style, never as an isosurface of
# region ids or of EM intensities.
CONTENT_ATTRIBUTE = 'connectome_content'
SEGMENTATION = 'segmentation'
IMAGE = 'image'
CONTENTS = (SEGMENTATION, IMAGE)


# A label map's full resolution is stored in chunks PLANE_DEPTH planes thin (z) and
# PLANE_BLOCKS of combine's work blocks wide (y,x): 4 x 128 x 128 for uint32 labels, whose
# blocks are 64 voxels on a side.  Such a chunk is one Blosc block, which Blosc stores as
# `typesize` LZ4 streams compressed apart: with 4-byte labels, exactly one stream a
# plane, so an xy plane decompresses only its own plane of each chunk (as ChimeraX's
# own save, whose chunks are one plane thick and a whole plane wide) in 128 chunks per
# 2048 x 1024 plane, not 512; a slicing movie decompresses a 4-plane slab per 4 planes;
# blocks and xz or yz planes still read chunks at most 128 voxels across y and x, where
# ChimeraX's own save decompresses whole planes for each row used.  The file is no larger
# than with 8 x 64 x 64 chunks (lz4hc finds its matches within a plane of 128 x 128 as
# well as across 8 planes of 64 x 64).  combine works in blocks PLANE_BLOCKS cubes wide
# at full resolution for this (full_resolution_layout); where the first subsampled
# level's steps do not allow it (a step of 1 or 3 across y or x), blocks stay cubes and
# chunks NARROW_PLANE_DEPTH planes thin, the layout before.  The subsampled levels stay
# cubes: they are read whole (the volume at an automatic step) or as blocks.
# Figures: docs/performance.md, "Viewing speed" (python -m bench views).
PLANE_DEPTH = 4
PLANE_BLOCKS = 2
NARROW_PLANE_DEPTH = 8
# An image's (EM's) full resolution is stored in chunks one plane thin: EM noise does not
# compress (Blosc stores its chunks as they are), so an 8-plane chunk costs a plane read
# from disk 8 planes of bytes; one-plane chunks read only the plane (a coloured EM plane
# read 4x faster cold), at no cost in file size, while an xz or yz plane reads the same
# bytes in 8x more chunks.  Labels keep PLANE_DEPTH: they compress, and thinner chunks
# would compress worse.  Like labels, the image is written in blocks PLANE_BLOCKS cubes
# wide (128 x 256 x 256 for bytes), so its chunks are 1 x 256 x 256: a quarter as many
# as 1 x 128 x 128 (a plane read in 32 chunks, not 128; combine's HDF5 work is per
# chunk, and one-plane chunks of 128 x 128 cost it a third more CPU than 128^3 cubes),
# twice as many as cubes.  Figures: docs/performance.md, "Wider thin chunks".
IMAGE_PLANE_DEPTH = 1
# plane_depth=BY_CONTENT: PLANE_DEPTH, or IMAGE_PLANE_DEPTH for content IMAGE;
# plane_blocks=BY_CONTENT: PLANE_BLOCKS.
BY_CONTENT = 'by content'
# Thin chunks are kept until this many bytes are waiting, then written sorted by
# position (z, y, x): HDF5 places chunks in the file in the order they are written, and
# combine finishes blocks in Morton order, which would scatter one plane's chunks over
# the file (204 MB apart in the benchmark's 2 GB map); sorted, a plane's chunks lie in a
# few runs, so a plane read from disk is a few sequential reads, not hundreds of seeks.
WRITE_BUFFER_BYTES = 32 * 2**20
# Where each chunk of a level lies in the file, written by the writer once every chunk
# is (``write_chunk_index``): for the array at path P, the array CHUNK_INDEX + P (so
# /.chunk_index/Chimera/image1/data_zyx), of shape (chunks along z, chunks along y * x *
# 2), int64: for each chunk in z, y, x order its byte offset and stored size (0, 0:
# never written).  formats/cmapread.py asks the kernel to read ahead the chunks a region
# needs from it, all at once, so a read from disk waits for its seeks together, not one
# after the other; the chunks themselves are always read through HDF5, so an index made
# stale by a tool that rewrote the file (h5repack) costs only useless read-ahead, never
# wrong data.  Beside the Chimera group, so the image groups hold their levels alone;
# two dimensions, so ChimeraX's reader (which takes every 3-d array in the file for a
# map) passes it by; dotted, so its attribute lookup by name (attributes are never
# dotted) cannot find it.
CHUNK_INDEX = '/.chunk_index'


def default_chunk_side(itemsize):
    """Edge of the default cubic chunk: the largest power of 2 (at most 128) whose cube
    fits CHUNK_BYTES; 1 MB chunks for uint32 labels, 2 MB for uint8 images."""
    side = 128
    while side > 8 and side ** 3 * itemsize > CHUNK_BYTES:
        side //= 2
    return side


class ChunkCodec:
    """Turns a chunk's array into the bytes HDF5 stores for it (thread-safe)."""

    def __init__(self, chunk_shape, dtype, compress=True, method=DEFAULT_METHOD,
                 level=DEFAULT_LEVEL, shuffle=True):
        if compress and method not in COMPRESS_METHODS:
            raise InputError('compressMethod %s is not one connectome combine writes (%s)'
                             % (method, ', '.join(COMPRESS_METHODS)))
        self.chunk_shape = tuple(chunk_shape)
        self.dtype = np.dtype(dtype)
        self.compress = compress
        self.method = method
        self.level = int(level)
        self.shuffle = bool(shuffle)
        self.cname = None
        if compress and method.startswith('blosc'):
            self.cname = method.split(':')[1] if ':' in method else 'blosclz'

    def describe(self):
        """'blosc:lz4hc level 5', 'blosc:zstd level 5, shuffle', 'uncompressed', ..."""
        if not self.compress:
            return 'uncompressed'
        shuffle = self.shuffle and self.dtype.itemsize > 1
        return '%s level %d%s' % (self.method, self.level, ', shuffle' if shuffle else '')

    def h5py_filter(self):
        """create_dataset keywords for the filter pipeline PyTables would write."""
        if not self.compress:
            return {}
        if self.cname is not None:
            nbytes = int(np.prod(self.chunk_shape)) * self.dtype.itemsize
            cd = (2, 2, self.dtype.itemsize, nbytes, self.level, int(self.shuffle),
                  _BLOSC_CODES[self.cname])
            return {'compression': BLOSC_FILTER, 'compression_opts': cd}
        return {'compression': 'gzip', 'compression_opts': self.level,
                'shuffle': self.shuffle and self.dtype.itemsize > 1}

    def encode(self, array):
        """Bytes of one chunk: ``array`` (at most the chunk shape) zero-padded to the
        whole chunk, as HDF5 stores edge chunks, then compressed."""
        if array.shape != self.chunk_shape or array.dtype != self.dtype:
            full = np.zeros(self.chunk_shape, self.dtype)
            full[tuple(slice(0, n) for n in array.shape)] = array
            array = full
        array = np.ascontiguousarray(array)
        if not self.compress:
            return array.tobytes()
        if self.cname is not None:
            return blosc.compress(array, typesize=self.dtype.itemsize, clevel=self.level,
                                  shuffle=blosc.SHUFFLE if self.shuffle else blosc.NOSHUFFLE,
                                  cname=self.cname)
        data = array.view(np.uint8)
        if self.shuffle and self.dtype.itemsize > 1:
            data = np.ascontiguousarray(data.reshape(-1, self.dtype.itemsize).T)
        return zlib.compress(data, self.level)


def blosc_in_calling_thread():
    """python-blosc compressing in the calling thread only, with the GIL released, so
    parallelism comes from our worker threads (or a cluster's).  Blosc's own threads
    would also make a chunk's bytes depend on timing: they store its blocks in the order
    they finish (seen with blosc:zstd's 64 KB blocks), and combine's output must be the
    same byte for byte on any machine.  Returns the previous (threads, releasegil)."""
    return blosc.set_nthreads(1), blosc.set_releasegil(True)


class blosc_threads:
    """Context: ``blosc_in_calling_thread`` for its duration; restores the settings."""

    def __enter__(self):
        self._threads, self._releasegil = blosc_in_calling_thread()
        return self

    def __exit__(self, *exc):
        blosc.set_nthreads(self._threads)
        blosc.set_releasegil(bool(self._releasegil))


class SlicedCodec:
    """The codec of a level whose stored chunks are thinner (z) than the blocks combine
    makes: ``encode`` turns a block into the bytes of each stored chunk in it, first z
    first (a tuple; ``ChimeraMapWriter.write_chunk`` writes them all)."""

    def __init__(self, chunk_codec, block_shape):
        self.chunk_codec = chunk_codec
        self.block_shape = tuple(block_shape)
        self.depth = chunk_codec.chunk_shape[0]

    def describe(self):
        return self.chunk_codec.describe()

    def h5py_filter(self):
        return self.chunk_codec.h5py_filter()

    def encode(self, array):
        return tuple(self.chunk_codec.encode(array[z:z + self.depth])
                     for z in range(0, array.shape[0], self.depth))


def stored_chunk_shape(block_shape, level_shape, plane_depth):
    """The HDF5 chunk shape (z,y,x) of a level combine fills in ``block_shape`` blocks:
    ``plane_depth`` planes thin when that divides the block's depth, else the block."""
    depth = block_shape[0]
    if plane_depth and plane_depth < depth and depth % plane_depth == 0:
        depth = plane_depth
    return (min(depth, level_shape[0]),) + tuple(block_shape[1:])


def full_resolution_layout(side, shape, first_step, content=None, plane_depth=BY_CONTENT,
                           plane_blocks=BY_CONTENT):
    """(combine's block shape, the stored chunk shape), z,y,x, of the full resolution
    of a map of ``shape`` (z,y,x) voxels and ``content``, for blocks of ``side`` and
    the first subsampled level's step ``first_step`` (x,y,z; None without one):
    blocks ``plane_blocks`` cubes wide across y and x where the step keeps each block's
    downsampled piece inside one chunk of that level, chunks ``plane_depth`` planes thin
    (BY_CONTENT: see PLANE_DEPTH, PLANE_BLOCKS, IMAGE_PLANE_DEPTH)."""
    image = content == IMAGE
    default_depth = plane_depth == BY_CONTENT
    if default_depth:
        plane_depth = IMAGE_PLANE_DEPTH if image else PLANE_DEPTH
    if plane_blocks == BY_CONTENT:
        plane_blocks = PLANE_BLOCKS
    if not plane_depth:         # cubes: blocks as they are
        plane_blocks = 1
    wide = side * max(1, int(plane_blocks or 1))
    if wide > side and first_step is not None and any(
            wide % f or side % (wide // f) for f in first_step[:2]):
        wide = side
    if wide == side and default_depth and not image:
        plane_depth = NARROW_PLANE_DEPTH
    block = (min(side, shape[0]), min(wide, shape[1]), min(wide, shape[2]))
    return block, stored_chunk_shape(block, shape, plane_depth)


class MapLevel(ChunkGrid):
    """One stored array: ``step`` (x,y,z subsample spacing), ``shape``, ``chunk_shape``
    (z,y,x: the blocks written at once, the unit of combine's work) and
    ``stored_shape`` (its HDF5 chunks, the same or thinner in z), its h5py dataset and
    codec (a SlicedCodec where the two differ)."""

    def __init__(self, step, shape, chunk_shape, dataset, codec, stored_shape=None):
        self.step = step
        self.shape = shape
        self.chunk_shape = chunk_shape
        self.stored_shape = tuple(stored_shape or chunk_shape)
        self.dataset = dataset
        self.codec = codec


def read_content(path):
    """The CONTENT_ATTRIBUTE marker of a Chimera map (SEGMENTATION or IMAGE), read from
    its first image group that has one; None for a map without it (one this bundle did
    not write) and for a file h5py cannot read (ChimeraX's reader then says why)."""
    try:
        with h5py.File(path, 'r') as f:
            chimera = f.get('Chimera')
            for group in (chimera.values() if isinstance(chimera, h5py.Group) else ()):
                value = group.attrs.get(CONTENT_ATTRIBUTE)
                if isinstance(value, bytes):
                    value = value.decode('utf-8', 'replace')
                if value is not None:
                    return value if value in CONTENTS else None
    except (OSError, RuntimeError, KeyError, ValueError):
        return None
    return None


def chunk_shapes(path):
    """{array shape: chunk shape} (z,y,x) of the 3-d arrays of a Chimera map's image
    groups; an array whose shape another shares is left out (which is which is not
    known by shape); {} for a file h5py cannot read."""
    try:
        with h5py.File(path, 'r') as f:
            return {s: d.chunks for s, d in arrays_by_shape(f).items() if d.chunks}
    except (OSError, RuntimeError, KeyError, ValueError):
        return {}


def arrays_by_shape(f):
    """{shape: h5py dataset} of the 3-d arrays in the image groups of an open Chimera
    map; a shape two arrays share is left out (which is which is not known by shape)."""
    found, shared = {}, set()
    chimera = f.get('Chimera')
    for group in (chimera.values() if isinstance(chimera, h5py.Group) else ()):
        for d in (group.values() if isinstance(group, h5py.Group) else ()):
            if isinstance(d, h5py.Dataset) and d.ndim == 3:
                if d.shape in found:
                    shared.add(d.shape)
                found[d.shape] = d
    return {s: d for s, d in found.items() if s not in shared}


def chunk_index(dataset):
    """CHUNK_INDEX's array for the chunked h5py ``dataset``: (chunks along z, chunks along
    y * x * 2) int64, each chunk's byte offset and stored size in z, y, x order."""
    offset, size, _ = h5chunks.chunk_locations(dataset)
    index = np.stack([np.where(size > 0, offset, 0), size], axis=-1)
    return index.reshape(offset.shape[0], -1)


def write_chunk_index(datasets):
    """Write the CHUNK_INDEX arrays of the chunked h5py ``datasets`` of one file (once
    all their chunks are written); nothing where h5py cannot list chunks (chunk_iter
    needs HDF5 1.14): the index only speeds reading."""
    if not hasattr(h5py.h5d.DatasetID, 'chunk_iter'):
        return
    for d in datasets:
        if d.chunks is None:
            continue
        group = d.file
        for name in (CHUNK_INDEX + d.parent.name).strip('/').split('/'):
            if name not in group:
                _pytables_attrs(group.create_group(name), 'GROUP', '1.0')
            group = group[name]
        name = d.name.rsplit('/', 1)[1]
        if name in group:
            del group[name]
        a = group.create_dataset(name, data=chunk_index(d))
        _pytables_attrs(a, 'ARRAY', '2.4')


def _pytables_attrs(node, cls, version):
    # PyTables marks its nodes so; its reader also accepts plain HDF5, but then nodes
    # written by ChimeraX and by us look alike to any tool that checks.
    node.attrs['CLASS'] = np.bytes_(cls)
    node.attrs['VERSION'] = np.bytes_(version)
    node.attrs['TITLE'] = h5py.Empty('S1')


class ChimeraMapWriter:
    """Create a .cmap file with a full-resolution array and subsampled arrays, then
    take compressed chunks (``write_chunk``) in any order.

    ``size`` is z,y,x; ``steps`` lists the subsample steps (x,y,z); ``origin`` and
    ``voxel_size`` are x,y,z as in ChimeraX.  Chunks are written in blocks, cubes of
    ``chunk_side`` clipped to each level's size, but at full resolution
    ``plane_blocks`` cubes wide across y and x, stored in chunks ``plane_depth`` planes
    thin (full_resolution_layout; BY_CONTENT: 4 x 128 x 128 for uint32 labels, 1 x 256
    x 256 for an image; plane_depth None or 0: cubes, plane_blocks 1: a cube wide).
    ``content`` (SEGMENTATION or IMAGE) is written as the CONTENT_ATTRIBUTE marker.
    """

    def __init__(self, path, size, dtype, steps=(), *, name='', origin=(0, 0, 0),
                 voxel_size=(1, 1, 1), chunk_side=None, plane_depth=BY_CONTENT,
                 plane_blocks=BY_CONTENT, compress=True,
                 compress_method=DEFAULT_METHOD, compress_level=DEFAULT_LEVEL,
                 compress_shuffle=True, content=None,
                 writer='ChimeraX-Connectome'):
        self.path = path
        self.dtype = np.dtype(dtype).newbyteorder('=')
        side = chunk_side or default_chunk_side(self.dtype.itemsize)
        steps = [tuple(s) for s in steps]
        self.file = h5py.File(path, 'w')
        try:
            _pytables_attrs(self.file, 'GROUP', '1.0')
            self.file.attrs['PYTABLES_FORMAT_VERSION'] = np.bytes_('2.1')
            chimera = self.file.create_group('Chimera')
            _pytables_attrs(chimera, 'GROUP', '1.0')
            g = self.group = chimera.create_group('image1')
            _pytables_attrs(g, 'GROUP', '1.0')
            g.attrs['chimera_map_version'] = np.int64(1)
            g.attrs['chimera_version'] = np.bytes_(writer)
            if name:
                g.attrs['name'] = np.bytes_(name.encode('utf-8'))
            g.attrs['origin'] = np.array(origin, np.float32)
            g.attrs['step'] = np.array(voxel_size, np.float32)
            if content is not None:
                g.attrs[CONTENT_ATTRIBUTE] = np.bytes_(content)
            self.levels = []
            self._waiting, self._waiting_bytes = [], 0
            for step in [(1, 1, 1)] + steps:
                shape = grid_shape(size, reversed(step))
                full = step == (1, 1, 1)
                if full:
                    chunk_shape, stored = full_resolution_layout(
                        side, shape, steps[0] if steps else None, content, plane_depth,
                        plane_blocks)
                else:
                    chunk_shape = stored = tuple(min(side, n) for n in shape)
                codec = ChunkCodec(stored, self.dtype, compress, compress_method,
                                   compress_level, compress_shuffle)
                if stored != chunk_shape:
                    codec = SlicedCodec(codec, chunk_shape)
                dname = 'data_zyx' if full else 'data_zyx_%d_%d_%d' % step
                d = g.create_dataset(dname, shape, self.dtype, chunks=stored,
                                     fillvalue=0, **codec.h5py_filter())
                _pytables_attrs(d, 'CARRAY', '1.1')
                if not full:
                    d.attrs['subsample_spacing'] = np.array(step, np.int32)
                self.levels.append(MapLevel(step, shape, chunk_shape, d, codec, stored))
        except BaseException:
            self.file.close()
            raise

    def write_chunk(self, level, index, data):
        """Store the encoded bytes of block ``index`` (z,y,x block grid) of a level: one
        chunk's bytes, or a SlicedCodec's tuple of them (those thin chunks wait, see
        WRITE_BUFFER_BYTES, at most until ``close``).  Returns the chunks written."""
        lv = self.levels[level]
        offset = tuple(i * c for i, c in zip(index, lv.chunk_shape))
        pieces = data if isinstance(data, tuple) else (data,)
        written = 0
        for n, piece in enumerate(pieces):
            z = offset[0] + n * lv.stored_shape[0]
            if z >= lv.shape[0]:    # a block padded past the level's edge
                continue
            if isinstance(data, tuple):
                self._waiting.append((level, (z,) + offset[1:], piece))
                self._waiting_bytes += len(piece)
            else:
                lv.dataset.id.write_direct_chunk((z,) + offset[1:], piece)
            written += 1
        if self._waiting_bytes >= WRITE_BUFFER_BYTES:
            self._write_waiting()
        return written

    def _write_waiting(self):
        self._waiting.sort(key=lambda w: w[:2])
        for level, offset, piece in self._waiting:
            self.levels[level].dataset.id.write_direct_chunk(offset, piece)
        self._waiting, self._waiting_bytes = [], 0

    def write_stored_chunk(self, level, offset, data):
        """Store the bytes of the HDF5 chunk at voxel ``offset`` (z,y,x) of a level, as
        read with read_direct_chunk from a file of the same layout."""
        self.levels[level].dataset.id.write_direct_chunk(tuple(offset), data)

    def set_maximum_segment_id(self, value):
        """Let `segmentation colors` skip scanning the whole volume for its largest id."""
        value = int(value)
        self.group.attrs['maximum_segment_id'] = (np.int64(value) if value < 2**63
                                                  else np.uint64(value))

    def close(self):
        if self.file:
            self._write_waiting()
            write_chunk_index([lv.dataset for lv in self.levels])
            self.file.close()
            self.file = None

    def abandon(self):
        """Close without keeping anything, after a failure.  When the disk is full HDF5
        cannot flush its metadata, cannot close the file, and a file it could not close
        crashes the process when Python exits (HDF5's shutdown recurses); so its writes
        go to /dev/null from now on, it closes, and the caller deletes the file."""
        if not self.file:
            return
        self._waiting, self._waiting_bytes = [], 0
        try:
            fd = self.file.id.get_vfd_handle()
            null = os.open(os.devnull, os.O_RDWR)
            try:
                os.dup2(null, fd)
            finally:
                os.close(null)
        except (OSError, RuntimeError, ValueError, TypeError):
            pass            # not a plain file: close as well as we can
        try:
            self.file.close()
        except (OSError, RuntimeError):
            pass
        self.file = None
