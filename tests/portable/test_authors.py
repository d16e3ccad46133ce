"""The authors' object files (formats/objectfiles/authors.py) and the fast reader of groups
of one dataset per object (formats/h5vectors.py), on plain Python: every HDF5 storage the
library can write reads as h5py reads it; the demo's files in the authors' layout give
the demo's ground truth for every attribute (pipeline/objectmap.py), and that truth is
consistent with the voxels (skeleton nodes, synapse positions, segment positions); bad
input is an InputError naming file and dataset."""

import os
import shutil

import h5py
import numpy as np
import pytest

from chimerax.connectome.demo import generate_dataset, read_authors_truth, read_truth
from chimerax.connectome.errors import InputError
from chimerax.connectome.formats import h5vectors
from chimerax.connectome.formats.objectfiles import authors
from chimerax.connectome.formats.tiles import open_tiles
from chimerax.connectome.pipeline import objectmap, wiring
from chimerax.connectome.pipeline.objectmap import Request

import h5lies


# ---------------------------------------------------------------------------------------
# h5vectors: the decoder against h5py

def _vectors(rng, n):
    return [rng.integers(1, 10 ** 6, rng.integers(0, 40)) for _ in range(n)]


def _expected(f, group):
    names = list(f[group].keys())
    return names, [np.asarray(f[group][n][()]).reshape(-1) for n in names]


@pytest.mark.parametrize('case', ['contiguous', 'row and column matrices', 'int64 and float',
                                  'latest format', 'chunked deflate', 'userblock', 'mixed',
                                  'committed type', 'big-endian', 'never written'])
def test_read_vectors_equals_h5py(tmp_path, case):
    rng = np.random.default_rng(7)
    path = str(tmp_path / 'v.h5')
    vectors = _vectors(rng, 300)
    kw = dict(libver='latest') if case == 'latest format' else {}
    if case == 'userblock':
        kw = dict(userblock_size=512)
    with h5py.File(path, 'w', **kw) as f:
        g = f.create_group('objects')
        for k, v in enumerate(vectors, start=1):
            if case == 'row and column matrices' and v.size:
                v = v.reshape((1, -1) if k % 2 else (-1, 1))
            dtype = np.uint32
            if case == 'int64 and float':
                dtype = np.int64 if k % 3 else np.float64
            if case == 'mixed':
                dtype = (np.uint16, np.int32, np.float32, np.uint64)[k % 4]
            if case == 'big-endian' and k % 2:
                dtype = '>u4'
            if case == 'chunked deflate' and v.size:
                g.create_dataset(str(k), data=v.astype(dtype), chunks=v.shape,
                                 compression='gzip')
            elif case == 'committed type':
                if 'type' not in f:
                    f['type'] = np.dtype('<u4')
                g.create_dataset(str(k), data=v.astype(np.uint32),
                                 dtype=f['type'] if k % 2 else np.uint32)
            elif case == 'never written' and k % 5 == 0:
                g.create_dataset(str(k), shape=v.shape, dtype=dtype)   # fill value only
            else:
                g.create_dataset(str(k), data=v.astype(dtype), dtype=dtype)
    with h5py.File(path, 'r') as f:
        got = h5vectors.read_vectors(path, f, f['objects'])
        names, expected = _expected(f, '/objects')
    assert got.names == names
    assert got.lengths.tolist() == [e.size for e in expected]
    assert np.array_equal(got.values, np.concatenate(expected).astype(got.values.dtype))
    if case in ('contiguous', 'row and column matrices', 'int64 and float', 'userblock',
                'mixed'):
        assert got.slow == 0 and got.fast == len(vectors)     # the decoder read them all
    else:
        assert got.fast + got.slow == len(vectors)
    if case in ('big-endian', 'committed type'):
        assert got.slow == len(vectors) // 2                   # h5py read those


