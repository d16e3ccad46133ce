"""The connectome as tables: one row per synapse, per partner of an object, per object of
a class (morphometry: pipeline/morphometry.py), or a connectivity matrix, as typed numpy
columns (``Table``), sorted, cut to the top rows, written as CSV or TSV (whole, through
formats/locks.py ``atomic_output``) and shown as HTML.

Every count is the one pipeline/wiring.py defines: a synapse is a row of the authors'
synapses file; the synapses between two partners are the rows naming both.  Rows of
``synapses`` are picked by pipeline/partners.py ``select``, partners counted by its
``partners``, so a table says what ``connectome synapses`` draws and ``connectome
partners`` logs.  Pure: numpy and the standard library.
"""

import csv
import html
import os
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..formats.locks import atomic_output
from . import partners as picking
from .wiring import CLASSES, NOUNS, counted

KINDS = ('synapses', 'partners', 'matrix', 'objects')
SYNAPSE_COLUMNS = ('synapse', 'axon', 'axonclass', 'dendrite', 'dendriteclass', 'spinehead',
                   'neuron', 'type', 'asiarea', 'x', 'y', 'z')
PARTNER_COLUMNS = ('class', 'id', 'category', 'synapses', 'asiarea')
# What a matrix's rows (presynaptic) and columns (postsynaptic) may be: objects of a
# class, or categories.
MATRIX_FROM = ('axon', 'axonclass')
MATRIX_TO = ('dendrite', 'spinehead', 'neuron', 'dendriteclass', 'synapsetype')
MATRIX_BY = ('count', 'asi')
MATRIX_CELLS = 10_000_000       # beyond this a dense matrix is refused (pick with of/onto)
SHOWN_ROWS = 100                # rows shown in the log; save FILE writes them all
DELIMITERS = {'.csv': ',', '.tsv': '\t', '.txt': '\t'}


@dataclass(frozen=True)
class Table:
    """A table: ``columns`` (names) and ``values`` (one numpy array per column: integers,
    floats with NaN for unknown, or text as an object array), ``kind`` (KINDS),
    ``title`` (one line for the log), ``object_class`` (the class the ``id_column``
    names, for showing a row's object; None if rows are no objects) and ``notes``."""
    kind: str
    title: str
    columns: tuple
    values: tuple
    object_class: str = None
    id_column: str = None
    notes: tuple = ()

    @property
    def rows(self):
        return int(self.values[0].size) if self.values else 0

    def column(self, name):
        if name not in self.columns:
            raise InputError('the %s table has no column %s (its columns: %s)'
                             % (self.kind, name, ', '.join(self.columns)))
        return self.values[self.columns.index(name)]

    def take(self, index):
        return Table(self.kind, self.title, self.columns,
                     tuple(v[index] for v in self.values), self.object_class,
                     self.id_column, self.notes)

    def sorted_by(self, name):
        """Sorted by a column: numbers largest first (unknown last), text A to Z; rows
        that tie keep their order."""
        v = self.column(name)
        if v.dtype.kind in 'iufb':
            key = -v.astype(np.float64)
            key[np.isnan(key)] = np.inf
        else:
            key = np.array([str(x).lower() for x in v.tolist()], dtype=object)
        return self._retitled(self.take(np.argsort(key, kind='stable')),
                              ', sorted by %s' % name)

    def top(self, n):
        return self._retitled(self.take(np.arange(min(int(n), self.rows))),
                              ', the first %d of %d rows' % (min(int(n), self.rows),
                                                            self.rows))

    def _retitled(self, table, more):
        return Table(table.kind, self.title + more, table.columns, table.values,
                     table.object_class, table.id_column, table.notes)

    def text_rows(self, stop=None):
        """The rows (up to ``stop``) as lists of text, as written to a file."""
        stop = self.rows if stop is None else min(stop, self.rows)
        cols = [_texts(v[:stop]) for v in self.values]
        return [list(r) for r in zip(*cols)] if cols else []

    def write(self, path, command='connectome table'):
        """Write the table to ``path``: TSV for .tsv or .txt, else CSV; whole or not at
        all (formats/locks.py)."""
        delimiter = DELIMITERS.get(os.path.splitext(path)[1].lower(), ',')
        with atomic_output(path, command, replace=True) as temp:
            with open(temp, 'w', newline='', encoding='utf-8') as f:
                out = csv.writer(f, delimiter=delimiter, lineterminator='\n')
                out.writerow(self.columns)
                step = 65536
                for start in range(0, self.rows, step):
                    part = self.take(np.arange(start, min(start + step, self.rows)))
                    out.writerows(part.text_rows())

    def html(self, shown=None):
        """The table as HTML for ChimeraX's log: the title, the first ``shown`` rows
        (SHOWN_ROWS) and a line saying how many more there are."""
        shown = SHOWN_ROWS if shown is None else shown
        head = ''.join('<th>%s</th>' % html.escape(c) for c in self.columns)
        body = ''.join('<tr>%s</tr>' % ''.join(
            '<td>%s</td>' % html.escape(t) for t in row) for row in self.text_rows(shown))
        text = '<p>%s</p>' % html.escape(self.title)
        text += ('<table border="1" cellpadding="2" style="border-collapse:collapse">'
                 '<tr>%s</tr>%s</table>' % (head, body))
        if self.rows > shown:
            text += ('<p>Showing the first %d of %d rows; save FILE writes them all.</p>'
                     % (shown, self.rows))
        return text


