"""Neuroglancer's uint64 sharded format (``neuroglancer_uint64_sharded_v1``) as a mesh folder
uses it: many objects in a few ``.shard`` files instead of two files per object.

An object id is hashed (``identity`` or the low 64 bits of ``murmurhash3_x86_128`` of its
8 little-endian bytes, seed 0, after ``preshift_bits``); the low ``minishard_bits`` of the
hash pick its minishard, the next ``shard_bits`` its shard file, named by the shard number
in lowercase hex zero-padded to ceil(shard_bits / 4) digits.  A shard file is its shard
index (per minishard, the [start, end) of its minishard index: 2 uint64), the data, then
the minishard indices (each 3 x n uint64: ids, offsets, sizes, ids and offsets delta
encoded; gzip-compressed when ``minishard_index_encoding`` says so); offsets count from the
end of the shard index.  For a multi-resolution mesh the entry of an id is its manifest,
and its fragments lie just before the manifest (google/neuroglancer's
``src/datasource/precomputed/sharded.md`` and ``meshes.md``).

The sharding parameters are chosen from the number of objects as Igneous chooses them for
hashed keys: a shard index of at most 8 KiB (512 minishards) and minishard indices of about
32 KiB (about 1365 objects each) before gzip, shards packed to more than about half their
capacity.  Pure: numpy.
"""

import gzip
import math
import os
import zlib
from dataclasses import dataclass

import numpy as np

from ...errors import InputError

SHARDED_TYPE = 'neuroglancer_uint64_sharded_v1'
HASHES = ('identity', 'murmurhash3_x86_128')
ENCODINGS = ('raw', 'gzip')
SHARD_INDEX_BYTES = 2 ** 13        # Igneous's defaults for meshes and skeletons
MINISHARD_INDEX_BYTES = 2 ** 15
_ENTRY = 3 * 8                     # bytes per object in a minishard index


@dataclass(frozen=True)
class ShardingSpec:
    """An info's ``sharding``."""
    preshift_bits: int
    minishard_bits: int
    shard_bits: int
    hash: str = 'murmurhash3_x86_128'
    minishard_index_encoding: str = 'gzip'
    data_encoding: str = 'raw'

    def to_dict(self):
        return {'@type': SHARDED_TYPE, 'preshift_bits': self.preshift_bits,
                'hash': self.hash, 'minishard_bits': self.minishard_bits,
                'shard_bits': self.shard_bits,
                'minishard_index_encoding': self.minishard_index_encoding,
                'data_encoding': self.data_encoding}

    @classmethod
    def from_dict(cls, d, where):
        try:
            if d.get('@type') != SHARDED_TYPE:
                raise ValueError('@type %r, not %r' % (d.get('@type'), SHARDED_TYPE))
            spec = cls(int(d['preshift_bits']), int(d['minishard_bits']),
                       int(d['shard_bits']), d['hash'],
                       d.get('minishard_index_encoding', 'raw'), d.get('data_encoding', 'raw'))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise InputError('%s: not a valid sharding specification (%s)' % (where, e), where)
        if spec.hash not in HASHES or spec.minishard_index_encoding not in ENCODINGS:
            raise InputError('%s: sharding hash %r or minishard index encoding %r unknown'
                             % (where, spec.hash, spec.minishard_index_encoding), where)
        if spec.data_encoding != 'raw':
            raise InputError('%s: sharded meshes need data_encoding raw, not %r (fragments'
                             ' are read by offset)' % (where, spec.data_encoding), where)
        if not (0 <= spec.preshift_bits <= 64 and 0 <= spec.minishard_bits <= 32
                and 0 <= spec.shard_bits <= 64 - spec.minishard_bits):
            raise InputError('%s: sharding bits out of range' % where, where)
        return spec

    def hashed(self, ids):
        """The hash of every id (uint64 array)."""
        keys = np.asarray(ids, np.uint64) >> np.uint64(self.preshift_bits)
        return keys if self.hash == 'identity' else murmurhash3_x86_128_low64(keys)

    def locate(self, ids):
        """(shard numbers, minishard numbers) of ``ids`` (uint64 arrays)."""
        h = self.hashed(ids)
        minishard = h & np.uint64((1 << self.minishard_bits) - 1)
        shard = (h >> np.uint64(self.minishard_bits)) & np.uint64((1 << self.shard_bits) - 1)
        return shard, minishard

    def shard_name(self, shard):
        return '%0*x.shard' % (math.ceil(self.shard_bits / 4), int(shard))

    @property
    def index_bytes(self):
        return 16 << self.minishard_bits