def test_read_vectors_refuses_groups_text_and_matrices(tmp_path):
    path = str(tmp_path / 'bad.h5')
    for member, words in (('group', 'is not a dataset (a group)'),
                          ('text', 'holds text'),
                          ('matrix', 'is a 3 x 4 array, not a vector')):
        with h5py.File(path, 'w') as f:
            f['g/1'] = np.arange(1, 5, dtype=np.uint32)
            if member == 'group':
                f['g/2/x'] = [1]
            elif member == 'text':
                f['g/2'] = 'abc'
            else:
                f['g/2'] = np.ones((3, 4), np.uint32)
        with h5py.File(path, 'r') as f:
            with pytest.raises(InputError, match=r'/g/2 .*' if member != 'text' else 'text'):
                h5vectors.read_vectors(path, f, f['g'])
            try:
                h5vectors.read_vectors(path, f, f['g'])
            except InputError as e:
                assert words in str(e) and '/g/2' in str(e), str(e)


def test_truncated_data_is_an_error_naming_the_file(tmp_path):
    path = str(tmp_path / 'cut.h5')
    with h5py.File(path, 'w') as f:
        f['g/1'] = np.arange(1, 10, dtype=np.uint32)
        f['g/2'] = np.arange(1, 200000, dtype=np.uint32)     # data at the end
    with h5py.File(path, 'r') as f:
        size = os.path.getsize(path)
        names, addresses = h5vectors.group_links(f['g'])
        os.truncate(path, size - 1000)
        with pytest.raises(InputError, match='cut.h5 is truncated'):
            h5vectors.read_vectors(path, f, f['g'], names, addresses)


def _small_group(path, dtype=np.uint32):
    """Five datasets /g/1 .. /g/5 of three ids each, contiguous (what the decoder reads)."""
    with h5py.File(path, 'w') as f:
        for k in range(1, 6):
            f['/g/%d' % k] = np.arange(3 * k - 2, 3 * k + 1, dtype=dtype)


@pytest.mark.parametrize('field,value', h5lies.LIES)
def test_a_lying_header_reads_as_h5py_reads_or_names_file_and_dataset(tmp_path, field,
                                                                        value):
    path = str(tmp_path / 'lies.h5')
    _small_group(path)
    h5lies.lie(path, '/g/3', field, value)
    expected = h5lies.h5py_reads(path, '/g/3')
    with h5py.File(path, 'r') as f:
        try:
            got = h5vectors.read_vectors(path, f, f['g'])
        except InputError as e:
            assert 'lies.h5 /g/3 ' in str(e) or 'lies.h5 is truncated' in str(e), str(e)
            return
    assert not isinstance(expected, Exception), 'h5py: %r, the decoder read it' % expected
    assert got.lengths.tolist() == [3, 3, expected.size, 3, 3]
    assert np.array_equal(got.values[6:6 + expected.size], expected.astype(got.values.dtype))


def test_data_past_the_end_of_allocation_reads_as_h5py_reads(tmp_path):
    # Bytes appended past the file's end of allocation, and a data address pointing there:
    # HDF5 1.14 reads zeros, the decoder read the bytes (ids 5, 6, 7 that no object has);
    # the HDF5 of today's h5py (numpy 2 venv) refuses the dataset, and so must the decoder.
    path = str(tmp_path / 'junk.h5')
    _small_group(path)
    end = os.path.getsize(path)
    with open(path, 'ab') as f:
        f.write(np.array([5, 6, 7], np.uint32).tobytes())
    h5lies.lie(path, '/g/3', 'address', end)
    expected = h5lies.h5py_reads(path, '/g/3')
    with h5py.File(path, 'r') as f:
        if isinstance(expected, Exception):
            with pytest.raises(InputError) as e:
                h5vectors.read_vectors(path, f, f['g'])
            assert 'junk.h5 /g/3 cannot be read' in str(e.value), str(e.value)
            return
        assert expected.tolist() == [0, 0, 0]
        got = h5vectors.read_vectors(path, f, f['g'])
    assert got.values[6:9].tolist() == [0, 0, 0] and got.slow == 1


def _authors_axons(path):
    with h5py.File(path, 'w') as f:
        f.attrs['info'] = 'written by hand'
        for k in range(1, 6):
            f['/axons/agglomerate/%d' % k] = np.arange(3 * k - 2, 3 * k + 1,
                                                      dtype=np.uint32)


