"""formats/objectfiles: every object-file layout round-trips to the same (region, object) pairs,
the synthetic dataset's object files say exactly what its ground truth says, and every
bad input is an InputError that names the file.  Pure: no ChimeraX session.

``python tests/portable/test_objectfiles.py`` prints read speeds at 100,000 objects (the figures
in docs/performance.md).
"""

import gzip
import os
import sys

import h5py
import hdf5storage
import numpy as np
import pytest
import scipy.io

if __name__ == '__main__':      # the speed report, run outside pytest
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'common'))
    import package
    package.import_from_source()

from chimerax.connectome.formats import matfile as matlab, objectfiles
from chimerax.connectome.errors import InputError
from chimerax.connectome.formats.objectfiles import read_object_file
from chimerax.connectome.demo import CLASSES, FILE_STEMS, generate_dataset, read_truth

import h5lies

# The objects used by most layouts: ids 1..4, object 3 empty.
OBJECTS = [[11, 12, 13], [21], [], [41, 42]]


def memberships(objects, ids=None):
    """Sorted (region, object) pairs of a list of region lists."""
    ids = range(1, len(objects) + 1) if ids is None else ids
    return sorted((int(r), int(i)) for i, regions in zip(ids, objects) for r in regions)


def pairs(table):
    assert table.regions.dtype == np.int64 and table.objects.dtype == np.int64
    assert table.regions.shape == table.objects.shape and table.regions.ndim == 1
    return sorted(zip(table.regions.tolist(), table.objects.tolist()))


def check(path, expected, count, variable=None, words=()):
    t = read_object_file(path, variable)
    assert pairs(t) == expected, t.description
    assert t.count == count, t.description
    assert t.description.startswith(os.path.basename(str(path)) + ': ')
    for w in words:
        assert w in t.description, t.description
    return t


def error(path, variable=None):
    """The InputError message for path; it must name the file."""
    with pytest.raises(InputError) as e:
        read_object_file(path, variable)
    text = str(e.value)
    assert os.path.basename(str(path)) in text, text
    assert e.value.path == str(path)
    return text


def h5(path, build, **kw):
    with h5py.File(path, 'w', **kw) as f:
        build(f)
    return path


# ---------------------------------------------------------------------------------------
# The synthetic dataset's object files

@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp('objectfiles') / 'demo'
    generate_dataset(folder, size='small', seed=0)
    return folder, read_truth(folder)


@pytest.mark.parametrize('suffix', ['hdf5', 'mat', 'csv'])
@pytest.mark.parametrize('name', CLASSES)
def test_synthetic_object_files_match_the_truth(demo, name, suffix):
    folder, truth = demo
    t = read_object_file(folder / 'objects' / ('%s.%s' % (FILE_STEMS[name], suffix)))
    lookup = np.zeros(truth['maximum_region_id'] + 1, np.int32)
    lookup[t.regions] = t.objects
    assert np.array_equal(lookup, truth[name]), t.description
    assert np.unique(t.regions).size == t.regions.size
    assert t.count == int(truth[name].max())


def test_synthetic_descriptions_say_what_was_read(demo):
    folder, _ = demo
    expect = {'axons.hdf5': 'ragged arrays /region_ids + /lengths',
              'axons.mat': "v7.3 cell array 'axons'",
              'dendrites.csv': 'header region_id,object_id'}
    for name, words in expect.items():
        assert words in read_object_file(folder / 'objects' / name).description


# The demo's one example of each other layout, file: (class, words of its description)
OTHER_LAYOUTS = {
    'presynapses-offsets.hdf5': ('presynapse', '/offsets'),
    'postsynapses-ids.hdf5': ('postsynapse', 'with ids /ids'),
    'dendrites-group.hdf5': ('dendrite', 'named by object id'),
    'neurons-group.hdf5': ('neuron', 'natural order'),
    'spineheads-lookup.hdf5': ('spinehead', 'lookup /object_id'),
    'axons-pairs.hdf5': ('axon', 'pairs /pairs'),
    'axons-columns.hdf5': ('axon', 'columns /region_ids (regions) and /axon_ids'),
    'axons-table.hdf5': ('axon', 'table /axons'),
    'axons-vlen.hdf5': ('axon', 'array of region-id vectors /axons'),
    'neuron1-vector.hdf5': ('neuron', 'region ids of one object'),
    'dendrites-struct.mat': ('dendrite', 'field segIds, ids from field id'),
    'neurons-struct.mat': ('neuron', 'field segIds'),
    'spineheads-lookup.mat': ('spinehead', 'per-region lookup'),
    'axons-pairs.mat': ('axon', 'region/object pairs'),
    'axons-lines.csv': ('axon', 'one object per line'),
    'axons-ids.txt': ('axon', "'ID: regions'"),
    'spineheads-lookup.npy': ('spinehead', 'NumPy per-region lookup'),
    'axons-ragged.npz': ('axon', 'NumPy .npz ragged arrays'),
}


def test_synthetic_other_layouts_match_the_truth(demo):
    folder, truth = demo
    other = folder / 'objects' / 'other-layouts'
    assert sorted(os.listdir(other)) == sorted(OTHER_LAYOUTS)
    for name, (cls, words) in OTHER_LAYOUTS.items():
        t = read_object_file(other / name)
        assert words in t.description, t.description
        lookup = np.zeros(truth['maximum_region_id'] + 1, np.int32)
        lookup[t.regions] = t.objects
        if name == 'neuron1-vector.hdf5':
            assert np.array_equal(lookup > 0, truth[cls] == 1), name
        else:
            assert np.array_equal(lookup, truth[cls]), name
            assert t.count == int(truth[cls].max()), name