def sharding_for(objects):
    """Sharding parameters for ``objects`` hashed ids, as Igneous chooses them (its
    ``compute_shard_params_for_hashed`` with one shard at least)."""
    minishards = SHARD_INDEX_BYTES / 16
    per_minishard = MINISHARD_INDEX_BYTES / _ENTRY
    per_shard = minishards * per_minishard
    if objects >= per_shard:
        minishard_bits = math.ceil(math.log2(minishards))
        shard_bits = math.ceil(math.log2(objects / (per_minishard * 2 ** minishard_bits)))
    elif objects >= per_minishard:
        minishard_bits, shard_bits = math.ceil(math.log2(objects / per_minishard)), 0
    else:
        minishard_bits, shard_bits = 0, 0
    if objects / (per_shard * 2 ** shard_bits) <= 0.55:
        shard_bits -= 1             # pack shards fuller (up to about 10% over)
    return ShardingSpec(0, max(minishard_bits, 0), max(shard_bits, 0))


# --- the hash ------------------------------------------------------------------------------

def _rotl(x, r):
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _fmix(h):
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85ebca6b)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xc2b2ae35)
    return h ^ (h >> np.uint32(16))


def murmurhash3_x86_128_low64(keys):
    """The low 64 bits (little-endian) of MurmurHash3_x86_128, seed 0, of each uint64 key's
    8 little-endian bytes, for a whole array at once (numpy's uint32 arithmetic wraps as
    the C code's does)."""
    keys = np.asarray(keys, np.uint64).reshape(-1)
    k1 = (keys & np.uint64(0xffffffff)).astype(np.uint32)
    k2 = (keys >> np.uint64(32)).astype(np.uint32)
    c1, c2, c3 = np.uint32(0x239b961b), np.uint32(0xab0e9789), np.uint32(0x38b34ae5)
    zero = np.zeros(len(keys), np.uint32)
    # An 8-byte key is all tail: bytes 4-7 go to h2, bytes 0-3 to h1.
    h2 = zero ^ (_rotl(k2 * c2, 16) * c3)
    h1 = zero ^ (_rotl(k1 * c1, 15) * c2)
    h3, h4 = zero.copy(), zero.copy()
    length = np.uint32(8)
    h1, h2, h3, h4 = h1 ^ length, h2 ^ length, h3 ^ length, h4 ^ length
    h1 = h1 + h2 + h3 + h4
    h2, h3, h4 = h2 + h1, h3 + h1, h4 + h1
    h1, h2, h3, h4 = _fmix(h1), _fmix(h2), _fmix(h3), _fmix(h4)
    h1 = h1 + h2 + h3 + h4
    h2 = h2 + h1
    return h1.astype(np.uint64) | (h2.astype(np.uint64) << np.uint64(32))


# --- writing -------------------------------------------------------------------------------