@pytest.mark.parametrize('field,value,words', [
    # 2**62: HDF5 1.14 reads the header and the array is refused as too big; today's
    # HDF5 (numpy 2 venv) finds the dimension past its maximum: a damaged header.
    ('dim0', 2 ** 62, ('array is too big', 'damaged')), ('dim0', 2 ** 63 + 1, 'damaged'),
    ('address', 0xFFFFFFFFFFFFFF00, 'cannot be read'),
    ('address', 2 ** 63 - 8, 'cannot be read'), ('rank', 250, 'damaged'),
    ('type_size', 0, 'invalid datatype size'), ('type_size', 3, 'damaged')])
def test_lying_headers_of_the_authors_files_name_file_and_dataset(tmp_path, field, value,
                                                                  words):
    path = str(tmp_path / 'axons.hdf5')
    _authors_axons(path)
    h5lies.lie(path, '/axons/agglomerate/3', field, value)
    with pytest.raises(InputError) as e:
        objectmap.build([Request('axon', path)], 20)
    assert 'axons.hdf5 /axons/agglomerate/3 ' in str(e.value), str(e.value)
    assert any(w in str(e.value) for w in ((words,) if isinstance(words, str) else words)), \
        str(e.value)
    assert 'dangling' not in str(e.value)


# ---------------------------------------------------------------------------------------
# Files written here with plain h5py, in the layout the help page and authors.py
# describe (not through the demo's writer, demo/authorsfile.py): a wrong belief about
# the layout shared by the reader and the writer would pass the demo's tests twice.

def _plain_authors_files(folder):
    """A hand-made release of 9 regions: 2 axons, 2 dendrites (neurons 0 and 5), 2
    spine heads, 3 synapses (region 4 is the bouton of synapses 2 and 3)."""
    folder.mkdir()
    with h5py.File(folder / 'axons.hdf5', 'w') as f:
        f.attrs['info'] = 'written by hand'
        f['/axons/agglomerate/1'] = np.array([1, 2], np.uint32)
        f['/axons/agglomerate/2'] = np.array([3, 4], np.uint32)
        f['/axons/class'] = np.array([2, 3], np.uint8)
        for name, code in (('corticocortical', 1), ('thalamocortical', 2),
                           ('inhibitory', 3), ('other', 4)):
            f['/axons/class'].attrs[name] = np.uint8(code)
        # MATLAB's k x 3 nodes stored (3, k); edges (2, m), 1-based.
        f['/axons/skeleton/1/nodes'] = np.array([[5, 6, 7], [1, 2, 3], [9, 9, 9]],
                                                np.uint32)
        f['/axons/skeleton/1/edges'] = np.array([[1, 2], [2, 3]], np.uint32)
        f['/axons/skeleton/1/segIds'] = np.array([1, 2, 2], np.uint32)
    with h5py.File(folder / 'dendrites.hdf5', 'w') as f:
        f.attrs['info'] = 'written by hand'
        f['/dendrites/agglomerate/1'] = np.array([5, 6], np.uint32)
        f['/dendrites/agglomerate/2'] = np.array([7], np.uint32)
        f['/dendrites/neuronId'] = np.array([0, 5], np.uint32)
        f['/dendrites/class'] = np.array([1, 0], np.uint8)
        f['/dendrites/class'].attrs['soma'] = np.uint8(1)
        f['/spineHeads/agglomerate/1'] = np.array([8], np.uint32)
        f['/spineHeads/agglomerate/2'] = np.array([9], np.uint32)
        f['/spineHeads/volume'] = np.array([0.25, 0.5], np.float32)
    with h5py.File(folder / 'synapses.hdf5', 'w') as f:
        f.attrs['info'] = 'written by hand'
        for k, (pre, post) in enumerate((([2], [8]), ([4], [9]), ([4], [7])), start=1):
            f['/synapses/preSegIds/%d' % k] = np.array(pre, np.uint32)
            f['/synapses/postSegIds/%d' % k] = np.array(post, np.uint32)
        f['/synapses/type'] = np.array([1, 1, 2], np.uint8)
        f['/synapses/type'].attrs['primaryspine'] = np.uint8(1)
        f['/synapses/type'].attrs['shaft'] = np.uint8(2)
        f['/synapses/asiArea'] = np.array([0.1, np.nan, 0.3])
    return folder