# ---------------------------------------------------------------------------------------
# HDF5

def test_hdf5_group_of_datasets_named_by_id(tmp_path):
    def build(f):
        g = f.create_group('dendrites')
        g['7'] = np.array([11, 12, 13], np.uint32)
        g['10'] = np.array([[21.0], [22.0]])               # column vector of doubles
        g['2'] = np.zeros(0, np.uint16)                     # empty object
        g['3'] = h5py.Empty('i4')                           # null dataspace: empty too
        g.attrs['note'] = 'ignored'
    t = check(h5(tmp_path / 'd.h5', build),
              memberships([[11, 12, 13], [21, 22]], [7, 10]), 4, words=['named by object id'])
    assert t.objects.tolist() == [7, 7, 7, 10, 10]         # listed in id order


def test_hdf5_group_natural_and_creation_order(tmp_path):
    def natural(f):
        for name, regions in (('neuron_10', [5]), ('neuron_2', [3]), ('neuron_1', [1, 2])):
            f['neurons/' + name] = regions
    check(h5(tmp_path / 'n.h5', natural), memberships([[1, 2], [3], [5]]), 3,
          words=['natural order'])

    def mixed(f):
        for name in ('b10', 'a', 'b9'):
            f['objs/' + name] = [len(name)]
    t = read_object_file(h5(tmp_path / 'm.h5', mixed))
    assert t.regions.tolist() == [1, 2, 3] and t.objects.tolist() == [1, 2, 3]   # a b9 b10

    def created(f):
        g = f.create_group('axons', track_order=True)
        for name, regions in (('zeta', [1]), ('alpha', [2]), ('mid', [3])):
            g[name] = regions
    check(h5(tmp_path / 'c.h5', created), memberships([[1], [2], [3]]), 3,
          words=['creation order'])


def test_hdf5_datasets_at_the_root_are_a_group_of_objects(tmp_path):
    def build(f):
        f['1'] = [11, 12]
        f['2'] = [21]
    check(h5(tmp_path / 'root.h5', build), memberships([[11, 12], [21]]), 2)


def test_hdf5_big_group_is_recognised_from_its_names(tmp_path):
    rng = np.random.default_rng(1)
    objects = [rng.choice(10 ** 6, rng.integers(0, 5), replace=False) + 1 for _ in range(300)]

    def build(f):
        g = f.create_group('a')
        for k, regions in enumerate(objects, start=1):
            g['obj_%d' % k] = regions.astype(np.int64)
        f['b/x'] = [1]                  # a second candidate
    path = h5(tmp_path / 'big.h5', build)
    check(path, memberships(objects), 300, variable='a')
    assert '/a (group of 300 vectors' in error(path)


def test_hdf5_ragged_lengths_offsets_and_ids(tmp_path):
    values = np.array([11, 12, 13, 21, 41, 42], np.uint32)
    lengths = np.array([3, 1, 0, 2])
    offsets = np.array([0, 3, 4, 4, 6])
    expected = memberships(OBJECTS)
    check(h5(tmp_path / 'l.h5', lambda f: f.update(region_ids=values, lengths=lengths)),
          expected, 4, words=['/region_ids + /lengths'])
    check(h5(tmp_path / 'c.h5', lambda f: f.update(segIds=values, counts=lengths)),
          expected, 4)
    check(h5(tmp_path / 'o.h5', lambda f: f.update(regions=values, offsets=offsets)),
          expected, 4, words=['/offsets'])
    # N starts: the last start is below the number of region ids
    check(h5(tmp_path / 's.h5', lambda f: f.update(regions=values[:5], starts=offsets[:4])),
          memberships([[11, 12, 13], [21], [], [41]]), 4)
    # N starts with ids: the ids' length decides (the last object is empty)
    check(h5(tmp_path / 'si.h5', lambda f: f.update(region_ids=values, indptr=offsets,
                                                    ids=[5, 6, 7, 8, 9])),
          memberships(OBJECTS + [[]], [5, 6, 7, 8, 9]), 5)
    ids = np.array([40, 30, 20, 10])
    check(h5(tmp_path / 'i.h5', lambda f: f.update(region_ids=values.astype(float),
                                                   lengths=lengths, object_ids=ids)),
          memberships(OBJECTS, ids), 4, words=['with ids /object_ids'])
    # scipy CSR-like arrays: indices are the region ids, data is ignored
    check(h5(tmp_path / 'csr.h5', lambda f: f.update(data=np.ones(6), indices=values,
                                                     indptr=offsets, shape=[4, 50])),
          expected, 4, words=['/indices'])

    def nested(f):
        f['voxel_size'] = [11.24, 11.24, 28.0]     # a fraction: no candidate
        f['axons/region_ids'] = values
        f['axons/lengths'] = lengths
        f['dendrites/region_ids'] = [99]
        f['dendrites/lengths'] = [1]
        f.attrs['version'] = 2
    path = h5(tmp_path / 'n.h5', nested)
    text = error(path)
    assert 'several candidates' in text and '/axons' in text and '/dendrites' in text, text
    assert 'voxel_size' not in text, text
    check(path, expected, 4, variable='axons')
    check(path, expected, 4, variable='/axons/region_ids')
    check(path, [(99, 1)], 1, variable='/dendrites/')