def write_shard(f, spec, entries):
    """Write one shard file to the open binary file ``f``.  ``entries``: (id, parts) of the
    objects of this shard, ``parts`` a list of files whose contents, one after another,
    make the object's data, the last one being what the index points at (for a mesh: the
    fragments, then the manifest).  The files are copied in pieces (memory stays small)."""
    ids = np.array([i for i, _ in entries], np.uint64)
    sizes = [[os.path.getsize(p) for p in parts] for _, parts in entries]
    _, minishards = spec.locate(ids)
    order = np.lexsort((ids, minishards))
    indices = []
    f.write(b'\0' * spec.index_bytes)           # the shard index, written last
    offset = 0
    for m in range(1 << spec.minishard_bits):
        members = order[minishards[order] == m]
        table = np.zeros((3, len(members)), np.uint64)
        end = 0
        for column, e in enumerate(members):
            before, size = sum(sizes[e][:-1]), sizes[e][-1]
            for path in entries[e][1]:
                _copy(path, f)
            start = offset + before
            table[1, column] = start - end
            table[2, column] = size
            end = start + size
            offset += before + size
        table[0] = np.diff(ids[members], prepend=np.uint64(0))
        indices.append(table)
    bounds = np.zeros((1 << spec.minishard_bits, 2), '<u8')
    for m, table in enumerate(indices):
        if table.shape[1] == 0:
            bounds[m] = offset
            continue
        blob = table.astype('<u8').tobytes()
        if spec.minishard_index_encoding == 'gzip':
            blob = gzip.compress(blob, mtime=0)
        f.write(blob)
        bounds[m] = offset, offset + len(blob)
        offset += len(blob)
    f.seek(0)
    f.write(bounds.tobytes())


def _copy(path, f, piece=1 << 24):
    with open(path, 'rb') as src:
        while True:
            data = src.read(piece)
            if not data:
                return
            f.write(data)


# --- reading -------------------------------------------------------------------------------

class ShardedObjects:
    """The objects of a sharded mesh folder: where each id's manifest lies.  ``read(path,
    start, size)`` reads bytes of a file of the folder (the caller's, which opens files
    without following links)."""

    def __init__(self, path, spec, read):
        self.path, self.spec, self._read = path, spec, read
        self._tables = {}

    def _minishard(self, shard, minishard):
        """{id: (start, size)} of one minishard of one shard (absolute file offsets)."""
        key = (int(shard), int(minishard))
        if key not in self._tables:
            path = os.path.join(self.path, self.spec.shard_name(shard))
            table = {}
            if os.path.isfile(path):
                bounds = np.frombuffer(self._read(path, 16 * key[1], 16), '<u8')
                if len(bounds) != 2 or bounds[1] < bounds[0]:
                    raise InputError('%s: shard index truncated or invalid' % path, path)
                base = self.spec.index_bytes
                table = _decode_minishard(self._read(path, base + int(bounds[0]),
                                                     int(bounds[1] - bounds[0])),
                                          self.spec, path, base)
            self._tables[key] = table
        return self._tables[key]

    def find(self, object_id):
        """(shard file path, manifest start, manifest size), or None."""
        shard, minishard = self.spec.locate([object_id])
        where = self._minishard(shard[0], minishard[0]).get(int(object_id))
        if where is None:
            return None
        return (os.path.join(self.path, self.spec.shard_name(shard[0])),) + where

    def ids(self):
        """Every id in the folder's shard files, sorted."""
        found = set()
        for name in os.listdir(self.path):
            stem, dot, ext = name.partition('.')
            if ext != 'shard' or not stem or stem.strip('0123456789abcdef'):
                continue
            shard = int(stem, 16)
            if shard < 1 << self.spec.shard_bits and self.spec.shard_name(shard) == name:
                for m in range(1 << self.spec.minishard_bits):
                    found.update(self._minishard(shard, m))
        return sorted(found)


def _decode_minishard(blob, spec, path, base):
    if not blob:
        return {}
    try:
        if spec.minishard_index_encoding == 'gzip':
            blob = gzip.decompress(blob)
        table = np.frombuffer(blob, '<u8').reshape(3, -1)
    except (OSError, EOFError, zlib.error, ValueError) as e:
        raise InputError('%s: a minishard index is not valid (%s)' % (path, e), path)
    ids = np.cumsum(table[0], dtype=np.uint64)
    sizes = table[2]
    starts = np.cumsum(table[1], dtype=np.uint64) + np.concatenate(
        [[0], np.cumsum(sizes[:-1], dtype=np.uint64)]).astype(np.uint64)
    return {int(i): (base + int(s), int(n)) for i, s, n in zip(ids, starts, sizes)}
