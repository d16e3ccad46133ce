"""Lying HDF5 object headers, for tests: where each field that formats/h5vectors.py
decodes lies in a dataset's version 1 object header (rank, dimensions, datatype class,
sign, size, layout class, data address and size), and a way to overwrite one.  Written
from the HDF5 file-format specification, not from the decoder, so a shared wrong belief
does not pass twice.  Pure: numpy, h5py.
"""

import struct

import h5py
import numpy as np

DATASPACE, DATATYPE, LAYOUT = 1, 3, 8
# A lie for each field: (field, value); values chosen from the ones an adversarial probe
# found harmful, and the edges of each field's range.
LIES = (
    ('rank', 250), ('rank', 0), ('rank', 2), ('rank', 33),
    ('dim0', 2 ** 62), ('dim0', 2 ** 63 + 1), ('dim0', 2 ** 64 - 1), ('dim0', 0),
    ('dim0', 10 ** 6),
    ('type_size', 0), ('type_size', 3), ('type_size', 2 ** 31), ('type_size', 16),
    ('type_class', 1), ('type_class', 3), ('type_class', 9), ('type_class', 15),
    ('type_signed', 1),
    ('layout_class', 0), ('layout_class', 2), ('layout_class', 7),
    ('address', 0xFFFFFFFFFFFFFF00), ('address', 2 ** 63 - 8), ('address', 0),
    ('address', 2 ** 40), ('address', -1),
    ('size', 0), ('size', 2 ** 63), ('size', 2 ** 64 - 2), ('size', 4),
)


def object_address(path, dataset):
    """The file offset of a dataset's object header (no userblock)."""
    with h5py.File(path, 'r') as f:
        base = int(f.userblock_size)
        return base + h5py.h5o.get_info(f[dataset].id).addr


def fields(path, dataset):
    """{field: (file offset, width in bytes)} of the dataset's header."""
    at = object_address(path, dataset)
    with open(path, 'rb') as f:
        f.seek(at)
        head = f.read(4096)
    assert head[0] == 1, 'not a version 1 object header'
    nmsg, = struct.unpack_from('<H', head, 2)
    cursor = 16
    found = {}
    for _ in range(nmsg):
        mtype, msize = struct.unpack_from('<HH', head, cursor)
        data = cursor + 8
        if mtype == DATASPACE:
            version = head[data]
            found['rank'] = (at + data + 1, 1)
            dims = data + (8 if version == 1 else 4)
            found['dim0'] = (at + dims, 8)
        elif mtype == DATATYPE:
            found['type_class'] = (at + data, 1)        # low 4 bits; version above
            found['type_signed'] = (at + data + 1, 1)   # bit 3
            found['type_size'] = (at + data + 4, 4)
        elif mtype == LAYOUT:
            found['layout_class'] = (at + data + 1, 1)
            found['address'] = (at + data + 2, 8)
            found['size'] = (at + data + 10, 8)
        cursor = data + msize
    return found


def lie(path, dataset, field, value):
    """Overwrite one header field of ``dataset`` in the file at ``path``."""
    offset, width = fields(path, dataset)[field]
    with open(path, 'r+b') as f:
        f.seek(offset)
        old = f.read(width)
        if field == 'type_class':
            value = (old[0] & 0xF0) | (value & 0x0F)
        elif field == 'type_signed':
            value = (old[0] & ~0x08) | (0x08 if value else 0)
        f.seek(offset)
        f.write(int(value % (1 << (8 * width))).to_bytes(width, 'little'))


def h5py_reads(path, dataset):
    """What h5py reads from the dataset as a flat vector, or the exception it raises."""
    try:
        with h5py.File(path, 'r') as f:
            return np.asarray(f[dataset][()]).reshape(-1)
    except Exception as e:      # noqa: BLE001  (any failure is an answer here)
        return e
