"""Chunked multiscale stores, read where they lie: neuroglancer precomputed, Zarr (with
OME-Zarr multiscales) and N5, local or remote, through tensorstore.

``open_store`` reads the store's metadata, checks it, and returns a Store: its scales as
levels (each a z,y,x view read lazily, chunk by chunk), the voxel size and origin of the
full resolution in nanometres (x,y,z), its voxel type and whether it is a segmentation.
Level k is a downsampling of level 0 by whole factors (z,y,x): its voxel j covers
level-0 voxels j*f to (j+1)*f - 1 counted from the full resolution's first voxel, as
ChimeraX's subsampled maps expect.  Scales whose voxel size is no whole multiple of the
full resolution's are left out (``skipped`` says which).  Chunks a store lacks read as
zeros (the store's fill value), as neuroglancer shows them.

A Store is also a tile set for ``connectome combine`` (the interface of formats/tiles.py
TileSet over its full resolution, the store's chunks standing for tiles): tensorstore is
thread-safe and releases Python's GIL while it reads and decodes, so worker threads read
blocks in parallel (``prepare`` is always True).

Why tensorstore: one maintained library (Google's, behind neuroglancer) reads all three
formats, sharded precomputed and compressed_segmentation included, from local files,
gs://, s3:// and http(s)://; docs/performance.md compares it with zarr-python and
CloudVolume.  Pure: no ChimeraX.

Index order: z,y,x (numpy order) for shapes, starts and stops; x,y,z for voxel sizes and
origins, as ChimeraX gives them.
"""

import json
import os
import re
import threading

import numpy as np

from ..blocks import ceil_div
from ..errors import InputError

FORMATS = ('precomputed', 'zarr', 'n5')
SUFFIXES = {'.zarr': 'zarr', '.n5': 'n5', '.precomputed': 'precomputed'}
# Neuroglancer's data source prefixes.
PREFIXES = {'precomputed': 'precomputed', 'zarr': 'zarr', 'zarr2': 'zarr', 'zarr3': 'zarr',
            'n5': 'n5'}
REMOTE_SCHEMES = ('gs', 's3', 'http', 'https')
# Precomputed encodings tensorstore decodes; others (compresso, crackle, fpzip, jxl, ...)
# are CloudVolume's alone.
ENCODINGS = ('raw', 'compressed_segmentation', 'jpeg', 'png')
DEFAULT_CACHE_BYTES = 256 * 2**20
# Length units to nanometres (OME-Zarr's axis units, N5's pixelResolution unit).
NANOMETRES = {'angstrom': 0.1, 'nanometer': 1.0, 'nm': 1.0, 'micrometer': 1e3, 'um': 1e3,
              'µm': 1e3, 'micron': 1e3, 'millimeter': 1e6, 'mm': 1e6, 'centimeter': 1e7,
              'cm': 1e7, 'meter': 1e9, 'm': 1e9, 'picometer': 1e-3, 'pm': 1e-3}
_COMPRESSED_SUFFIXES = ('.gz', '.br', '.zst')
_MAX_ID = {np.dtype(np.uint64): np.uint32, np.dtype(np.int64): np.int32}


# ----------------------------------------------------------------------------
# Where a store is

class Location:
    """A store's place: ``format`` (None until known), ``url`` as tensorstore takes it,
    ``local`` (the folder, or None when remote) and ``text`` as the user wrote it."""

    def __init__(self, text, format=None):
        self.text = str(text)
        spec = self.text.strip()
        m = re.match(r'([a-z0-9]+)://(.*)$', spec)
        if m and m.group(1) in PREFIXES:
            given = PREFIXES[m.group(1)]
            if format is not None and format != given:
                raise InputError('%s is a %s path, not %s' % (self.text, given, format),
                                 self.text)
            format = given
            spec = m.group(2)
            if not re.match(r'[a-z0-9]+://', spec):
                spec = spec if spec.startswith('/') else '/' + spec
        m = re.match(r'([a-z0-9]+)://(.*)$', spec)
        if m and m.group(1) == 'file':
            spec = m.group(2)
            m = None
        if m:
            if m.group(1) not in REMOTE_SCHEMES:
                raise InputError('%s: unknown location scheme %s:// (local paths, file://,'
                                 ' gs://, s3://, http:// and https:// are read)'
                                 % (self.text, m.group(1)), self.text)
            self.local = None
            self.url = spec.rstrip('/') + '/'
        else:
            path = os.path.abspath(os.path.expanduser(spec))
            if not os.path.exists(path):
                raise InputError('%s does not exist' % self.text, self.text)
            if not os.path.isdir(path):
                raise InputError('%s is a file, not a store (a folder with info, .zarray,'
                                 ' .zattrs, zarr.json or attributes.json)' % self.text,
                                 self.text)
            self.local = path
            self.url = 'file://' + path.rstrip('/') + '/'
        self.format = format
        self.name = self.url.rstrip('/').rsplit('/', 1)[-1] or self.text

    def kvstore(self, sub=''):
        """The tensorstore key-value store spec of the store, or of its folder ``sub``."""
        if self.local is not None:
            return {'driver': 'file', 'path': os.path.join(self.local, sub).rstrip('/') + '/'}
        return self.url + (sub.strip('/') + '/' if sub else '')

    def __str__(self):
        return self.text


