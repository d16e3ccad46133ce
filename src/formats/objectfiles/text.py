"""Text object files (CSV, TSV, whitespace; plain or gzip): region/object rows under a
header naming the columns, one object per line (under a header of one region-ids name,
or none), or ``ID: regions`` lines; the header and the number of values per line
decide, never the values.  Parsed with numpy in
blocks of TEXT_BLOCK bytes, with no Python loop per line.  Pure: numpy.
"""

import gzip
import re
import warnings

import numpy as np

from .common import (REGION_NAMES, TWO53, count_distinct, from_lengths,
                     header_columns, header_names, norm_name, to_ids)

TEXT_BLOCK = 1 << 25            # bytes of text parsed at a time


_SEPARATORS = b' \t\r\v\f,;"\''
_SPACE_TABLE = bytes.maketrans(_SEPARATORS, b' ' * len(_SEPARATORS))
_SPACE_COLON_TABLE = bytes.maketrans(_SEPARATORS + b':', b' ' * (len(_SEPARATORS) + 1))
_NUMBER_TOKEN_RE = re.compile(rb'[^\s,;"\':]+')


def read_gzip(src):
    with gzip.open(src.path, 'rb') as f:
        data = f.read()
    return read_text(src, data, 'gzip-compressed ')


def read_text(src, data=None, prefix=''):
    if data is None:
        with open(src.path, 'rb') as f:
            data = f.read()
    if data.startswith(b'\xef\xbb\xbf'):
        data = data[3:]
    elif data.startswith((b'\xff\xfe', b'\xfe\xff')):
        data = data.decode('utf-16').encode('utf-8')
    if b'\0' in data:
        raise src.error('unknown format (binary data, not HDF5, MATLAB, NumPy or text)')
    if not re.search(rb"\S", data):
        raise src.error('is empty')
    first_line = 1
    header = None
    # Comment lines at the top; the last one may be a header (numpy.savetxt writes "# ...").
    while data[:1024].lstrip(b' \t').startswith(b'#'):
        end = data.find(b'\n')
        line = data[:end] if end >= 0 else data
        names = header_names(line.lstrip(b' \t')[1:])
        if len(names) >= 2 and any(norm_name(n) in REGION_NAMES for n in names):
            header = names
        data = data[end + 1:] if end >= 0 else b''
        first_line += 1
    line_numbers = None
    if b'#' in data:
        lines = data.split(b'\n')
        keep = [i for i, line in enumerate(lines) if not line.lstrip().startswith(b'#')]
        line_numbers = np.array(keep, np.int64) + first_line
        data = b'\n'.join(lines[i] for i in keep)
    # A first line with a token that is not a number is a header.
    end = data.find(b'\n')
    line = data[:end] if end >= 0 else data
    tokens = _NUMBER_TOKEN_RE.findall(line)
    if any(not _is_number(t) for t in tokens):
        header = header_names(line)
        data = data[end + 1:] if end >= 0 else b''
        if line_numbers is not None:
            line_numbers = line_numbers[1:]
        else:
            first_line += 1
    if line_numbers is None:
        base = first_line

        def line_no(i):
            return base + i
    else:
        def line_no(i):
            return int(line_numbers[i]) if i < line_numbers.size else int(line_numbers[-1]) + 1
    sample = data[:4096]
    kind = prefix + ('CSV' if b',' in sample else 'TSV' if b'\t' in sample else 'text')
    # A header of one region-ids name declares one object per line.
    per_line = header is not None and len(header) == 1 and norm_name(header[0]) in REGION_NAMES
    if per_line:
        header_line, header = header[0], None
    colon = header is None and not per_line and b':' in data
    select = None
    if header is not None:
        r, o = header_columns(src, header, 'the header')
        select = (len(header), r, o)
    counts, values, ids = _parse_text(src, data, colon, line_no, select)
    if header is not None:
        rows = values.reshape(-1, 2)
        objects = rows[:, 1]
        return (rows[:, 0], objects, count_distinct(objects),
                '%s region/object rows, header %s (regions: %s, objects: %s), %d rows'
                % (kind, ','.join(header), header[r], header[o], rows.shape[0]))
    if colon:
        regions, objects, count = from_lengths(values, counts, ids)
        return regions, objects, count, ("%s, one object per line as 'ID: regions', %d objects"
                                          % (kind, count))
    nonblank = np.flatnonzero(counts)
    n = int(nonblank[-1]) + 1 if nonblank.size else 0     # trailing blank lines aside
    if n and not per_line and (counts[:n] == 2).all():
        # Region,object rows or one object of two regions per line: nothing declares
        # which, and the numbers are not read to guess.
        raise src.error('every line holds two numbers: region,object rows or one object of'
                        ' two regions per line?  Add a header naming the columns'
                        ' (region_id,object_id) if they are rows, or one naming the region'
                        ' ids (region_ids) if each line is an object')
    regions, objects, count = from_lengths(values, counts)
    return regions, objects, count, '%s, one object per line (line k = object k)%s, %d objects' \
        % (kind, ', header %s' % header_line if per_line else '', count)


def _is_number(token):
    try:
        float(token)
        return True
    except ValueError:
        return False


def _parse_text(src, data, colon, line_no, select=None):
    """(tokens per line, int64 values, ids per line or None) of text, vectorised in blocks.
    With ``colon`` every non-blank line is ``ID: values`` and blank lines are dropped."""
    counts, values, ids = [], [], []
    pos, line_base = 0, 0
    size = len(data)
    while pos < size:
        end = min(size, pos + TEXT_BLOCK)
        if end < size:
            cut = data.rfind(b'\n', pos, end)
            if cut < 0:
                cut = data.find(b'\n', end)
            end = cut + 1 if cut >= 0 else size
        c, v, i, lines = _parse_block(src, data[pos:end], colon, line_base, line_no, select)
        line_base += lines
        counts.append(c)
        values.append(v)
        if i is not None:
            ids.append(i)
        pos = end
    counts = np.concatenate(counts) if counts else np.zeros(0, np.int64)
    values = np.concatenate(values) if values else np.zeros(0, np.int64)
    return counts, values, (np.concatenate(ids) if colon else None)