def test_files_written_with_plain_h5py_give_what_they_say(tmp_path):
    folder = _plain_authors_files(tmp_path / 'release')
    assert authors.find_files(folder).keys() == {'axons', 'dendrites', 'synapses'}
    assert authors.recognise(folder / 'synapses.hdf5') == 'synapses'
    requests, files, missing = objectmap.folder_requests(folder)
    assert missing == []
    result = objectmap.build(requests, 9)
    arrays = {name: a.tolist() for name, a in result.arrays.items()}
    assert arrays['axon'] == [0, 1, 1, 2, 2, 0, 0, 0, 0, 0]
    assert arrays['dendrite'] == [0, 0, 0, 0, 0, 1, 1, 2, 0, 0]
    assert arrays['spinehead'] == [0, 0, 0, 0, 0, 0, 0, 0, 1, 2]
    assert arrays['neuron'] == [0, 0, 0, 0, 0, 0, 0, 5, 0, 0]
    # Region 4 is the bouton of synapses 2 and 3: the lowest id.
    assert arrays['presynapse'] == [0, 0, 1, 0, 2, 0, 0, 0, 0, 0]
    assert arrays['postsynapse'] == [0, 0, 0, 0, 0, 0, 0, 3, 1, 2]
    assert arrays['axonclass'] == [0, 2, 2, 3, 3, 0, 0, 0, 0, 0]
    assert arrays['dendriteclass'] == [0, 0, 0, 0, 0, 1, 1, 0, 0, 0]
    assert arrays['synapsetype'] == [0, 0, 0, 0, 0, 0, 0, 2, 1, 1]
    assert result.arrays['spineheadvolume'][[8, 9]].tolist() == [0.25, 0.5]
    asi = result.arrays['asiarea']
    assert asi[8] == pytest.approx(0.1) and np.isnan(asi[9]) and asi[7] == pytest.approx(0.3)
    assert list(result.metadata['synapsetype']['category_names']) == ['primaryspine',
                                                                      'shaft']
    with authors.AuthorsFile(folder / 'axons.hdf5') as f:
        (skeleton,) = f.skeletons('/axons/skeleton', [1])
    assert skeleton.nodes.tolist() == [[5, 1, 9], [6, 2, 9], [7, 3, 9]]
    assert skeleton.edges.tolist() == [[0, 1], [1, 2]]


@pytest.mark.parametrize('dtype', [np.uint64, np.int64, np.float64])
def test_an_id_too_large_to_keep_is_refused_not_narrowed(tmp_path, dtype):
    # 4294967299 = 2^32 + 3: kept as int32 it became spine head 3.
    folder = _plain_authors_files(tmp_path / 'release')
    with h5py.File(folder / 'synapses.hdf5', 'r+') as f:
        f['/synapses/postSpineHeadId'] = np.array([1, 4294967299, 2], dtype)
        f['/synapses/preAxonId'] = np.array([1, 2, 2], np.uint32)
        f['/synapses/postDendriteId'] = np.array([2, 2, 2], np.uint32)
    with pytest.raises(InputError) as e:
        wiring.derive(folder)
    for w in ('synapses.hdf5', '/synapses/postSpineHeadId', '4294967299', 'position 2'):
        assert w in str(e.value), str(e.value)


def test_an_id_too_large_for_a_region_id_is_refused(tmp_path):
    path = str(tmp_path / 'axons.hdf5')
    with h5py.File(path, 'w') as f:
        f['/axons/agglomerate/1'] = np.array([1, 2], np.uint64)
        f['/axons/agglomerate/2'] = np.array([3, 2 ** 64 - 2], np.uint64)
    with pytest.raises(InputError, match=r'axons.hdf5: /axons/agglomerate/2 holds '
                                         r'18446744073709551614, too large for a region id'):
        objectmap.build([Request('axon', path)], 20)