def test_hdf5_lookup(tmp_path):
    lookup = np.zeros(50, np.int32)
    for k, regions in enumerate(OBJECTS, start=1):
        lookup[regions] = k
    expected = memberships(OBJECTS)
    check(h5(tmp_path / 'a.h5', lambda f: f.update(object_id=lookup)), expected, 3,
          words=['lookup /object_id'])
    check(h5(tmp_path / 'b.h5', lambda f: f.update(segToAxon=lookup.astype(float))),
          expected, 3)
    # Its name declares a lookup, never its values: a vector named otherwise is one
    # object's region ids, and region 0 says it cannot be.
    text = error(h5(tmp_path / 'unnamed.h5', lambda f: f.update(axon=lookup.astype(float))))
    assert '/axon holds region id 0' in text and 'seg2agglo' in text, text
    check(h5(tmp_path / 'c.h5', lambda f: f.update(seg2agglo=lookup[1:])),
          [(r - 1, o) for r, o in expected], 3)     # a lookup by its name


def test_hdf5_pairs_columns_tables_vlen_and_lone_vectors(tmp_path):
    rows = np.array(memberships(OBJECTS))
    expected = memberships(OBJECTS)
    check(h5(tmp_path / 'p.h5', lambda f: f.update(pairs=rows)), expected, 3,
          words=['pairs /pairs (6 x 2)'])
    check(h5(tmp_path / 't.h5', lambda f: f.update(pairs=rows.T.astype(np.uint64))),
          expected, 3)
    check(h5(tmp_path / 'col.h5', lambda f: f.update(segIds=rows[:, 0], axonIds=rows[:, 1])),
          expected, 3, words=['columns'])
    check(h5(tmp_path / 'col2.h5', lambda f: f.update(object_ids=rows[:, 1],
                                                      region_ids=rows[:, 0])), expected, 3)
    table = np.zeros(6, dtype=[('object_id', 'i4'), ('score', 'f4'), ('region_id', 'u8')])
    table['region_id'], table['object_id'] = rows[:, 0], rows[:, 1]
    check(h5(tmp_path / 'tab.h5', lambda f: f.update(table=table)), expected, 3,
          words=['table'])

    def vlen(f):
        d = f.create_dataset('objects', (4,), dtype=h5py.vlen_dtype(np.uint32))
        for k, regions in enumerate(OBJECTS):
            d[k] = regions
    check(h5(tmp_path / 'v.h5', vlen), expected, 4)
    check(h5(tmp_path / 'one.h5', lambda f: f.update(neuron=[5, 9, 7])),
          [(5, 1), (7, 1), (9, 1)], 1, words=['one object'])


def test_hdf5_in_a_userblock_and_variable_naming_a_dataset(tmp_path):
    path = tmp_path / 'ub.h5'
    with h5py.File(path, 'w', userblock_size=1024) as f:
        f['a'] = [1, 2]
        f['b'] = [3]
        f['c/x'] = [4]
    with open(path, 'r+b') as f:
        f.write(b'not a MAT-file header')
    text = error(path)
    assert 'several candidates: /a' in text and '/b' in text and '/c' in text, text
    check(path, [(1, 1), (2, 1)], 1, variable='a')
    check(path, [(4, 1)], 1, variable='c')
    check(path, [(4, 1)], 1, variable='/c/x')


def test_hdf5_passes_negative_and_zero_ids_through(tmp_path):
    check(h5(tmp_path / 'neg.h5', lambda f: f.update(region_ids=[-5, 0, 3], lengths=[2, 1])),
          [(-5, 1), (0, 1), (3, 2)], 2)
    big = np.array([2 ** 63 - 1], np.uint64)
    check(h5(tmp_path / 'big.h5', lambda f: f.update(region_ids=big, lengths=[1])),
          [(2 ** 63 - 1, 1)], 1)


# ---------------------------------------------------------------------------------------
# MATLAB v7.3 (our writer, the layout MATLAB uses) and hdf5storage

def mat73(path, variables):
    matlab.write_mat(path, variables)
    return path


def test_mat73_cell_arrays(tmp_path):
    cells = [np.array(r, float) for r in OBJECTS]
    check(mat73(tmp_path / 'c.mat', {'axons': matlab.Cell(cells)}), memberships(OBJECTS), 4,
          words=["MATLAB v7.3 cell array 'axons' (1 x 4)"])
    # integer classes, row vectors, a 2 x 2 cell (MATLAB's column-major order)
    values = [np.array(r, np.int32).reshape(1, -1) for r in OBJECTS]
    check(mat73(tmp_path / 'i.mat', {'c': matlab.Cell(values, (2, 2))}),
          memberships(OBJECTS), 4, words=['(2 x 2)'])     # c{k}: linear index k
    check(mat73(tmp_path / 'e.mat', {'c': matlab.Cell([])}), [], 0)
    big = np.array([2 ** 40 + 1], np.uint64)
    check(mat73(tmp_path / 'u.mat', {'c': matlab.Cell([big])}), [(2 ** 40 + 1, 1)], 1)


def test_mat73_struct_arrays(tmp_path):
    records = [{'segIds': np.array(r, float), 'id': float(10 * k),
                'somaPosition': np.array([[1.0, 2.0, 3.0]])}
               for k, r in enumerate(OBJECTS, start=1)]
    path = mat73(tmp_path / 's.mat', {'dendrites': matlab.StructArray(records)})
    check(path, memberships(OBJECTS, [10, 20, 30, 40]), 4,
          words=["struct array 'dendrites' (1 x 4), field segIds, ids from field id"])
    check(path, memberships(OBJECTS, [10, 20, 30, 40]), 4, variable='dendrites.segIds')
    check(path, memberships([[1, 2, 3]] * 4, [10, 20, 30, 40]), 4,
          variable='dendrites.somaPosition')
    # one record: MATLAB stores a 1 x 1 struct with its fields directly
    one = mat73(tmp_path / 'one.mat', {'neurons': matlab.StructArray(records[:1])})
    check(one, memberships(OBJECTS[:1], [10]), 1)
    check(one, memberships(OBJECTS[:1], [10]), 1, variable='neurons.segIds')
    # no region-like name: the only plain numeric field is used
    plain = [{'members': np.array(r, float), 'centroid': np.ones((1, 3))} for r in OBJECTS]
    check(mat73(tmp_path / 'p.mat', {'agglos': matlab.StructArray(plain)}),
          memberships(OBJECTS), 4, words=['field members'])
    # two candidates: the error lists them, variable picks one
    two = [{'a': np.array(r, float), 'b': np.array([7.0])} for r in OBJECTS]
    path = mat73(tmp_path / 'two.mat', {'x': matlab.StructArray(two)})
    text = error(path)
    assert 'x.a' in text and 'x.b' in text and 'choose one with variable' in text, text
    check(path, memberships(OBJECTS), 4, variable='x.a')