def _texts(values):
    """Column values as text: integers as they are, numbers to 6 significant digits,
    unknown (NaN) empty."""
    if values.dtype.kind in 'iub':
        return [str(x) for x in values.tolist()]
    if values.dtype.kind == 'f':
        return ['' if x != x else '%.6g' % x for x in values.tolist()]
    return ['' if x is None else str(x) for x in values.tolist()]


def names_of(wiring, category, codes):
    """Category names of ``codes`` (an object array; '' for code 0 or unknown)."""
    names = {c: n for n, c in wiring.category_names(category)}
    lookup = np.array([''] + [names.get(c, '') for c in range(1, max(names, default=0) + 1)],
                      dtype=object)
    codes = np.asarray(codes, np.int64)
    return lookup[np.where((codes >= 0) & (codes < lookup.size), codes, 0)]


# ---------------------------------------------------------------------------------------
# Synapses and partners

def synapse_table(wiring, picked, xyz, title):
    """One row per synapse picked (a boolean mask), SYNAPSE_COLUMNS; ``xyz`` the scene
    coordinates (nm) of the picked synapses' positions, in row order."""
    index = np.flatnonzero(picked)
    if not index.size:
        raise InputError('no synapse is %s' % title)
    xyz = np.asarray(xyz, np.float64).reshape(-1, 3)
    values = (index + 1, wiring.axon[index],
              names_of(wiring, 'axonclass', wiring.codes('axonclass')[index]),
              wiring.dendrite[index],
              names_of(wiring, 'dendriteclass', wiring.codes('dendriteclass')[index]),
              wiring.spinehead[index], wiring.neuron[index],
              names_of(wiring, 'type', wiring.type[index]),
              wiring.asiarea[index].astype(np.float64), xyz[:, 0], xyz[:, 1], xyz[:, 2])
    return Table('synapses', counted(index.size, 'synapse') + (' ' + title if title else ''),
                 SYNAPSE_COLUMNS, values, 'synapse', 'synapse')


def partner_table(wiring, name, object_id, direction='both'):
    """One row per partner of object ``object_id`` of class ``name`` (PARTNER_COLUMNS),
    as ``connectome partners`` counts them; asiarea sums the synapses' ASI areas."""
    table = picking.partners(wiring, name, object_id, direction)
    if not table.rows:
        notes = '; '.join(table.notes.values())
        raise InputError('%s %d has no partners%s' % (NOUNS[name], object_id,
                                                      ' (%s)' % notes if notes else ''))
    asi = {}            # (direction, partner id): sum of its synapses' known ASI areas
    for direction, mask in table.masks.items():
        name = 'axon' if direction == 'in' else 'dendrite'
        ids = wiring.ids(name)[mask].astype(np.int64)
        area = wiring.asiarea[mask].astype(np.float64)
        known = np.isfinite(area)
        if not ids.size:
            continue
        sums = np.bincount(ids[known], weights=area[known], minlength=int(ids.max()) + 1)
        has = np.bincount(ids[known], minlength=int(ids.max()) + 1) > 0
        for i in np.unique(ids).tolist():
            asi[(direction, i)] = float(sums[i]) if has[i] else np.nan
    asi = [asi.get((r.direction, r.id), np.nan) for r in table.rows]
    classes = sorted({r.name for r in table.rows})
    values = (np.array([r.name for r in table.rows], dtype=object),
              np.array([r.id for r in table.rows], np.int64),
              np.array([r.category or '' for r in table.rows], dtype=object),
              np.array([r.synapses for r in table.rows], np.int64), np.array(asi))
    return Table('partners', 'Partners of %s %d' % (NOUNS[name], object_id),
                 PARTNER_COLUMNS, values, classes[0] if len(classes) == 1 else None, 'id',
                 tuple(table.notes.values()))


