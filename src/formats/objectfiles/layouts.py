"""The generic layouts of region ids in a container of named arrays (an HDF5 file, an .npz):
ragged pairs, groups of one vector per object, per-region lookups, region/object pairs,
tables, vlen arrays, lone vectors.  ``classify`` finds the candidates in a group and its
subgroups; each candidate reads itself.  Pure: numpy.
"""

import re
from math import prod

import numpy as np

from ...errors import InputError
from .common import (ID_NAMES, INT64_MAX, LENGTH_NAMES, LOOKUP_HINT, OFFSET_NAMES,
                     REGION_NAMES,
                     VALUE_NAMES, Candidate, concatenate, from_lengths,
                     header_columns, is_lookup_name, is_object_column, lookup_table,
                     norm_name, object_array, pair_table, to_ids)

BIG_GROUP = 64                  # members above which a group is classified by names alone


class Array:
    """A named array in a container, read on demand."""

    def __init__(self, path, shape, dtype, load, kind=None):
        self.path = path
        self.shape = tuple(shape)
        self.dtype = dtype
        self._load = load
        self.size = prod(self.shape)
        self.kind = kind or array_kind(self.shape, dtype)

    def read(self):
        return self._load()

    def describe(self):
        shape = ' x '.join(map(str, self.shape)) if self.shape else 'scalar'
        what = {'objects': 'vectors', 'table': 'table'}.get(self.kind, str(self.dtype))
        return '%s (%s %s)' % (self.path, shape, what)


def array_kind(shape, dtype):
    if dtype.names:
        return 'table' if len(shape) == 1 else 'other'
    if dtype.kind == 'O':
        return 'objects' if len(shape) == 1 else 'other'
    if dtype.kind not in 'iuf':
        return 'other'
    if len(shape) == 0:
        return 'scalar'
    if len(shape) == 1:
        return 'vector'
    if len(shape) == 2:
        if shape[0] == 1 or shape[1] == 1:
            return 'vector'
        if shape[1] == 2 or shape[0] == 2:
            return 'pairs'
    return 'other'


class Group:
    """A group of arrays and subgroups (HDF5 group, npz root or folder).

    The container may read a group of one vector per object faster than member by member
    (``read_vectors(names, label) -> (values, lengths)``) and may know the order in which
    members were created (``creation_order() -> names or None``)."""

    def __init__(self, src, path, names, get, is_root=False, read_vectors=None,
                 creation_order=None):
        self.src = src
        self.path = path
        self.names = names
        self._get = get
        self._nodes = {}
        self.is_root = is_root
        self.read_vectors = read_vectors
        self.creation_order = creation_order

    def get(self, name):
        if name not in self._nodes:
            self._nodes[name] = self._get(name)
        return self._nodes[name]

    def child_path(self, name):
        return (self.path.rstrip('/') + '/' + name) if self.path != '/' else '/' + name