def test_mat73_namespace_structs_numeric_variables_and_hdf5storage(tmp_path):
    cells = matlab.Cell([np.array(r, float) for r in OBJECTS])
    ns = matlab.StructArray([{'axons': cells, 'version': 2.0}])
    check(mat73(tmp_path / 'ns.mat', {'data': ns, 'flags': np.array([True, False]),
                                      'voxelSize': np.array([11.24, 11.24, 28.0])}),
          memberships(OBJECTS), 4, words=["'data.axons'"])
    lookup = np.zeros(49)                          # MATLAB lookup: element k is region k
    for k, regions in enumerate(OBJECTS, start=1):
        lookup[np.array(regions, int) - 1] = k
    check(mat73(tmp_path / 'lu.mat', {'segToAxon': lookup}), memberships(OBJECTS), 3,
          words=['lookup'])
    rows = np.array(memberships(OBJECTS), float)
    check(mat73(tmp_path / 'pairs.mat', {'pairs': rows}), memberships(OBJECTS), 3)
    check(mat73(tmp_path / 'one.mat', {'neuron': np.array([5.0, 6.0])}),
          [(5, 1), (6, 1)], 1)
    # files written by hdf5storage (MATLAB-compatible v7.3)
    cell = np.empty((1, 4), object)
    for k, regions in enumerate(OBJECTS):
        cell[0, k] = np.array(regions, float)
    struct = np.zeros((1, 4), dtype=[('segIds', 'O'), ('id', 'O')])
    for k, regions in enumerate(OBJECTS):
        struct[0, k] = (np.array(regions, float), float(k + 5))
    path = str(tmp_path / 'hs.mat')
    hdf5storage.savemat(path, {'axons': cell, 'dendrites': struct, 'info': {'x': cell}},
                        format='7.3')
    assert 'several candidates' in error(path)
    check(path, memberships(OBJECTS), 4, variable='axons')
    check(path, memberships(OBJECTS, [5, 6, 7, 8]), 4, variable='dendrites')
    check(path, memberships(OBJECTS), 4, variable='info.x')


def test_mat73_elements_that_are_not_vectors(tmp_path):
    bad = {'nested': matlab.Cell([matlab.Cell([np.array([1.0])])]),
           'matrix': matlab.Cell([np.ones((2, 3))]),
           'fraction': matlab.Cell([np.array([1.0]), np.array([2.5])]),
           'nan': matlab.Cell([np.array([np.nan])])}
    words = {'nested': 'nested{1}', 'matrix': 'matrix{1} is a 2 x 3 array', 'fraction':
             'fraction{2} holds 2.5, not a whole number', 'nan': 'NaN'}
    for name, value in bad.items():
        path = mat73(tmp_path / (name + '.mat'), {name: value})
        text = error(path)
        assert words[name] in text, text
    # a MATLAB char array element: class char, stored as uint16
    path = tmp_path / 'char.mat'
    matlab.write_mat(path, {'c': matlab.Cell([np.array([104, 105], np.uint16)])})
    with h5py.File(path, 'r+') as f:
        ref = f['c'][0, 0]
        f[ref].attrs['MATLAB_class'] = np.bytes_('char')
    assert 'c{1} is char' in error(path)


# ---------------------------------------------------------------------------------------
# MATLAB v5 (scipy)

def test_mat5_cells_structs_and_matrices(tmp_path):
    cell = np.empty((1, 4), object)
    for k, regions in enumerate(OBJECTS):
        cell[0, k] = np.array(regions, float).reshape(-1, 1)
    struct = np.zeros((1, 4), dtype=[('segIds', 'O'), ('id', 'O'), ('pos', 'O')])
    for k, regions in enumerate(OBJECTS):
        struct[0, k] = (np.array(regions, np.uint32), float(k + 5), np.ones(3))
    path = tmp_path / 'v5.mat'
    scipy.io.savemat(path, {'axons': cell, 'indBigAxons': np.array([[True], [False]])})
    check(path, memberships(OBJECTS), 4, words=["MATLAB v5 cell array 'axons' (1 x 4)"])
    path = tmp_path / 's5.mat'
    scipy.io.savemat(path, {'dendrites': struct, 'name': 'dendrites of L4'},
                     do_compression=True)
    check(path, memberships(OBJECTS, [5, 6, 7, 8]), 4, words=['ids from field id'])
    path = tmp_path / 'm5.mat'
    scipy.io.savemat(path, {'pairs': np.array(memberships(OBJECTS)), 'one': np.array([3, 4])})
    assert 'several candidates' in error(path)
    check(path, memberships(OBJECTS), 3, variable='pairs')
    check(path, [(3, 1), (4, 1)], 1, variable='one')
    path = tmp_path / 'bad5.mat'
    text_cell = np.empty((1, 2), object)
    text_cell[0, 0], text_cell[0, 1] = np.array([1.0]), 'abc'
    scipy.io.savemat(path, {'c': text_cell})
    assert 'c{2} is char' in error(path)