def looks_like_store(text):
    """Whether a path names a store by its form alone (a neuroglancer prefix, a
    .zarr/.n5 suffix, a remote URL) or is a local folder holding store metadata."""
    text = str(text).strip()
    m = re.match(r'([a-z0-9]+)://', text)
    if m and m.group(1) != 'file':
        return m.group(1) in PREFIXES or m.group(1) in REMOTE_SCHEMES
    path = os.path.expanduser(text[len('file://'):] if m else text)
    if os.path.splitext(path.rstrip('/'))[1].lower() in SUFFIXES:
        return True
    return os.path.isdir(path) and any(os.path.isfile(os.path.join(path, key)) for key in
                                       ('info', '.zarray', '.zattrs', 'zarr.json',
                                        'attributes.json'))


def _tensorstore():
    import tensorstore
    return tensorstore


class _Metadata:
    """JSON metadata files of a store, read through tensorstore's key-value stores (the
    same code for local folders and remote buckets)."""

    def __init__(self, location):
        self.location = location
        self._kv = {}

    def read(self, key):
        """The parsed JSON at ``key`` (a path inside the store), or None if absent."""
        folder, _, name = key.rpartition('/')
        ts = _tensorstore()
        try:
            kv = self._kv.get(folder)
            if kv is None:
                kv = self._kv[folder] = ts.KvStore.open(self.location.kvstore(folder)).result()
            r = kv.read(name).result()
        except ValueError as e:
            raise InputError('%s: cannot read %s: %s' % (self.location, key, _reason(e)),
                             self.location.text)
        if r.state != 'value':
            return None
        try:
            return json.loads(bytes(r.value))
        except ValueError as e:
            raise InputError('%s: %s is not valid JSON: %s' % (self.location, key, e),
                             self.location.text)


def _reason(error):
    """tensorstore's message without the spec it appends."""
    return re.sub(r'\s*\[tensorstore_spec=.*$', '', str(error), flags=re.S)


def detect_format(location, metadata):
    """precomputed, zarr or n5 from the metadata files the store has, or None."""
    for key, format in (('info', 'precomputed'), ('zarr.json', 'zarr'), ('.zarray', 'zarr'),
                        ('.zattrs', 'zarr'), ('.zgroup', 'zarr'), ('attributes.json', 'n5')):
        if metadata.read(key) is not None:
            return format
    return None


# ----------------------------------------------------------------------------
# A level and a store

