"""Store metadata fuzzed key by key: every key of every metadata file of a precomputed,
OME-Zarr (v2 and v3) and N5 store, written here by the field's own libraries, set in
turn to values of the wrong type and range (and deleted; and each whole file replaced by
something that is no JSON object).  The rule: the store opens and reads, or
``open_store`` raises an InputError naming the store (and, for a value of the wrong
type or range, the file and the key); never another exception."""

import copy
import json
import os

import pytest

import stores
import tilesets
from chimerax.connectome.errors import InputError
from chimerax.connectome.formats.stores import open_store

SHAPE = (12, 20, 24)
FACTORS = [(2, 2, 1)]
WRONG = [None, 'yes', -1, 0, 1.5, 2 ** 40, [], [1, 2], [0, 0, 0], {}, True, 'uint37',
         [[1]], {'a': 1}]
DELETE = object()


def _write(kind, folder):
    levels = stores.pyramid(tilesets.labels(SHAPE, seed=3, max_id=900),
                            [tuple(reversed(f)) for f in FACTORS])
    if kind == 'precomputed':
        return stores.precomputed_tensorstore(folder / 'pc', levels, FACTORS,
                                              chunk=(8, 8, 4)), ['info']
    if kind == 'ome-zarr':
        return stores.ome_zarr(folder / 'z.zarr', levels, FACTORS), ['.zattrs', '0/.zarray']
    if kind == 'ome-zarr v3':
        return stores.ome_zarr_v3(folder / 'z3.zarr', levels, FACTORS), ['zarr.json',
                                                                         '0/zarr.json']
    return stores.n5(folder / 'n.n5', levels, FACTORS), ['attributes.json',
                                                         's0/attributes.json',
                                                         's1/attributes.json']


def key_paths(value, prefix=()):
    """Every key path in a JSON document (list items: the first only)."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield prefix + (k,)
            yield from key_paths(v, prefix + (k,))
    elif isinstance(value, list) and value:
        yield prefix + (0,)
        yield from key_paths(value[0], prefix + (0,))


def mutated(doc, path, wrong):
    doc = copy.deepcopy(doc)
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    if wrong is DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = wrong
    return doc


def check_open(path, what):
    """The store opens and a corner of each level reads, or an InputError names it."""
    try:
        store = open_store(path)
        for level in store.levels:
            level.read((0, 0, 0), tuple(min(n, 4) for n in level.shape))
    except InputError as e:
        assert os.path.basename(path) in str(e), (what, str(e))
        return str(e)
    except Exception as e:
        raise AssertionError('%s: %s: %s' % (what, type(e).__name__, e)) from e
    return None


@pytest.mark.parametrize('kind', ['precomputed', 'ome-zarr', 'ome-zarr v3', 'n5'])
def test_every_metadata_key_wrong_is_refused_by_name_or_opens(tmp_path, kind):
    path, files = _write(kind, tmp_path)
    assert check_open(path, 'the intact store') is None
    cases = 0
    for name in files:
        file = os.path.join(path, name)
        with open(file) as f:
            original = json.load(f)
        for whole in ([], 'yes', 1, [original]):
            with open(file, 'w') as f:
                json.dump(whole, f)
            check_open(path, '%s = %r' % (name, whole))
        for key in key_paths(original):
            for wrong in WRONG + [DELETE]:
                with open(file, 'w') as f:
                    json.dump(mutated(original, key, wrong), f)
                what = '%s %s = %r' % (name, key, 'deleted' if wrong is DELETE else wrong)
                message = check_open(path, what)
                cases += 1
                if message and ' key ' in message:
                    # A value of the wrong type or range: the file and the key by name.
                    file_named = message.split(': ')[1].split(' key ')[0]
                    assert file_named in name, (what, message)
        with open(file, 'w') as f:
            json.dump(original, f)
        assert check_open(path, 'restored') is None
    assert cases > 50


@pytest.mark.parametrize('name, doc, message', [
    ('info', {'scales': [1, 2]}, r'info key scales\[0\] must be a JSON object, not 1'),
    ('info', {'data_type': 'uint37', 'scales': [
        {'key': 'a', 'encoding': 'raw', 'resolution': [1, 1, 1], 'size': [4, 4, 4]}]},
     'info key data_type is not a voxel type, not "uint37"'),
    ('info', {'scales': [{'key': 'a', 'encoding': 'raw', 'size': [4, 4, 4]}]},
     r'info key scales\[0\].resolution is missing'),
    ('info', {'scales': [{'key': 'a', 'encoding': 'raw', 'resolution': [1, 1, 1],
                          'size': [0, 4, 4]}]},
     r'info key scales\[0\].size must be a list of 3 integers of at least 1, not \[0, 4, 4\]'),
    ('zarr.json', [1, 2], r'zarr.json must be a JSON object, not \[1, 2\]'),
    ('.zattrs', {'multiscales': 'yes'},
     '.zattrs key multiscales must be a non-empty list of JSON objects, not "yes"'),
    ('.zattrs', {'multiscales': [{'datasets': [{}]}]},
     r'.zattrs key multiscales\[0\].datasets\[0\].path is missing'),
    ('.zattrs', {'multiscales': [{'datasets': [{'path': '0', 'coordinateTransformations': [
        {'type': 'scale', 'scale': [1, 2]}]}]}]},
     r'.zattrs key multiscales\[0\].datasets\[0\].coordinateTransformations\[0\].scale must'
     r' have a value for each of z, y and x'),
    ('attributes.json', {'dimensions': [4, 4, 4], 'downsamplingFactors': [0, 0, 0]},
     'attributes.json key downsamplingFactors must be a list of 3 numbers of at least 1'),
    ('attributes.json', {'dimensions': 'big'},
     'attributes.json key dimensions must be a list of integers of at least 1, not "big"'),
])
def test_the_reported_metadata_tracebacks_are_named_errors(tmp_path, name, doc, message):
    folder = tmp_path / ('s.zarr' if 'z' in name else 's.n5' if 'attr' in name else 's')
    folder.mkdir()
    with open(folder / name, 'w') as f:
        json.dump(doc, f)
    fmt = 'precomputed' if name == 'info' else None
    with pytest.raises(InputError, match=message):
        open_store(str(folder), fmt)