# ---------------------------------------------------------------------------------------
# Connectivity matrices

def _side(wiring, name):
    """(per-synapse keys, label of key k) of a matrix side: object ids or category
    codes."""
    if name in ('axonclass', 'dendriteclass', 'synapsetype'):
        category = 'type' if name == 'synapsetype' else name
        return wiring.codes(category).astype(np.int64), \
            lambda keys: names_of(wiring, category, keys)
    return wiring.ids(name).astype(np.int64), lambda keys: np.array(
        [str(k) for k in keys.tolist()], dtype=object)


def _unique(keys):
    """(sorted distinct keys, index of each key among them): numpy.unique's answer,
    counted with a histogram when the keys are small ids (as object ids and category
    codes are), which takes a fraction of a sort's time."""
    top = int(keys.max(initial=0))
    if keys.size and keys.min() >= 0 and top <= 4 * keys.size + 1024:
        present = np.bincount(keys, minlength=top + 1) > 0
        return np.flatnonzero(present), (np.cumsum(present) - 1)[keys]
    return np.unique(keys, return_inverse=True)


def check_matrix(source, target):
    """InputError unless a matrix may have rows ``source`` and columns ``target``."""
    if source not in MATRIX_FROM:
        raise InputError('a matrix\'s rows are presynaptic: %s, not %s%s'
                         % (' or '.join(MATRIX_FROM), source,
                            ' (the authors\' files do not say which neuron an axon is of)'
                            if source == 'neuron' else ''))
    if target not in MATRIX_TO:
        raise InputError('a matrix\'s columns are postsynaptic: %s, not %s'
                         % (', '.join(MATRIX_TO), target))


def matrix_table(wiring, source, target, picked, by='count', title=''):
    """The connectivity matrix of the synapses picked: one row per ``source`` (an axon
    or an axon class: presynaptic), one column per ``target`` (a dendrite, spine head,
    neuron, dendrite class or synapse type: synapsetype), each cell the synapses between them
    (``by`` count) or the sum of their ASI areas (um^2, ``by`` asi).  Synapses with no
    such partner (id or category 0) are left out."""
    check_matrix(source, target)
    rows, row_label = _side(wiring, source)
    cols, col_label = _side(wiring, target)
    keep = picked & (rows > 0) & (cols > 0)
    if not keep.any():
        raise InputError('no synapse %sjoins a %s to a %s' % (
            title + ' ' if title else '', source, target))
    r_ids, r = _unique(rows[keep])
    c_ids, c = _unique(cols[keep])
    if r_ids.size * c_ids.size > MATRIX_CELLS:
        raise InputError('the %s x %s matrix would be %d x %d; pick rows or columns with of'
                         ' IDS and onto IDS, or use classes (axonclass, dendriteclass)'
                         % (source, target, r_ids.size, c_ids.size))
    if by == 'asi':
        w = wiring.asiarea[keep].astype(np.float64)
        w = np.where(np.isfinite(w), w, 0.0)
    else:
        w = None
    cells = np.bincount(r * c_ids.size + c, weights=w,
                        minlength=r_ids.size * c_ids.size).reshape(r_ids.size, c_ids.size)
    if by != 'asi':
        cells = cells.astype(np.int64)
    labels = col_label(c_ids)
    columns = (source,) + tuple(labels.tolist())
    if len(set(columns)) != len(columns):
        columns = (source,) + tuple('%s %s' % (target, x) for x in labels.tolist())
    values = (row_label(r_ids),) + tuple(cells[:, k] for k in range(c_ids.size))
    what = 'synapses' if by != 'asi' else 'ASI area (um^2)'
    return Table('matrix', '%s x %s, %s%s' % (source, target, what,
                                              ' ' + title if title else ''),
                 columns, values, source if source in CLASSES else None, source)