@pytest.mark.parametrize('edges', [[[1.5], [2.5]], [[1], [2.0000001]]])
def test_fractional_skeleton_edges_are_refused(tmp_path, edges):
    folder = _plain_authors_files(tmp_path / 'release')
    with h5py.File(folder / 'axons.hdf5', 'r+') as f:
        del f['/axons/skeleton/1/edges']
        f['/axons/skeleton/1/edges'] = np.array(edges, np.float64)
    with authors.AuthorsFile(folder / 'axons.hdf5') as f:
        with pytest.raises(InputError, match=r'axons.hdf5: /axons/skeleton/1/edges holds '
                                             r'[0-9.]+, not a node index'):
            f.skeletons('/axons/skeleton', [1])


# ---------------------------------------------------------------------------------------
# The demo's files in the authors' layout

@pytest.fixture(scope='module')
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp('authors') / 'data'
    generate_dataset(folder, size='small', seed=3)
    truth = read_truth(folder)
    return dict(folder=folder, authors=folder / 'objects' / 'authors', truth=truth,
                expected=read_authors_truth(folder), maximum=truth['maximum_region_id'])


def _equal(a, b):
    if a.dtype.kind == 'f':
        return a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True)
    return b.dtype == np.int32 and np.array_equal(a, b)


def test_the_layout_is_the_authors_export(demo):
    """What their MATLAB export writes: root attribute info, contiguous datasets, 1-D
    vectors, k x 3 matrices stored (3, k), categorical uint8 with a code per name."""
    with h5py.File(demo['authors'] / 'axons.hdf5', 'r') as f:
        assert 'info' in f.attrs
        cls = f['/axons/class']
        assert cls.dtype == np.uint8 and cls.attrs['inhibitory'] == 3
        n = cls.shape[0]
        assert sorted(f['/axons/agglomerate'], key=int) == [str(k) for k in range(1, n + 1)]
        first = f['/axons/agglomerate/1']
        assert first.ndim == 1 and first.dtype == np.uint32 and first.chunks is None
        sk = f['/axons/skeleton/1']
        k = sk['segIds'].shape[0]
        assert sk['nodes'].shape == (3, k) and sk['edges'].shape[0] == 2
    with h5py.File(demo['authors'] / 'synapses.hdf5', 'r') as f:
        s = f['/synapses/type'].shape[0]
        for name in ('prePosition', 'synPosition', 'postPosition'):
            assert f['/synapses/' + name].shape == (3, s)
        assert f['/synapses/asiArea'].dtype == np.float64
    with h5py.File(demo['authors'] / 'segments.hdf5', 'r') as f:
        assert f['/segments/position'].shape == (3, demo['maximum'])


def test_folder_gives_the_ground_truth(demo):
    requests, files, missing = objectmap.folder_requests(demo['authors'])
    assert not missing and sorted(files) == ['axons', 'dendrites', 'segments', 'synapses']
    result = objectmap.build(requests, demo['maximum'])
    expected = demo['expected']['objects']
    assert sorted(result.arrays) == sorted(expected)
    for name, values in expected.items():
        assert _equal(values, result.arrays[name]), name
    # The demo has regions on several synapses, and the log line says how many.
    line = [m for m in result.messages if m.startswith('presynapse:')][0]
    assert 'regions in two or more objects (the lowest id kept)' in line
    names = result.metadata['axonclass']['category_names']
    assert list(names) == ['corticocortical', 'thalamocortical', 'inhibitory', 'other']


def test_pairs_the_way_the_seed_names_them(demo):
    a = demo['authors']
    files = {'axon': 'axons', 'dendrite': 'dendrites', 'spinehead': 'dendrites',
             'neuron': 'dendrites', 'presynapse': 'synapses', 'postsynapse': 'synapses',
             'axonclass': 'axons', 'dendriteclass': 'dendrites'}
    result = objectmap.build([Request(n, str(a / (f + '.hdf5'))) for n, f in files.items()],
                             demo['maximum'])
    for name in files:
        assert _equal(demo['expected']['objects'][name], result.arrays[name]), name