def classify(src, group, out, fmt):
    """Append the candidates found in group and its subgroups to out.  What decides is
    what the container declares: names, and the shape and type of each array; never
    the values in it."""
    names = group.names
    if len(names) > BIG_GROUP:
        decimal = all(n.isdigit() and n.isascii() for n in names)
        if decimal or not any(is_special_name(norm_name(n)) for n in names):
            # Named by object ids, or with no name of a layout's part: one vector per
            # object.  Its members are not opened here (a group may hold a million);
            # each one is checked as it is read.
            out.append(members_candidate(src, group, list(names), fmt))
            return
    norms = {n: norm_name(n) for n in names}
    nodes = {n: group.get(n) for n in names}
    arrays = {n: x for n, x in nodes.items() if isinstance(x, Array)}
    subgroups = [x for x in nodes.values() if isinstance(x, Group)]
    vectors = [n for n in names if n in arrays and arrays[n].kind == 'vector']
    used = set()
    found = len(out)
    lengths = [n for n in vectors if norms[n] in LENGTH_NAMES]
    offsets = [n for n in vectors if norms[n] in OFFSET_NAMES]
    idn = [n for n in vectors if norms[n] in ID_NAMES]
    if lengths or offsets:
        # lengths, offsets and ids are never candidates of their own
        used.update(lengths + offsets + idn)
        pool = [n for n in vectors if n not in lengths + offsets + idn]
        values = value_options(pool, norms)
        if values:
            size = arrays[lengths[0] if lengths else offsets[0]]
            ids = arrays[sorted(idn, key=lambda n: norms[n] != 'ids')[0]] if idn else None
            # The group is a ragged pair: its other vectors (CSR data, shape ...) are
            # side data, not candidates.
            used.update(pool)
            for v in values:
                name = group.path if len(values) == 1 else arrays[v].path
                out.append(ragged_candidate(src, name, arrays[v], size, bool(lengths), ids,
                                             fmt))
    else:
        regions = [n for n in vectors if norms[n] in REGION_NAMES]
        objs = [n for n in vectors if n not in regions and is_object_column(norms[n])]
        if len(regions) == 1 and len(objs) == 1 and \
                arrays[regions[0]].size == arrays[objs[0]].size:
            used.update((regions[0], objs[0]))
            out.append(columns_candidate(src, group.path, arrays[regions[0]],
                                          arrays[objs[0]], fmt))
    for n in vectors:
        if n not in used and is_lookup_name(norms[n]):
            used.add(n)
            out.append(lookup_candidate(src, arrays[n], fmt))
    for n, a in arrays.items():
        if a.kind in ('pairs', 'table', 'objects'):
            c = array_candidate(src, a, fmt)
            if c is not None:
                out.append(c)
                used.add(n)
    rest = [n for n in vectors if n not in used]
    if rest:
        alone = not used and not subgroups and len(out) == found
        if alone and (not group.is_root or len(rest) >= 2):
            # Members that would not open (a damaged header), and in a group named by
            # object ids any member that is no vector, are members all the same:
            # reading them says which and why, rather than leave their objects empty.
            others = [n for n in names if n not in rest]
            numbered = all(n.isdigit() and n.isascii() for n in names)
            odd = [n for n in others if nodes[n] is None or numbered]
            out.append(members_candidate(src, group, rest + odd, fmt))
        else:
            for n in rest:
                if not fractional(arrays[n]):
                    out.append(vector_candidate(src, arrays[n], fmt))
    for g in subgroups:
        classify(src, g, out, fmt)


def fractional(a, limit=4096):
    """Whether a small float array holds a value that is not a whole number (a voxel size,
    a scale: no candidate of its own)."""
    if a.dtype.kind != 'f' or a.size > limit:
        return False
    v = np.asarray(a.read(), np.float64)
    with np.errstate(invalid='ignore'):
        return not np.all(v == np.floor(v))


def columns_candidate(src, name, r, o, fmt):
    """Two vectors of one length: region ids and object ids."""
    def read():
        regions, objects, n = pair_table(src, r.read(), o.read(), '%s + %s' % (r.path, o.path))
        return regions, objects, n, ('%s columns %s (regions) and %s (objects), %d rows,'
                                     ' %d objects' % (fmt, r.path, o.path, r.size, n))
    return Candidate(name, 'region and object columns %s, %s' % (r.path, o.path), read,
                      (r.path, o.path))


def is_special_name(norm):
    return (norm in LENGTH_NAMES or norm in OFFSET_NAMES or norm in ID_NAMES
            or norm in REGION_NAMES or is_lookup_name(norm))


def value_options(pool, norms):
    for tier in VALUE_NAMES:
        named = [n for n in pool if norms[n] in tier]
        if named:
            return named
    return pool