# ---------------------------------------------------------------------------------------
# Text

def text_file(path, text, encoding='utf-8'):
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def test_text_pairs_with_a_header(tmp_path):
    expected = memberships(OBJECTS)
    body = ''.join('%d,%d\n' % p for p in expected)
    check(text_file(tmp_path / 'a.csv', 'region_id,object_id\n' + body), expected, 3,
          words=['CSV region/object rows'])
    swapped = ''.join('%d\t%d\n' % (o, r) for r, o in expected)
    check(text_file(tmp_path / 'b.tsv', 'object_id\tregion_id\n' + swapped), expected, 3,
          words=['TSV'])
    check(text_file(tmp_path / 'c.csv', 'axonId;segId\r\n' + swapped.replace('\t', ';')
                    .replace('\n', '\r\n')), expected, 3)
    check(text_file(tmp_path / 'd.csv', '"segId","axonId"\n' + body), expected, 3)
    three = ''.join('%d,%d,0.5\n' % (o, r) for r, o in expected)
    check(text_file(tmp_path / 'e.csv', 'agglo_id,supervoxel,score\n\n' + three), expected, 3)
    check(text_file(tmp_path / 'f.csv', '\ufeffsegment,cell\n' + body), expected, 3)
    check(text_file(tmp_path / 'g.csv', 'region_id,object_id\n' + body, 'utf-16'), expected, 3)
    check(text_file(tmp_path / 'h.txt', '# written by numpy.savetxt\n# region_id object_id\n'
                    + body.replace(',', ' ')), expected, 3)
    check(text_file(tmp_path / 'i.csv', 'region_id,object_id\n5.0,1\n6e0,2\n'),
          [(5, 1), (6, 2)], 2)
    check(text_file(tmp_path / 'j.csv', 'region_id,object_id\n'), [], 0)


def test_text_without_a_header(tmp_path):
    # Two numbers on every line: rows or objects of two regions?  Nothing declares it,
    # so the file is refused with what would declare it; the values never decide.
    for name, text in (('a.csv', '11,1\n12,1\n41,4\n'), ('b.csv', '5,2\n7,1\n\n'),
                       ('c.csv', '110,120\n210,220\n')):
        message = error(text_file(tmp_path / name, text))
        assert 'every line holds two numbers' in message and 'region_id,object_id' in message
    check(text_file(tmp_path / 'a2.csv', 'region_id,object_id\n11,1\n12,1\n41,4\n'),
          [(11, 1), (12, 1), (41, 4)], 2, words=['header'])
    check(text_file(tmp_path / 'c2.csv', '1: 110,120\n2: 210,220\n'),
          memberships([[110, 120], [210, 220]]), 2, words=['ID: regions'])
    check(text_file(tmp_path / 'c4.csv', 'segIds\n110,120\n210,220\n'),
          memberships([[110, 120], [210, 220]]), 2,
          words=['one object per line (line k = object k), header segIds'])
    check(text_file(tmp_path / 'c3.csv', '110,120\n210,220,230\n'),
          memberships([[110, 120], [210, 220, 230]]), 2, words=['one object per line'])
    lines = '11,12,13\n21\n\n41 42\n'
    check(text_file(tmp_path / 'd.csv', lines), memberships(OBJECTS), 4)
    check(text_file(tmp_path / 'e.txt', lines.replace('\n', '\r\n').replace(',', '\t')),
          memberships(OBJECTS), 4)
    check(text_file(tmp_path / 'f.txt', '# axons\n11 12 13\n21\n# the next one is empty\n\n'
                    '41 42'), memberships(OBJECTS), 4)
    check(text_file(tmp_path / 'g.txt', '7: 11 12 13\n\n9:21\n3 :\n 5: 41,42\n'),
          memberships(OBJECTS, [7, 9, 3, 5]), 4, words=['ID: regions'])
    gz = tmp_path / 'h.csv.gz'
    gz.write_bytes(gzip.compress(lines.encode()))
    check(gz, memberships(OBJECTS), 4, words=['gzip-compressed'])


def test_text_is_parsed_in_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(objectfiles.text, 'TEXT_BLOCK', 64)
    rng = np.random.default_rng(2)
    objects = [rng.integers(1, 10 ** 9, rng.integers(0, 12)) for _ in range(200)]
    text = ''.join(' '.join(map(str, o)) + '\n' for o in objects)
    check(text_file(tmp_path / 'lines.txt', text), memberships(objects), 200)
    ids = list(range(500, 700))
    text = ''.join('%d: %s\n' % (i, ','.join(map(str, o))) for i, o in zip(ids, objects))
    check(text_file(tmp_path / 'ids.txt', text), memberships(objects, ids), 200)
    rows = memberships(objects)
    text = 'region_id,object_id\n' + ''.join('%d,%d\n' % r for r in rows)
    check(text_file(tmp_path / 'rows.csv', text), rows, len({o for _, o in rows}))
    bad = text_file(tmp_path / 'bad.csv', text + '1,2\n3,x\n')
    assert "line %d: 'x' is not a number" % (len(rows) + 3) in error(bad)