def test_file_path_and_via(demo):
    a = demo['authors']
    d = str(a / 'dendrites.hdf5')
    requests = [Request('den', d, '/dendrites/agglomerate'),
                Request('cell', d, '/dendrites/neuronId', via='den'),
                Request('cell2', d, '/dendrites/neuronId', via='/dendrites/agglomerate')]
    result = objectmap.build(requests, demo['maximum'])
    expected = demo['expected']['objects']
    assert _equal(expected['dendrite'], result.arrays['den'])
    assert _equal(expected['neuron'], result.arrays['cell'])
    assert _equal(expected['neuron'], result.arrays['cell2'])


def test_neuron_id_is_never_read_as_a_lookup(demo):
    d = str(demo['authors'] / 'dendrites.hdf5')
    for request, variable in ((Request('neuron', d), '/dendrites/neuronId'),
                              (Request('neuron', d, '/dendrites/neuronId'), None)):
        with pytest.raises(InputError) as e:
            objectmap.build([request], demo['maximum'], variable=variable)
        text = str(e.value)
        assert 'dendrites.hdf5' in text and '/dendrites/neuronId' in text
        assert 'one value per dendrite' in text and 'via dendrite' in text


def test_a_generic_vector_of_one_value_per_object_is_refused(demo, tmp_path):
    """The same vector copied into a plain HDF5 file: read as a per-region lookup it is
    far shorter than the segmentation, which says why."""
    with h5py.File(demo['authors'] / 'dendrites.hdf5', 'r') as f:
        neuron_id = f['/dendrites/neuronId'][()]
    path = tmp_path / 'plain.h5'
    with h5py.File(path, 'w') as f:
        f['lookup'] = np.r_[0, neuron_id]
    with pytest.raises(InputError, match='plain.h5: read as a per-region lookup.*padLookups'):
        objectmap.build([Request('neuron', str(path))], demo['maximum'])
    result = objectmap.build([Request('neuron', str(path))], demo['maximum'], pad_lookups=True)
    assert result.arrays['neuron'].size == demo['maximum'] + 1


def _copy(demo, tmp_path):
    folder = tmp_path / 'authors'
    shutil.copytree(demo['authors'], folder)
    return folder


@pytest.mark.parametrize('case', ['no files', 'truncated', 'foreign', 'neuronId too short',
                                  'codes without names', 'wrong file for the name',
                                  'unknown name', 'member names'])