class StoreLevel:
    """One scale: ``factors`` (z,y,x) to the full resolution, ``shape`` (z,y,x, the
    grid ChimeraX sees: the full resolution divided by the factors, rounded up),
    ``chunk_shape`` (z,y,x), ``key`` (the store's name for it)."""

    def __init__(self, store, view, factors, shape, chunk_shape, key):
        self.store = store
        self.view = view                    # tensorstore, dims z,y,x, grid coordinates
        self.factors = tuple(factors)
        self.shape = tuple(shape)
        self.chunk_shape = tuple(chunk_shape)
        self.key = key
        domain = view.domain
        self.data_start = tuple(int(v) for v in domain.inclusive_min)
        self.data_stop = tuple(int(v) for v in domain.exclusive_max)

    def __repr__(self):
        return 'StoreLevel(%s, factors %s, %s voxels z,y,x)' % (self.key, self.factors,
                                                              self.shape)

    def read(self, start=(0, 0, 0), stop=None, step=(1, 1, 1)):
        """The block [start, stop) of this level (z,y,x), every step-th voxel; parts
        outside the stored data, and chunks the store lacks, read as zeros."""
        stop = self.shape if stop is None else stop
        start, stop, step = (tuple(int(v) for v in t) for t in (start, stop, step))
        for a in range(3):
            if not (0 <= start[a] < stop[a] <= self.shape[a]) or step[a] < 1:
                raise ValueError('block %s-%s step %s outside level %s'
                                 % (start, stop, step, self.shape))
        count = tuple(ceil_div(e - s, t) for s, e, t in zip(start, stop, step))
        # The samples start + k*step that lie in the stored data, along each axis.
        first = [max(0, ceil_div(lo - s, t)) for s, t, lo in zip(start, step, self.data_start)]
        last = [min(n, ceil_div(hi - s, t)) for s, t, n, hi in
                zip(start, step, count, self.data_stop)]
        out_type = self.store.dtype
        if any(k1 <= k0 for k0, k1 in zip(first, last)):
            self.store._count(0, 0)
            return np.zeros(count, out_type)
        sel = tuple(slice(s + k0 * t, s + (k1 - 1) * t + 1, t)
                    for s, t, k0, k1 in zip(start, step, first, last))
        try:
            a = self.view[sel].read().result()
        except ValueError as e:
            raise InputError('%s: reading %s voxels z,y,x %s failed: %s'
                             % (self.store.location, self.key,
                                ', '.join('%d-%d' % (b.start, b.stop - 1) for b in sel),
                                _reason(e)), self.store.location.text)
        a = self.store.to_voxel_type(a, sel, self.key)
        chunks = int(np.prod([ceil_div(b.stop, c) - b.start // c
                              for b, c in zip(sel, self.chunk_shape)]))
        self.store._count(chunks, a.nbytes)
        if tuple(a.shape) == count:
            return a
        out = np.zeros(count, out_type)
        out[tuple(slice(k0, k1) for k0, k1 in zip(first, last))] = a
        return out


class _ChunkGrid:
    """The store's chunks standing for tiles: every grid position is present (absent
    chunks read as zeros)."""

    def __init__(self, grid):
        self.grid = grid            # x,y,z

    def __contains__(self, position):
        return all(0 <= p < n for p, n in zip(position, self.grid))

    def __len__(self):
        return int(np.prod(self.grid))