def test_text_errors(tmp_path):
    cases = {
        'frac.csv': ('region_id,object_id\n5.5,1\n7,2\n', 'line 2 holds 5.5, not a whole'),
        'nan.csv': ('region_id,object_id\n5,1\nnan,2\n', 'line 3 holds NaN'),
        'inf.csv': ('1 2 inf\n', 'infinite'),
        'word.csv': ('1,2\n3,four\n', "line 2: 'four' is not a number"),
        'cols.csv': ('region_id,object_id\n1,2\n3\n', 'line 3 has 1 values but the header'),
        'header.csv': ('a,b\n1,2\n', "cannot tell from the header 'a,b'"),
        'two.csv': ('region_id,segId\n1,2\n', 'several region columns'),
        'huge.csv': ('99999999999999999999 1\n', 'too large for a 64-bit integer'),
        'inexact.csv': ('1e17 1\n', 'too large to be read exactly'),
        'colons.txt': ('1: 2 3\n4 5\n', "line 2: with 'ID: regions' lines"),
        'empty.csv': ('\n  \n', 'is empty'),
    }
    for name, (text, words) in cases.items():
        message = error(text_file(tmp_path / name, text))
        assert words in message, message
    assert '-9223372036854775808' in str(read_object_file(
        text_file(tmp_path / 'min.csv', 'region_id object_id\n-9223372036854775808 1\n'))
        .regions.tolist())


# ---------------------------------------------------------------------------------------
# NumPy

def test_npy(tmp_path):
    expected = memberships(OBJECTS)
    lookup = np.zeros(50, np.int16)
    for k, regions in enumerate(OBJECTS, start=1):
        lookup[regions] = k
    np.save(tmp_path / 'lookup.npy', lookup)
    check(tmp_path / 'lookup.npy', expected, 3, words=['NumPy per-region lookup'])
    np.save(tmp_path / 'pairs.npy', np.array(expected, np.uint32))
    check(tmp_path / 'pairs.npy', expected, 3)
    np.save(tmp_path / 'cols.npy', np.array(expected).T)
    check(tmp_path / 'cols.npy', expected, 3)
    objects = np.empty(4, object)
    for k, regions in enumerate(OBJECTS):
        objects[k] = np.array(regions, np.uint64)
    np.save(tmp_path / 'objects.npy', objects)
    check(tmp_path / 'objects.npy', expected, 4)
    np.save(tmp_path / 'one.npy', np.array([3, 1, 2]))
    check(tmp_path / 'one.npy', [(1, 1), (2, 1), (3, 1)], 1)
    table = np.zeros(6, dtype=[('seg_id', 'i8'), ('agglo_id', 'i8')])
    table['seg_id'], table['agglo_id'] = np.array(expected).T
    np.save(tmp_path / 'table.npy', table)
    check(tmp_path / 'table.npy', expected, 3)
    with open(tmp_path / 'object_id', 'wb') as f:         # no suffix: named a lookup
        np.save(f, lookup)
    check(tmp_path / 'object_id', expected, 3)
    np.save(tmp_path / 'axons.npy', lookup)                # not named a lookup
    assert 'holds region id 0' in error(tmp_path / 'axons.npy')


def test_npz(tmp_path):
    expected = memberships(OBJECTS)
    values = np.array([11, 12, 13, 21, 41, 42])
    np.savez(tmp_path / 'ragged.npz', region_ids=values, lengths=[3, 1, 0, 2], ids=[4, 3, 2, 1])
    check(tmp_path / 'ragged.npz', memberships(OBJECTS, [4, 3, 2, 1]), 4, words=['NumPy .npz'])
    np.savez_compressed(tmp_path / 'offsets.npz', regions=values, offsets=[0, 3, 4, 4, 6])
    check(tmp_path / 'offsets.npz', expected, 4)
    lookup = np.zeros(50)
    for k, regions in enumerate(OBJECTS, start=1):
        lookup[regions] = k
    np.savez(tmp_path / 'several.npz', seg2axon=lookup, pairs=np.array(expected))
    text = error(tmp_path / 'several.npz')
    assert 'seg2axon' in text and 'pairs' in text, text
    check(tmp_path / 'several.npz', expected, 3, variable='seg2axon')
    check(tmp_path / 'several.npz', expected, 3, variable='pairs')
    np.savez(tmp_path / 'named.npz', **{str(k): np.array(r, int) for k, r in
                                        zip([5, 6, 7, 8], OBJECTS)})
    check(tmp_path / 'named.npz', memberships(OBJECTS, [5, 6, 7, 8]), 4)
    np.savez(tmp_path / 'columns.npz', region_id=values, object_id=[1, 1, 1, 2, 4, 4])
    check(tmp_path / 'columns.npz', expected, 3)
    objects = np.empty(4, object)
    objects[:] = [np.array(r) for r in OBJECTS]
    np.savez(tmp_path / 'objects.npz', axons=objects, voxel_size=np.array(11.24))
    check(tmp_path / 'objects.npz', expected, 4)


def test_npy_object_arrays_unpickle_only_arrays(tmp_path):
    from fractions import Fraction
    a = np.empty(2, object)
    a[0], a[1] = np.array([1, 2]), Fraction(1, 2)
    np.save(tmp_path / 'evil.npy', a, allow_pickle=True)
    assert 'fractions.Fraction' in error(tmp_path / 'evil.npy')


# ---------------------------------------------------------------------------------------
# Errors: each one names the file