def test_bad_input_names_file_and_dataset(demo, tmp_path, case):
    folder = _copy(demo, tmp_path)
    requests = None
    if case == 'no files':
        for n in os.listdir(folder):
            os.remove(folder / n)
        words = [str(folder), 'none of the authors\' object files', 'axons.hdf5']
    elif case == 'truncated':
        data = (folder / 'axons.hdf5').read_bytes()
        (folder / 'axons.hdf5').write_bytes(data[:len(data) // 2])
        words = ['axons.hdf5']
    elif case == 'foreign':
        requests = [Request('axon', str(folder / 'segments.hdf5'))]
        words = ['segments.hdf5', 'axon comes from the authors\' axons file']
    elif case == 'neuronId too short':
        with h5py.File(folder / 'dendrites.hdf5', 'r+') as f:
            v = f['/dendrites/neuronId'][()]
            del f['/dendrites/neuronId']
            f['/dendrites/neuronId'] = v[:-2]
        words = ['dendrites.hdf5 /dendrites/neuronId', '%d values' % (v.size - 2),
                 'dendrite id %d' % v.size]
    elif case == 'codes without names':
        with h5py.File(folder / 'axons.hdf5', 'r+') as f:
            del f['/axons/class'].attrs['other']
        words = ['axons.hdf5 /axons/class', 'category codes 4 have no name']
    elif case == 'wrong file for the name':
        requests = [Request('spinehead', str(folder / 'axons.hdf5'))]
        words = ['spinehead comes from the authors\' dendrites file', 'axons.hdf5']
    elif case == 'unknown name':
        requests = [Request('bouton', str(folder / 'synapses.hdf5'))]
        words = ['synapses.hdf5 is the authors\' synapses file', 'presynapse',
                 'bouton synapses.hdf5:/synapses/preSegIds']
    else:
        with h5py.File(folder / 'dendrites.hdf5', 'r+') as f:
            f['/spineHeads/agglomerate/head7'] = np.array([1], np.uint32)
        words = ['dendrites.hdf5', '/spineHeads/agglomerate', "'head7'"]
    before = {n: (folder / n).read_bytes() for n in os.listdir(folder)}
    with pytest.raises(InputError) as e:
        if requests is None:
            requests = objectmap.folder_requests(folder)[0]
        objectmap.build(requests, demo['maximum'])
    for w in words:
        assert w in str(e.value), str(e.value)
    assert before == {n: (folder / n).read_bytes() for n in os.listdir(folder)}


# ---------------------------------------------------------------------------------------
# The demo's truth agrees with its voxels (what issue 13's markers and skeletons rely on)

def _labels(folder):
    with open_tiles(str(folder / 'segmentation'), missing='zero') as ts:
        return ts.read()


def test_truth_is_consistent_with_the_voxels(demo):
    labels = _labels(demo['folder'])                   # z, y, x
    a = demo['authors']
    expected = demo['expected']

    def region_at(xyz1):
        x, y, z = (int(c) - 1 for c in xyz1)
        return int(labels[z, y, x])
    with h5py.File(a / 'segments.hdf5', 'r') as f:
        position = f['/segments/position'][()]
        counts = f['/segments/voxelCount'][()]
    present = np.flatnonzero(counts) + 1
    assert np.array_equal(present, demo['truth']['region_ids'])
    for r in present[::7]:
        assert region_at(position[:, r - 1]) == r
    sizes = np.bincount(labels.ravel(), minlength=demo['maximum'] + 1)
    assert np.array_equal(sizes[1:], counts)
    for kind, attribute in (('axons', 'axon'), ('dendrites', 'dendrite')):
        with h5py.File(a / (kind + '.hdf5'), 'r') as f:
            for n, sk in f['/%s/skeleton' % kind].items():
                nodes, seg_ids = sk['nodes'][()], sk['segIds'][()]
                edges = sk['edges'][()]
                assert nodes.shape == (3, seg_ids.size) and edges.min() >= 1
                assert edges.max() <= seg_ids.size
                for k in range(seg_ids.size):
                    assert region_at(nodes[:, k]) == seg_ids[k]
                # every node lies in its own object
                assert np.all(expected['objects'][attribute][seg_ids] == int(n))
    with h5py.File(a / 'synapses.hdf5', 'r') as f:
        pre = f['/synapses/prePosition'][()]
        post = f['/synapses/postPosition'][()]
        for k in range(1, f['/synapses/type'].shape[0] + 1):
            pre_ids = f['/synapses/preSegIds/%d' % k][()]
            post_ids = f['/synapses/postSegIds/%d' % k][()]
            assert region_at(pre[:, k - 1]) in pre_ids
            assert region_at(post[:, k - 1]) in post_ids
            # the lowest synapse id on each region
            assert np.all(expected['objects']['presynapse'][pre_ids] <= k)
            assert np.all(expected['objects']['postsynapse'][post_ids] <= k)
            assert f['/synapses/preAxonId'][k - 1] == \
                expected['objects']['axon'][pre_ids[0]]


def test_recognise_by_content(demo, tmp_path):
    a = demo['authors']
    for name, kind in (('axons.hdf5', 'axons'), ('dendrites.hdf5', 'dendrites'),
                       ('synapses.hdf5', 'synapses'), ('segments.hdf5', 'segments')):
        shutil.copy(a / name, tmp_path / ('x' + name))
        assert authors.recognise(str(tmp_path / ('x' + name))) == kind
    assert authors.recognise(str(demo['folder'] / 'truth.hdf5')) is None