def ragged_candidate(src, name, values, size, is_lengths, ids, fmt):
    def read():
        v = to_ids(values.read(), src, values.path)
        s = to_ids(size.read(), src, size.path)
        i = to_ids(ids.read(), src, ids.path) if ids is not None else None
        n_ids = 'ids %s has %d entries' % (ids.path, i.size) if i is not None else ''
        if is_lengths:
            if s.size and int(s.min()) < 0:
                raise src.error('%s holds a negative length (%d)' % (size.path, s.min()))
            if int(s.sum()) != v.size:
                raise src.error('the lengths in %s add up to %d but %s holds %d region ids'
                                % (size.path, s.sum(), values.path, v.size))
            lengths = s
        else:
            if s.size == 0:
                raise src.error('%s is empty (offsets need at least one value)' % size.path)
            if s[0] != 0:
                raise src.error('%s starts at %d; offsets must start at 0'
                                % (size.path, s[0]))
            if s.size > 1 and int(np.diff(s).min()) < 0:
                raise src.error('the offsets in %s decrease' % size.path)
            if i is not None:
                if i.size == s.size - 1:
                    closed = True
                elif i.size == s.size:
                    closed = False
                else:
                    raise src.error('%s, but %s has %d offsets (expected %d or %d)'
                                    % (n_ids, size.path, s.size, i.size, i.size + 1))
            else:
                closed = int(s[-1]) == v.size
            if closed and int(s[-1]) != v.size:
                raise src.error('the last offset in %s is %d but %s holds %d region ids'
                                % (size.path, s[-1], values.path, v.size))
            if not closed and int(s[-1]) > v.size:
                raise src.error('offset %d in %s is beyond the %d region ids in %s'
                                % (s[-1], size.path, v.size, values.path))
            lengths = np.diff(s) if closed else np.diff(np.append(s, v.size))
        if i is not None and i.size != lengths.size:
            raise src.error('%s, but %s lists %d objects'
                            % (n_ids, size.path, lengths.size))
        regions, objects, count = from_lengths(v, lengths, i)
        what = ('%s ragged arrays %s + %s%s, %d objects'
                % (fmt, values.path, size.path,
                   ' with ids %s' % ids.path if ids is not None else '', count))
        return regions, objects, count, what
    kind = 'lengths' if is_lengths else 'offsets'
    return Candidate(name, 'region ids %s with %s %s' % (values.path, kind, size.path), read,
                      (values.path,))


def lookup_candidate(src, a, fmt, one_based=False):
    def read():
        r, o, n = lookup_table(src, a.read(), a.path, one_based)
        return r, o, n, ('%s per-region lookup %s (%d entries: %s), %d objects'
                         % (fmt, a.path, a.size, 'element k is region k' if one_based
                            else 'index = region id', n))
    return Candidate(a.path, 'per-region lookup, %d entries' % a.size, read)


def vector_candidate(src, a, fmt):
    """A lone vector not named like a lookup: one object's region ids."""
    def read():
        regions = one_object(src, np.asarray(a.read()).reshape(-1), a.path)
        return (regions, np.ones(regions.size, np.int64), 1,
                '%s vector %s: the %d region ids of one object' % (fmt, a.path, regions.size))
    return Candidate(a.path, 'one vector of %d values' % a.size, read)


def one_object(src, values, where):
    """The region ids of one object; region 0 (unsegmented) is in no object, so a vector
    holding it is a per-region lookup that was not named like one."""
    regions = to_ids(values, src, where)
    if regions.size and not regions.all():
        raise src.error('%s holds region id 0, so it is not one object\'s region ids; a'
                        ' per-region lookup (index = region id, value = object id) is'
                        ' recognised by its name: %s' % (where, LOOKUP_HINT))
    return regions