def test_unreadable_files(tmp_path, demo):
    folder, _ = demo
    missing = tmp_path / 'missing.h5'
    assert 'no such file' in error(missing)
    assert 'is a folder' in error(tmp_path)
    assert 'is empty' in error(text_file(tmp_path / 'zero.csv', b''))
    for name in ('axons.hdf5', 'axons.mat', 'other-layouts/dendrites-struct.mat'):
        data = (folder / 'objects' / name).read_bytes()
        name = name.split('/')[-1]
        for cut in (600, len(data) // 2, len(data) - 10):
            broken = text_file(tmp_path / ('broken-%d-%s' % (cut, name)), data[:cut])
            assert 'cannot be read' in error(broken) or 'truncated' in error(broken)
    v5 = tmp_path / 'v5.mat'
    scipy.io.savemat(v5, {'axons': np.arange(1, 100)})
    broken = text_file(tmp_path / 'broken5.mat', v5.read_bytes()[:200])
    assert 'cannot be read as a MATLAB v5' in error(broken)
    np.save(tmp_path / 'l.npy', np.arange(100))
    broken = text_file(tmp_path / 'broken.npy', (tmp_path / 'l.npy').read_bytes()[:150])
    assert 'cannot be read as a NumPy .npy file' in error(broken)
    broken = text_file(tmp_path / 'broken.npz', b'PK\x03\x04' + b'\1' * 100)
    assert 'cannot be read' in error(broken)
    png = text_file(tmp_path / 'image.png', b'\x89PNG\r\n\x1a\n\0\0\0\rIHDR' + b'\0' * 50)
    assert 'unknown format' in error(png)
    mat4 = text_file(tmp_path / 'old.mat', b'MATLAB 4 something' + b'\0' * 200)
    assert 'version' in error(mat4)


def test_no_candidate_several_candidates_and_unknown_variable(tmp_path):
    def nothing(f):
        f['name'] = 'axons of L4'
        f['voxel_size'] = 11.24
        f['volume'] = np.zeros((2, 3, 4))
    text = error(h5(tmp_path / 'nothing.h5', nothing))
    assert 'no variable holds region ids' in text and '/volume (2 x 3 x 4' in text, text
    path = mat73(tmp_path / 'nothing.mat', {'name': np.array([1.0]), 'flags':
                                            np.array([True, False])})
    assert 'no variable holds region ids' in error(path)

    def two(f):
        f['a'] = np.arange(1, 10)
        f['b'] = np.arange(1, 10)
        f['c/x'] = np.arange(1, 5)
    path = h5(tmp_path / 'two.hdf5', two)
    text = error(path)
    assert 'several candidates: /a' in text and '/b' in text and '/c' in text, text
    text = error(path, variable='nope')
    assert "variable 'nope' names nothing" in text and '/a' in text, text
    path = mat73(tmp_path / 'vars.mat', {'axons': matlab.Cell([np.array([1.0])])})
    text = error(path, variable='dendrites')
    assert "variable 'dendrites' names nothing" in text and 'axons' in text, text
    assert 'names nothing' in error(path, variable='axons.segIds')
    np.savez(tmp_path / 'z.npz', a=np.arange(3))
    assert 'names nothing' in error(tmp_path / 'z.npz', variable='b')


def test_values_that_are_not_integer_ids(tmp_path):
    cases = {
        'frac.h5': (lambda f: f.update(region_ids=[1.0, 2.5], lengths=[2]), '2.5'),
        'nan.h5': (lambda f: f.update(region_ids=[1.0, np.nan], lengths=[2]), 'NaN'),
        'inf.h5': (lambda f: f.update(object_id=[0.0, np.inf]), 'infinite'),
        'text.h5': (lambda f: f.update(region_ids=np.array([b'a', b'b']), lengths=[2]),
                    'no variable'),
        'u64.h5': (lambda f: f.update(region_ids=np.array([2 ** 64 - 1], np.uint64),
                                      lengths=[1]), 'too large for a 64-bit integer'),
        'bool.h5': (lambda f: f.update(pairs=np.ones((3, 2), bool)), 'no variable'),
        'huge.h5': (lambda f: f.update(pairs=np.array([[1e19, 1]])), 'too large'),
        # Whole floats beyond 2^53 (float64) or 2^24 (float32): neighbouring ids share
        # one value, so the id read might not be the id meant.
        'beyond53.h5': (lambda f: f.update(region_ids=[1.0, float(2 ** 53 + 2)],
                                           lengths=[2]), 'beyond 2^53'),
        'beyond24.h5': (lambda f: f.update(region_ids=np.array([1, 2 ** 24 + 2],
                                                               np.float32), lengths=[2]),
                        'as a 32-bit floating-point number (beyond 2^24'),
    }
    for name, (build, words) in cases.items():
        text = error(h5(tmp_path / name, build))
        assert words in text, text

    def members(f):
        f['g/1'] = [1, 2]
        f['g/2'] = [3.5]
    text = error(h5(tmp_path / 'member.h5', members))
    assert '/g/2 holds 3.5, not a whole number' in text, text

    def exact(f):                               # 2^53 itself is still one id
        f['region_ids'] = np.array([1.0, 2.0 ** 53])
        f['lengths'] = [2]
    check(h5(tmp_path / 'exact.h5', exact), [(1, 1), (2 ** 53, 1)], 1)

    def strings(f):
        f['g/1'] = [1, 2]
        f['g/note'] = np.array([b'x'])          # text beside the objects is ignored
    check(h5(tmp_path / 'strings.h5', strings), [(1, 1), (2, 1)], 1)

    def big(f):                                 # ... but a big group's are all read
        for k in range(1, 99):
            f['g/%d' % k] = [k]
        f['g/99'] = np.array([b'x'])            # last in h5py's (alphabetical) order
    text = error(h5(tmp_path / 'big.h5', big))
    assert '/g/99 holds text, not numbers' in text, text

    def subgroup(f):
        for k in range(1, 99):
            f['g/%d' % k] = [k]
        f['g/99/x'] = [1]
    text = error(h5(tmp_path / 'sub.h5', subgroup))
    assert '/g/99 is not a dataset' in text, text

    def huge_name(f):
        f['g/1'] = [1]
        f['g/99999999999999999999'] = [2]
    text = error(h5(tmp_path / 'name.h5', huge_name))
    assert 'object id 99999999999999999999 is too large' in text, text
    path = h5(tmp_path / 'str.h5', lambda f: f.update(names=np.array([b'a', b'b'])))
    assert 'not a layout of region ids' in error(path, variable='names')


def test_ragged_arrays_that_do_not_agree(tmp_path):
    cases = {
        'sum.h5': ({'region_ids': [1, 2, 3], 'lengths': [1, 1]}, 'add up to 2 but'),
        'neg.h5': ({'region_ids': [1, 2], 'lengths': [3, -1]}, 'negative length'),
        'start.h5': ({'region_ids': [1, 2], 'offsets': [1, 2]}, 'must start at 0'),
        'down.h5': ({'region_ids': [1, 2], 'offsets': [0, 2, 1]}, 'decrease'),
        'beyond.h5': ({'region_ids': [1, 2], 'offsets': [0, 3]}, 'beyond the 2 region ids'),
        'last.h5': ({'region_ids': [1, 2], 'offsets': [0, 1, 3], 'ids': [5, 6]},
                    'the last offset'),
        'ids.h5': ({'region_ids': [1, 2], 'lengths': [1, 1], 'ids': [5]}, 'has 1 entries'),
        'oids.h5': ({'region_ids': [1, 2], 'offsets': [0, 1, 2], 'ids': [5]}, '3 offsets'),
    }
    for name, (arrays, words) in cases.items():
        text = error(h5(tmp_path / name, lambda f: f.update(arrays)))
        assert words in text, text


# ---------------------------------------------------------------------------------------
# Speed report (python tests/portable/test_objectfiles.py): 100,000 objects, 1.5 M region ids

def speed_report(folder, n=100_000, per_object=15):
    import time
    rng = np.random.default_rng(0)
    lengths = rng.integers(0, 2 * per_object + 1, n)
    values = rng.permutation(30 * n)[:lengths.sum()] + 1
    ends = np.cumsum(lengths)
    objects = np.split(values, ends[:-1])
    owner = np.repeat(np.arange(1, n + 1), lengths)
    lookup = np.zeros(30 * n + 1, np.int32)
    lookup[values] = owner
    paths = {}

    def path(name):
        paths[name] = os.path.join(folder, name)
        return paths[name]
    with h5py.File(path('ragged.h5'), 'w') as f:
        f['region_ids'] = values.astype(np.uint32)
        f['lengths'] = lengths
    with h5py.File(path('lookup.h5'), 'w') as f:
        f['object_id'] = lookup
    with h5py.File(path('group.h5'), 'w') as f:
        g = f.create_group('axons')
        for k, o in enumerate(objects, start=1):
            g[str(k)] = o.astype(np.uint32)
    matlab.write_mat(path('cell.mat'), {'axons': matlab.Cell([o.astype(float)
                                                              for o in objects])})
    cell = np.empty((1, n), object)
    for k, o in enumerate(objects):
        cell[0, k] = o.astype(float).reshape(-1, 1)
    scipy.io.savemat(path('cell5.mat'), {'axons': cell})
    with open(path('pairs.csv'), 'w') as f:
        f.write('region_id,object_id\n')
        f.write(''.join('%d,%d\n' % p for p in zip(values.tolist(), owner.tolist())))
    with open(path('lines.csv'), 'w') as f:
        f.write(''.join(','.join(map(str, o)) + '\n' for o in objects))
    for name, p in paths.items():
        t0 = time.perf_counter()
        t = read_object_file(p)
        seconds = time.perf_counter() - t0
        got = np.zeros_like(lookup)
        got[t.regions] = t.objects
        assert np.array_equal(got, lookup), name
        print('%-10s %6.2f s  %s' % (name, seconds, t.description))


# ---------------------------------------------------------------------------------------
# Lying HDF5 headers in a group of one vector per object and a MATLAB v7.3 cell array:
# the same data h5py reads, or an InputError naming the file and the dataset.

def _lying_object_file(path, layout):
    """Five objects of three regions each; the name of object 3's dataset."""
    objects = [np.arange(3 * k - 2, 3 * k + 1) for k in range(1, 6)]
    if layout == 'group':
        with h5py.File(path, 'w') as f:
            for k, o in enumerate(objects, 1):
                f['/axons/%d' % k] = o.astype(np.uint32)
        return '/axons/3', '/axons/3'
    matlab.write_mat(path, {'axons': matlab.Cell([o.astype(float) for o in objects])})
    with h5py.File(path, 'r') as f:
        return f[f['axons'][()].reshape(-1)[2]].name, 'axons{3}'


@pytest.mark.parametrize('layout', ['group', 'cell array'])
@pytest.mark.parametrize('field,value', h5lies.LIES)
def test_a_lying_header_reads_as_h5py_or_names_file_and_dataset(tmp_path, layout, field,
                                                               value):
    path = str(tmp_path / 'lies.h5')
    dataset, label = _lying_object_file(path, layout)
    h5lies.lie(path, dataset, field, value)
    expected = h5lies.h5py_reads(path, dataset)
    try:
        table = read_object_file(path)
    except InputError as e:
        assert str(e).startswith('lies.h5: ') and label in str(e), str(e)
        return
    assert not isinstance(expected, Exception), 'h5py: %r, read as %r' % (
        expected, table.regions[table.objects == 3])
    assert np.array_equal(table.regions[table.objects == 3], expected)
    assert table.regions[table.objects != 3].tolist() == [1, 2, 3, 4, 5, 6] + list(
        range(10, 16))


if __name__ == '__main__':
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        speed_report(d)