def _byte_classes(colon):
    """Byte -> 0 separator, 1 digit or sign, 2 other character of a token, 3 newline."""
    table = np.full(256, 2, np.uint8)
    table[:33] = 0
    table[48:58] = 1
    table[[43, 45]] = 1
    for c in _SEPARATORS + (b':' if colon else b''):
        table[c] = 0
    table[10] = 3
    return table


_CLASSES = (_byte_classes(False), _byte_classes(True))


def _parse_block(src, block, colon, line_base, line_no, select=None):
    """(tokens per line, int64 values, ids or None, number of lines) of a block of whole
    lines, with numpy: tokens are found from byte classes, numbers parsed by
    np.fromstring, the two checked against each other."""
    a = np.frombuffer(block, np.uint8)
    cls = _CLASSES[bool(colon)][a]
    nl = np.flatnonzero(cls == 3)
    n_lines = nl.size + (0 if a[-1] == 10 else 1)
    line_ends = nl if n_lines == nl.size else np.append(nl, a.size)
    tok = cls == 1
    tok |= cls == 2
    integers = not np.any(cls == 2)
    del cls
    padded = np.zeros(a.size + 2, np.int8)
    padded[1:-1] = tok
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    del padded
    starts, ends = edges[0::2], edges[1::2]          # token i is block[starts[i]:ends[i]]
    counts = np.diff(np.searchsorted(starts, line_ends), prepend=0)

    def where(i):
        return 'line %d' % line_no(line_base + int(np.searchsorted(nl, starts[i])))
    if starts.size == 0:
        values = np.zeros(0, np.int64)  # (np.fromstring makes [0] of a blank string)
    else:
        text = block.translate(_SPACE_COLON_TABLE if colon else _SPACE_TABLE)
        with warnings.catch_warnings():
            warnings.simplefilter('error')
            try:
                values = np.fromstring(text, dtype=np.int64 if integers else np.float64,
                                       sep=' ')
            except (DeprecationWarning, ValueError):
                values = None
        del text
    if values is None or values.size != starts.size:
        _bad_token(src, block, colon, line_base, line_no)
        raise src.error('line %d and after cannot be parsed as numbers'
                        % line_no(line_base))
    if select is not None:
        # Rows of a table with a header: keep the region and object columns.
        ncol, r, o = select
        bad = np.flatnonzero((counts != 0) & (counts != ncol))
        if bad.size:
            raise src.error('line %d has %d values but the header names %d columns'
                            % (line_no(line_base + int(bad[0])), counts[bad[0]], ncol))
        if ncol != 2 or (r, o) != (0, 1):
            chosen = np.arange(starts.size).reshape(-1, ncol)[:, [r, o]].reshape(-1)
            values, starts, ends = values[chosen], starts[chosen], ends[chosen]
    if integers:
        # np.fromstring saturates: check the tokens of 19 characters or more.
        for k in np.flatnonzero(ends - starts >= 19):
            token = block[starts[k]:ends[k]]
            if not -2 ** 63 <= int(token) < 2 ** 63:
                raise src.error('%s: %s is too large for a 64-bit integer'
                                % (where(k), token.decode()))
    else:
        # Before to_ids, which refuses them too, to say how to write them.
        with np.errstate(invalid='ignore'):
            big = np.flatnonzero((np.abs(values) > TWO53) & (np.abs(values) < 2.0 ** 63)
                                 & (values == np.floor(values)))
        if big.size:
            raise src.error('%s: %d is too large to be read exactly from a decimal number;'
                            ' write integers without a decimal point or exponent'
                            % (where(int(big[0])), int(values[big[0]])))
        values = to_ids(values, src, 'the text', where)
    if not colon:
        return counts, values, None, n_lines
    nonblank = counts > 0
    cpos = np.flatnonzero(a == 58)
    cline = np.searchsorted(nl, cpos)
    per_line = np.bincount(cline, minlength=n_lines)
    first = np.cumsum(counts) - counts
    wrong = np.flatnonzero(per_line != nonblank)
    before = np.searchsorted(starts, cpos) - first[cline]
    if wrong.size or np.any(before != 1):
        k = int(wrong[0]) if wrong.size else int(cline[np.argmax(before != 1)])
        raise src.error("line %d: with 'ID: regions' lines every non-blank line needs one"
                        " object id before a colon" % line_no(line_base + k))
    keep = np.ones(values.size, bool)
    keep[first[nonblank]] = False
    return counts[nonblank] - 1, values[keep], values[first[nonblank]], n_lines


def _bad_token(src, block, colon, line_base, line_no):
    """Raise the error naming the first token of the block that is not a number."""
    pattern = rb'[^\s,;"\':]+' if colon else rb'[^\s,;"\']+'
    for k, line in enumerate(block.split(b'\n')):
        for t in re.findall(pattern, line):
            try:
                int(t)
                continue
            except ValueError:
                pass
            try:
                v = float(t)
            except ValueError:
                raise src.error('line %d: %r is not a number'
                                % (line_no(line_base + k), t.decode('utf-8', 'replace')))
            if not np.isfinite(v) or v != np.floor(v):
                raise src.error('line %d: %s is not a whole number'
                                % (line_no(line_base + k), t.decode('utf-8', 'replace')))