def array_candidate(src, a, fmt):
    if a.kind == 'pairs':
        def read():
            v = np.asarray(a.read())
            rows = v.shape[1] == 2
            r, o = (v[:, 0], v[:, 1]) if rows else (v[0], v[1])
            regions, objects, n = pair_table(src, r, o, a.path)
            return regions, objects, n, ('%s region/object pairs %s (%s), %d objects'
                                         % (fmt, a.path, ' x '.join(map(str, v.shape)), n))
        return Candidate(a.path, '%s pairs' % ' x '.join(map(str, a.shape)), read)
    if a.kind == 'table':
        names = list(a.dtype.names)
        try:
            r, o = header_columns(src, names, a.path)
        except InputError:
            return None

        def read():
            v = a.read()
            regions, objects, n = pair_table(src, v[names[r]], v[names[o]], a.path)
            return regions, objects, n, ('%s table %s, fields %s (regions) and %s (objects),'
                                         ' %d objects' % (fmt, a.path, names[r], names[o], n))
        return Candidate(a.path, 'table with fields %s, %s' % (names[r], names[o]), read)
    if a.kind == 'objects':
        def read():
            v = np.asarray(a.read())
            regions, objects, n = object_array(src, v, lambda k: '%s[%d]' % (a.path, k))
            return regions, objects, n, ('%s array of region-id vectors %s, %d objects'
                                         % (fmt, a.path, n))
        return Candidate(a.path, 'array of %d vectors' % a.size, read)
    return None


def members_candidate(src, group, names, fmt):
    """A group holding one vector per object."""
    def read():
        ordered, ids, how = member_order(group, names)
        n = len(ordered)
        label = lambda k: group.child_path(ordered[k])     # noqa: E731
        if group.read_vectors is not None:
            values, lengths = group.read_vectors(ordered, label)
        else:
            parts = []
            for k, name in enumerate(ordered):
                a = group.get(name)
                if not isinstance(a, Array) or a.kind != 'vector':
                    raise src.error('%s is not a vector of region ids' % label(k))
                parts.append(np.asarray(a.read()).reshape(-1))
            lengths = np.fromiter((p.size for p in parts), np.int64, n)
            values = concatenate(src, parts, lengths, label)
        regions, objects, count = from_lengths(values, lengths, ids)
        return regions, objects, count, ('%s group %s of %d vector%s, one per object (%s)'
                                         % (fmt, group.path, count, 's'[:count != 1], how))
    return Candidate(group.path, 'group of %d vectors, one per object' % len(names), read)


_NATURAL_RE = re.compile(r'^(\D*)(\d+)(\D*)$')


def member_order(group, names):
    """(names in object order, explicit ids or None, how the ids were made)."""
    if names and all(n.isdigit() and n.isascii() for n in names):
        too_large = [n for n in names if len(n) > 18 and int(n) > INT64_MAX]
        if too_large:
            raise group.src.error('%s: object id %s is too large for a 64-bit integer'
                                  % (group.child_path(too_large[0]), too_large[0]))
        ids = np.array([int(n) for n in names], np.int64)
        order = np.argsort(ids, kind='stable')
        return [names[i] for i in order], ids[order], 'named by object id'
    created = group.creation_order() if group.creation_order is not None else None
    if created is not None:
        keep = set(names)
        return [n for n in created if n in keep], None, 'object ids 1..N in creation order'
    return natural_sorted(names), None, 'object ids 1..N in natural order of the names'


def natural_sorted(names):
    matches = [_NATURAL_RE.match(n) for n in names]
    if matches and all(matches) and len({(m.group(1), m.group(3)) for m in matches}) == 1 \
            and max(len(m.group(2)) for m in matches) <= 18:
        # One prefix and suffix around a number (neuron_001 ...): sort by the number.
        numbers = np.array([int(m.group(2)) for m in matches], np.int64)
        order = np.lexsort((np.array(names, dtype=str), numbers))
        return [names[i] for i in order]

    def key(n):
        return [(int(t) if i % 2 else t.lower()) for i, t in enumerate(re.split(r'(\d+)', n))]
    return sorted(names, key=key)