class Store:
    """A multiscale store: ``levels`` (full resolution first), ``shape`` (z,y,x of the
    full resolution), ``voxel_size`` and ``origin`` (x,y,z, nanometres), ``offset``
    (z,y,x voxel index of the first voxel in the store's own grid), ``dtype`` (the voxel
    type read: 64-bit integers are read as 32-bit, see ``to_voxel_type``),
    ``segmentation`` (True, False, or None when the metadata does not say)."""

    def __init__(self, location, format, cache_bytes=DEFAULT_CACHE_BYTES):
        self.location = location
        self.format = format
        self.name = location.name
        self.cache_bytes = cache_bytes
        self.levels = []
        self.skipped = []               # (key, reason) of scales left out
        self.segmentation = None
        self.stored_dtype = None
        self.dtype = None
        self.voxel_size = (1.0, 1.0, 1.0)
        self.origin = (0.0, 0.0, 0.0)
        self.offset = (0, 0, 0)
        self.units_known = False
        self._stats_lock = threading.Lock()
        self.chunks_read = 0
        self.bytes_read = 0
        self._opener = None             # cache_bytes -> level specs (_levels_from)
        self._first_path = ''           # the full resolution's folder inside the store

    def __repr__(self):
        return 'Store(%s %s: %s voxels x,y,z, %s, %d levels)' % (
            self.format, self.location, ' x '.join(map(str, reversed(self.shape))),
            self.dtype, len(self.levels))

    @property
    def shape(self):
        return self.levels[0].shape

    @property
    def url(self):
        return self.location.url

    @property
    def nbytes(self):
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize

    def _set_levels(self, cache_bytes):
        self.levels = [StoreLevel(self, *spec) for spec in self._opener(cache_bytes)]

    def to_voxel_type(self, a, where=None, key=''):
        """``a`` as the store's voxel type.  ChimeraX maps hold at most 32-bit integers
        (and region ids index attribute arrays), so 64-bit ids are read as 32-bit: an id
        that does not fit is an error, never a wrapped value."""
        if a.dtype == self.dtype:
            return a
        if a.dtype in _MAX_ID and a.size:
            info = np.iinfo(self.dtype)
            hi, lo = int(a.max()), int(a.min())
            if hi > info.max or lo < info.min:
                block = '' if where is None else ' (%s voxels z,y,x %s)' % (
                    key, ', '.join('%d-%d' % (b.start, b.stop - 1) for b in where))
                raise InputError('%s: region id %d%s does not fit in %s: ChimeraX maps hold'
                                 ' 32-bit ids; renumber the segmentation (fastremap.renumber)'
                                 % (self.location, hi if hi > info.max else lo, block,
                                    self.dtype.name), self.location.text)
        return a.astype(self.dtype)

    def maximum(self, report=None, slab_bytes=256 << 20):
        """Largest voxel value of the full resolution, read in slabs of whole chunks."""
        level = self.levels[0]
        nz = level.shape[0]
        plane = int(np.prod(level.shape[1:])) * self.dtype.itemsize
        step = max(1, slab_bytes // max(plane, 1))
        cz = level.chunk_shape[0]
        step = max(cz, step - step % cz)
        maximum = 0
        for z in range(0, nz, step):
            a = level.read((z, 0, 0), (min(z + step, nz),) + level.shape[1:])
            maximum = max(maximum, int(a.max()))
            if report:
                report(min(z + step, nz), nz)
        return maximum

    # -- the tile-set interface of formats/tiles.py TileSet, over the full resolution

    @property
    def paths(self):
        """Local files the store is made of (none when remote): combine checks that its
        output is none of them."""
        return [self.location.local] if self.location.local else []

    @property
    def chunk_shape(self):
        return self.levels[0].chunk_shape

    @property
    def tiles(self):
        return _ChunkGrid(tuple(reversed([ceil_div(n, c) for n, c in
                                          zip(self.shape, self.chunk_shape)])))

    def positions_in(self, start, stop):
        """Grid positions (x,y,z) of the store chunks that the block touches."""
        cs = self.chunk_shape
        rz, ry, rx = (range(s // c, ceil_div(e, c)) for s, e, c in zip(start, stop, cs))
        return [(x, y, z) for z in rz for y in ry for x in rx]

    def is_empty(self, start, stop):
        # Which chunks exist is not known without asking for them: read and see.
        return False

    def prepare(self, start, stop):
        return True

    def filtered_tiles(self):
        # tensorstore decodes every chunk itself, in any thread: nothing goes through
        # HDF5's filter pipeline.
        return []

    def read(self, start=(0, 0, 0), stop=None, step=(1, 1, 1)):
        return self.levels[0].read(start, stop, step)

    def set_cache_limit(self, nbytes):
        """Bytes of decoded chunks tensorstore keeps (a new cache: the levels are
        opened again)."""
        if nbytes != self.cache_bytes:
            self.cache_bytes = nbytes
            self._set_levels(nbytes)

    def _count(self, chunks, nbytes):
        with self._stats_lock:
            self.chunks_read += chunks
            self.bytes_read += nbytes

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ----------------------------------------------------------------------------
# Opening

def open_store(path, format=None, channel=0, cache_bytes=DEFAULT_CACHE_BYTES):
    """Read and check a store's metadata; returns a Store.  ``format`` is precomputed,
    zarr or n5 (found from the metadata when None); ``channel`` picks one channel of a
    multichannel store.  InputError naming the store for anything it cannot read."""
    if format is not None and format not in FORMATS:
        raise ValueError('format must be one of %s' % ', '.join(FORMATS))
    location = path if isinstance(path, Location) else Location(path, format)
    metadata = _Metadata(location)
    found = location.format or detect_format(location, metadata)
    if found is None:
        raise InputError('%s is not a neuroglancer precomputed, Zarr or N5 store (it has no'
                         ' info, .zarray, .zattrs, zarr.json or attributes.json)'
                         % location, location.text)
    store = Store(location, found, cache_bytes)
    opener = {'precomputed': _precomputed, 'zarr': _zarr, 'n5': _n5}[found]
    try:
        opener(store, metadata, int(channel))
        _check_voxel_size(store.voxel_size, location, 'the full resolution')
        store._set_levels(cache_bytes)
    except ValueError as e:         # tensorstore's errors
        raise InputError('%s cannot be read as %s: %s' % (location, found, _reason(e)),
                         location.text)
    if not store.levels:
        raise InputError('%s has no readable scale' % location, location.text)
    return store


def _context(cache_bytes):
    return {'cache_pool': {'total_bytes_limit': int(cache_bytes)}}


def voxel_type(stored, location):
    """The type a store's voxels are read as (see Store.to_voxel_type)."""
    stored = np.dtype(stored)
    if stored in _MAX_ID:
        return np.dtype(_MAX_ID[stored])
    if stored.kind == 'f' and stored.itemsize == 2:
        return np.dtype(np.float32)
    if stored.kind == 'b':
        return np.dtype(np.uint8)
    if stored.kind in 'iuf' and stored.itemsize <= 8:
        return stored.newbyteorder('=')
    raise InputError('%s holds %s voxels, not map data (integers or floats)'
                     % (location, stored), location.text)


def _whole_factors(sizes, base, key, store):
    """Factors sizes / base (per axis) if whole numbers, else None (noted as skipped).
    The full resolution is one of the scales, so its voxel size is checked here too."""
    _check_voxel_size(sizes, store.location, 'scale %s' % key)
    ratio = [s / b for s, b in zip(sizes, base)]
    factors = [int(round(r)) for r in ratio]
    if any(f < 1 or abs(r - f) > 1e-3 * f for r, f in zip(ratio, factors)):
        store.skipped.append((key, 'voxel size %s is not a whole multiple of the full'
                              ' resolution\'s %s' % (_fmt(sizes), _fmt(base))))
        return None
    return factors


def _check_voxel_size(values, location, what):
    if not all(np.isfinite(v) and v > 0 for v in values):
        raise InputError('%s: %s has voxel size %s in its metadata; voxel sizes must be'
                         ' positive (give one with voxelSize X,Y,Z if the metadata is wrong'
                         ' only here)' % (location, what, _fmt(values)), location.text)


def _fmt(values):
    return ','.join('%g' % v for v in values)


def _levels_from(store, opened, base0):
    """Level specs from [(key, view z,y,x in the store's own grid, factors z,y,x,
    chunk z,y,x)], the first the full resolution: views are shifted so that index 0
    of level k is voxel base0 / factors of its grid."""
    ts = _tensorstore()
    full = None
    specs = []
    for key, view, factors, chunk in opened:
        if full is None:
            full = tuple(int(v) for v in view.domain.shape)
        if specs and tuple(factors) == (1, 1, 1):
            store.skipped.append((key, 'a second full-resolution scale'))
            continue
        base = tuple(b // f for b, f in zip(base0, factors))
        view = view[ts.d[:].translate_by[tuple(-b for b in base)]]
        shape = tuple(ceil_div(n, f) for n, f in zip(full, factors))
        specs.append((view, factors, shape, chunk, key))
    return specs


def _chunk_zyx(view):
    layout = view.chunk_layout
    shape = layout.read_chunk.shape
    return tuple(int(c) if c else 64 for c in shape)


# -- neuroglancer precomputed

def _precomputed(store, metadata, channel):
    loc = store.location
    info = metadata.read('info')
    if info is None:
        raise InputError('%s is not a neuroglancer precomputed store (no info file)' % loc,
                         loc.text)
    if not isinstance(info, dict) or not isinstance(info.get('scales'), list) \
            or not info['scales']:
        raise InputError('%s: its info file lists no scales' % loc, loc.text)
    if info.get('type') not in (None, 'image', 'segmentation'):
        raise InputError('%s is a precomputed %s layer, not an image or segmentation'
                         % (loc, info.get('type')), loc.text)
    store.segmentation = info.get('type') == 'segmentation'
    channels = int(info.get('num_channels', 1))
    if not 0 <= channel < channels:
        raise InputError('%s has %d channel%s; channel %d does not exist'
                         % (loc, channels, '' if channels == 1 else 's', channel), loc.text)
    for scale in info['scales']:
        encoding = scale.get('encoding')
        if encoding not in ENCODINGS:
            raise InputError('%s: scale %s has encoding %s, which tensorstore cannot decode'
                             ' (it reads %s)' % (loc, scale.get('key'), encoding,
                                                 ', '.join(ENCODINGS)), loc.text)
    _check_plain_chunks(store, info['scales'])
    store.stored_dtype = np.dtype(info.get('data_type', 'uint8'))
    store.dtype = voxel_type(store.stored_dtype, loc)
    scale0 = info['scales'][0]
    res0 = [float(r) for r in scale0['resolution']]
    off0 = [int(o) for o in scale0.get('voxel_offset', (0, 0, 0))]
    store.voxel_size = tuple(res0)
    store.offset = tuple(reversed(off0))
    store.origin = tuple(o * r for o, r in zip(off0, res0))
    store.units_known = True
    wanted = [(k, s) for k, s in enumerate(info['scales'])
              if _whole_factors(s['resolution'], res0, s.get('key'), store) is not None]

    def opener(cache_bytes):
        ts = _tensorstore()
        opened = []
        for k, scale in wanted:
            t = ts.open({'driver': 'neuroglancer_precomputed', 'kvstore': loc.kvstore(),
                         'scale_index': k, 'context': _context(cache_bytes),
                         'recheck_cached_data': False}, read=True).result()
            view = t[..., channel].T        # x,y,z stored; z,y,x read without a copy
            factors = _whole_factors(scale['resolution'], res0, scale.get('key'), store)
            opened.append((scale.get('key'), view, tuple(reversed(factors)), _chunk_zyx(view)))
        return _levels_from(store, opened, tuple(reversed(off0)))
    store._opener = opener


def _check_plain_chunks(store, scales):
    """A local store whose chunk files end in .gz (CloudVolume's compress, the default
    for file://) would read as all zeros: tensorstore looks for the plain names, as a
    web server serving them with Content-Encoding gzip would give them."""
    loc = store.location
    if loc.local is None:
        return
    for scale in scales:
        folder = os.path.join(loc.local, str(scale.get('key', '')))
        if scale.get('sharding') or not os.path.isdir(folder):
            continue
        with os.scandir(folder) as entries:
            for n, entry in enumerate(entries):
                if entry.name.endswith(_COMPRESSED_SUFFIXES):
                    raise InputError(
                        '%s: the chunk files of scale %s are compressed files (%s), as'
                        ' CloudVolume writes local stores by default; tensorstore reads'
                        ' plain chunk files only, so uncompress them (gunzip -r %s) or'
                        ' write with compress=False' % (loc, scale.get('key'), entry.name,
                                                        folder), loc.text)
                if n > 50:
                    break


# -- Zarr and OME-Zarr

def _zarr(store, metadata, channel):
    loc = store.location
    v3 = metadata.read('zarr.json')
    if v3 is not None:
        attrs = v3.get('attributes', {}) if isinstance(v3, dict) else {}
        is_array = v3.get('node_type') == 'array'
        driver = 'zarr3'
    else:
        attrs = metadata.read('.zattrs') or {}
        is_array = metadata.read('.zarray') is not None
        driver = 'zarr'
    ome = attrs.get('ome', attrs) if isinstance(attrs, dict) else {}
    multiscales = ome.get('multiscales') if isinstance(ome, dict) else None
    if 'image-label' in ome or 'image-label' in attrs:
        store.segmentation = True
    if multiscales:
        _ome_zarr(store, multiscales[0], driver, channel)
    elif is_array:
        def opener(cache_bytes):
            t = _open_array(driver, loc.kvstore(), cache_bytes)
            view = _spatial_view(store, t, None, channel, reverse=False)
            return _levels_from(store, [(loc.name, view, (1, 1, 1), _chunk_zyx(view))],
                                (0, 0, 0))
        store._opener = opener
    else:
        raise InputError('%s is a Zarr group without OME-Zarr multiscales metadata; open one'
                         ' of its arrays%s' % (loc, _list_arrays(loc)), loc.text)
    _set_type(store, driver, loc.kvstore(store._first_path))


def _set_type(store, driver, kvstore):
    """The store's voxel types, from its full resolution's array metadata."""
    t = _open_array(driver, kvstore, 0)
    store.stored_dtype = np.dtype(t.dtype.numpy_dtype)
    store.dtype = voxel_type(store.stored_dtype, store.location)


def _open_array(driver, kvstore, cache_bytes):
    ts = _tensorstore()
    return ts.open({'driver': driver, 'kvstore': kvstore, 'context': _context(cache_bytes),
                    'recheck_cached_data': False}, read=True).result()


def _list_arrays(loc):
    if loc.local is None:
        return ''
    names = sorted(n for n in os.listdir(loc.local)
                   if any(os.path.isfile(os.path.join(loc.local, n, k))
                          for k in ('.zarray', '.zattrs', 'zarr.json', 'attributes.json')))
    return ': %s' % ', '.join(names) if names else ''


def _axis_names(axes, ndim):
    """Axis names, or None (the last three dimensions are then z,y,x)."""
    if not axes:
        return None
    names = [(a.get('name') if isinstance(a, dict) else str(a)).lower() for a in axes]
    return names if len(names) == ndim else None


def _spatial_view(store, t, names, channel, reverse):
    """View z,y,x of a tensorstore: other dimensions fixed at index 0 (a channel
    dimension at ``channel``).  ``names``: the dimensions' names (None: the last three
    are z,y,x, after reversal for N5, whose dimensions are listed x first)."""
    ts = _tensorstore()
    loc = store.location
    ndim = t.rank
    if reverse:
        t = t.T
        names = list(reversed(names)) if names else None
    if names is None:
        if ndim < 3:
            raise InputError('%s is %d-D, not a 3-D volume' % (loc, ndim), loc.text)
        names = ['extra'] * (ndim - 3) + ['z', 'y', 'x']
    if not all(a in names for a in 'zyx'):
        raise InputError('%s: its axes are %s; a volume needs x, y and z'
                         % (loc, ','.join(names)), loc.text)
    index = []
    lo = t.domain.inclusive_min
    for d, name in enumerate(names):
        if name in 'zyx' and len(name) == 1:
            index.append(slice(None))
            continue
        n = int(t.domain.shape[d])
        pick = channel if name in ('c', 'channel') else 0
        if not 0 <= pick < n:
            raise InputError('%s has %d channels; channel %d does not exist'
                             % (loc, n, channel), loc.text)
        index.append(int(lo[d]) + pick)
    view = t[tuple(index)]
    kept = [n for n in names if n in ('z', 'y', 'x')]
    order = [kept.index(a) for a in 'zyx']
    view = view[ts.d[tuple(order)].transpose[:]]
    return view[ts.d[:].translate_by[tuple(-int(v) for v in view.domain.inclusive_min)]]


def _ome_zarr(store, ms, driver, channel):
    loc = store.location
    datasets = ms.get('datasets') or []
    if not datasets:
        raise InputError('%s: its OME-Zarr multiscales lists no datasets' % loc, loc.text)
    axes = ms.get('axes')
    names = [(a.get('name') if isinstance(a, dict) else str(a)).lower() for a in axes] \
        if axes else None
    units = {}
    if axes and isinstance(axes[0], dict):
        units = {a.get('name', '').lower(): a.get('unit') for a in axes}
    glob_scale, glob_shift = _transforms(ms.get('coordinateTransformations'), len(names or []))

    def spatial(values):
        if values is None:
            return None
        if names is None:
            return [float(v) for v in values[-3:]][::-1]            # x,y,z
        return [float(values[names.index(a)]) for a in 'xyz']

    scales, shifts = [], []
    for d in datasets:
        s, t = _transforms(d.get('coordinateTransformations'), len(names or []))
        if s is not None and glob_scale is not None:
            s = [a * b for a, b in zip(s, glob_scale)]
        scales.append(spatial(s) or [1.0, 1.0, 1.0])
        shifts.append(spatial(t))
    nm = []
    for a in 'xyz':
        unit = units.get(a)
        nm.append(NANOMETRES.get(str(unit).lower(), 1.0) if unit else 1.0)
    store.units_known = all(units.get(a) for a in 'xyz')
    res0 = [s * f for s, f in zip(scales[0], nm)]
    store.voxel_size = tuple(res0)
    origin = [0.0, 0.0, 0.0] if shifts[0] is None else [t * f for t, f in zip(shifts[0], nm)]
    if glob_shift is not None:
        origin = [o + t * f for o, t, f in zip(origin, spatial(glob_shift), nm)]
    store.origin = tuple(origin)
    wanted = []
    for d, s in zip(datasets, scales):
        factors = _whole_factors([v * f for v, f in zip(s, nm)], res0, d.get('path'), store)
        if factors is not None:
            wanted.append((d['path'], tuple(reversed(factors))))
    store._first_path = datasets[0]['path']

    def opener(cache_bytes):
        opened = []
        for path, factors in wanted:
            t = _open_array(driver, loc.kvstore(path), cache_bytes)
            view = _spatial_view(store, t, names, channel, reverse=False)
            opened.append((path, view, factors, _chunk_zyx(view)))
        return _levels_from(store, opened, (0, 0, 0))
    store._opener = opener


def _transforms(transforms, ndim):
    """(scale, translation) of an OME-Zarr coordinateTransformations list."""
    scale = shift = None
    for t in transforms or []:
        if t.get('type') == 'scale':
            scale = [float(v) for v in t.get('scale', [])]
        elif t.get('type') == 'translation':
            shift = [float(v) for v in t.get('translation', [])]
    return scale, shift


# -- N5

def _n5(store, metadata, channel):
    loc = store.location
    attrs = metadata.read('attributes.json')
    if attrs is None:
        raise InputError('%s is not an N5 store (no attributes.json)' % loc, loc.text)
    if 'dimensions' in attrs:
        paths = ['']
        group = attrs
    else:
        paths = []
        while True:
            sub = metadata.read('s%d/attributes.json' % len(paths))
            if sub is None or 'dimensions' not in sub:
                break
            paths.append('s%d' % len(paths))
        if not paths:
            raise InputError('%s is an N5 group with no datasets s0, s1, ...; open one of its'
                             ' datasets%s' % (loc, _list_arrays(loc)), loc.text)
        group = attrs
    axes = group.get('axes')
    res, unit = _n5_resolution(group)
    scales = group.get('scales')
    level_attrs = [attrs if p == '' else metadata.read(p + '/attributes.json') for p in paths]
    if res is None:
        res, unit = _n5_resolution(level_attrs[0])
    nm = NANOMETRES.get(str(unit).lower(), 1.0) if unit else 1.0
    store.units_known = res is not None and unit is not None
    res = [float(r) * nm for r in (res or (1, 1, 1))][:3]
    first = level_attrs[0]
    names = _axis_names(axes, len(first['dimensions']))
    wanted = []
    dims0 = first['dimensions']
    for k, (p, a) in enumerate(zip(paths, level_attrs)):
        f = a.get('downsamplingFactors')
        if f is None and isinstance(scales, list) and k < len(scales):
            f = scales[k]
        if f is None:   # from the sizes, as the viewers do when nothing is written
            f = [max(1, round(d0 / d)) for d0, d in zip(dims0, a['dimensions'])]
        f = [int(round(float(v))) for v in f][:3]
        wanted.append((p or loc.name, p, tuple(reversed(f))))
    store.voxel_size = tuple(res)
    store.origin = (0.0, 0.0, 0.0)

    def opener(cache_bytes):
        opened = []
        for key, p, factors in wanted:
            t = _open_array('n5', loc.kvstore(p), cache_bytes)
            view = _spatial_view(store, t, names, channel, reverse=True)
            opened.append((key, view, factors, _chunk_zyx(view)))
        return _levels_from(store, opened, (0, 0, 0))
    store._opener = opener
    _set_type(store, 'n5', loc.kvstore(paths[0]))


def _n5_resolution(attrs):
    """(voxel size x,y,z, unit) of N5 attributes: pixelResolution (N5 Viewer) or
    resolution (neuroglancer, BigDataViewer), or (None, None)."""
    pr = attrs.get('pixelResolution')
    if isinstance(pr, dict) and pr.get('dimensions'):
        return pr['dimensions'], pr.get('unit')
    if isinstance(pr, list):
        return pr, attrs.get('units', [None])[0] if isinstance(attrs.get('units'), list) \
            else None
    r = attrs.get('resolution')
    if isinstance(r, list):
        units = attrs.get('units')
        return r, units[0] if isinstance(units, list) and units else None
    return None, None
