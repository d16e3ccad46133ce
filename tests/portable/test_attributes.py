"""pipeline/attributes.py, pipeline/attributefile.py and formats/hdf5edit.py: object lists
to int32 arrays, written under /attributes of a Chimera map without ever leaving it
half-changed (pure modules)."""

import hashlib
import os

import h5py
import numpy as np
import pytest

from chimerax.connectome.formats import hdf5edit
from chimerax.connectome.pipeline import attributes
from chimerax.connectome.pipeline.attributefile import AttributeFile, AttributeInfo, Category
from chimerax.connectome.formats.cmap import ChimeraMapWriter
from chimerax.connectome.errors import InputError


def write_segmentation(path, labels, maximum=True, steps=((2, 2, 2),)):
    """A Chimera map of region ids as combine writes it (all chunks at every level)."""
    from chimerax.connectome.pipeline.pyramid import downsample
    w = ChimeraMapWriter(str(path), labels.shape, labels.dtype, steps, chunk_side=16)
    try:
        for level, lv in enumerate(w.levels):
            data = labels if level == 0 else downsample(labels, lv.step[::-1], "mode")
            for index in np.ndindex(*lv.chunk_grid):
                sl = tuple(slice(i * c, (i + 1) * c) for i, c in zip(index, lv.chunk_shape))
                block = np.zeros(lv.chunk_shape, labels.dtype)
                part = data[sl]
                block[tuple(slice(0, n) for n in part.shape)] = part
                w.write_chunk(level, index, lv.codec.encode(block))
        if maximum:
            w.set_maximum_segment_id(int(labels.max()))
    finally:
        w.close()
    return path


def digest(path):
    return hashlib.sha256(open(path, 'rb').read()).hexdigest()


@pytest.fixture
def labels():
    rng = np.random.default_rng(1)
    return rng.integers(0, 500, (20, 24, 28)).astype(np.uint32)


@pytest.fixture
def seg(tmp_path, labels):
    return write_segmentation(tmp_path / 'seg.cmap', labels)


# --- build_attribute -------------------------------------------------------------------

def test_build_assigns_object_ids_and_counts():
    regions = np.array([5, 7, 9, 2, 3, 3])
    objects = np.array([1, 1, 1, 2, 2, 2])      # region 3 twice in one object: no conflict
    values, stats = attributes.build_attribute('axon', regions, objects, 3, 10)
    assert values.dtype == np.int32 and values.shape == (11,)
    expected = np.zeros(11, np.int32)
    expected[[5, 7, 9]] = 1
    expected[[2, 3]] = 2
    assert np.array_equal(values, expected)
    assert (stats.objects, stats.assigned, stats.unassigned, stats.conflicts) == (3, 5, 5, 0)
    assert stats.message() == 'axon: 3 objects, 5 regions assigned, 5 regions in no object'
    stats.name = 'presynapse'
    assert stats.message().startswith('presynapse: 3 synapses, 5 regions assigned')


def test_conflicts_error_first_last():
    regions = np.array([4, 6, 4, 8, 6])
    objects = np.array([1, 1, 2, 2, 3])
    with pytest.raises(InputError) as e:
        attributes.build_attribute('dendrite', regions, objects, 3, 9, path='/x/d.csv')
    text = str(e.value)
    assert 'd.csv' in text and '2 regions' in text
    assert 'region 4 in objects 1, 2' in text and 'region 6 in objects 1, 3' in text
    first, s = attributes.build_attribute('dendrite', regions, objects, 3, 9, 'first')
    last, _ = attributes.build_attribute('dendrite', regions, objects, 3, 9, 'last')
    assert (first[4], first[6], first[8]) == (1, 1, 2)
    assert (last[4], last[6], last[8]) == (2, 3, 2)
    assert s.conflicts == 2 and 'regions in two or more objects (the first listed kept)' in s.message()


@pytest.mark.parametrize('regions,words', [
    ([3, 11], ['larger than', 'maximum region id 10', '11']),
    ([3, -2], ['negative', '-2']),
    ([0, 3], ['region id 0']),
])
def test_bad_region_ids_name_the_file(regions, words):
    with pytest.raises(InputError) as e:
        attributes.build_attribute('axon', np.array(regions), np.array([1, 2]), 2, 10,
                                   path='/data/axons.mat')
    assert 'axons.mat' in str(e.value)
    for w in words:
        assert w in str(e.value)


def test_build_is_vectorised_at_scale():
    """A million objects, 3 million memberships: must not take a per-region loop's time."""
    import time
    rng = np.random.default_rng(0)
    maximum = 3_000_000
    regions = rng.permutation(maximum)[:2_000_000] + 1
    objects = np.sort(rng.integers(1, 1_000_001, regions.size))
    t = time.process_time()
    values, stats = attributes.build_attribute('axon', regions, objects, 1_000_000, maximum)
    assert time.process_time() - t < 10      # a per-region Python loop takes minutes
    assert np.array_equal(values[regions], objects)
    assert stats.assigned == regions.size


# --- the segmentation file -------------------------------------------------------------

def test_segmentation_file_survey(seg, labels):
    s = AttributeFile(seg).survey()
    assert s.maximum_id() == int(labels.max())
    assert s.attributes == {}
    assert 'data_zyx' in s.other_names and 'step' in s.other_names


def test_maximum_computed_when_not_stored(tmp_path, labels):
    path = write_segmentation(tmp_path / 'nomax.cmap', labels, maximum=False)
    s = AttributeFile(path).survey()
    assert s.stored_maximum is None
    seen = []
    assert s.maximum_id(lambda done, total: seen.append((done, total))) == int(labels.max())
    assert seen[-1] == (labels.shape[0], labels.shape[0])


def test_write_keep_replace_and_list(seg, labels):
    before = h5py.File(seg, 'r')['Chimera/image1/data_zyx'][()]
    a = np.arange(501, dtype=np.int32) % 7
    b = np.arange(501, dtype=np.int32) % 5
    AttributeFile(seg).write({'axon': a, 'dendrite': b})
    c = np.arange(501, dtype=np.int32) % 3
    AttributeFile(seg).write({'axon': c})
    with h5py.File(seg, 'r') as f:
        assert sorted(f['attributes']) == ['axon', 'dendrite']
        assert np.array_equal(f['attributes/axon'][()], c)
        assert np.array_equal(f['attributes/dendrite'][()], b)
        assert f['attributes/axon'].dtype == np.int32
        assert np.array_equal(f['Chimera/image1/data_zyx'][()], before)
        assert 'attributes.new' not in f
    listed = AttributeFile(seg).listing()
    assert listed == [('axon', 501, 2), ('dendrite', 501, 4)]


def test_info_and_description_of_ids_categories_and_numbers(seg):
    """What the panel, connectome color and the listing read about each array: typed
    records from the arrays' HDF5 attributes."""
    f = AttributeFile(seg)
    volume = np.full(501, np.nan, np.float32)
    volume[[3, 7]] = 0.5
    f.write({'axon': np.arange(501, dtype=np.int32) % 7,
             'axonclass': np.arange(501, dtype=np.int32) % 3, 'volume': volume},
            metadata={'axonclass': {
                'kind': 'category', 'objects': 'axon', 'source': 'axons.hdf5',
                'category_names': np.array(['exc', 'inh'], dtype=h5py.string_dtype()),
                'category_codes': np.array([1, 2], np.int32),
                'category_objects': np.array([4, 2], np.int64)},
                'volume': {'kind': 'number', 'unit': 'um^3'}})
    info = f.info()
    assert info['axon'] == AttributeInfo('id')
    assert info['axonclass'] == AttributeInfo('category', 'axon', '', 'axons.hdf5', (
        Category('exc', 1, 4), Category('inh', 2, 2)))
    assert info['volume'] == AttributeInfo('number', unit='um^3')
    assert f.describe() == [('axon', 501, '6 objects'),
                            ('axonclass', 501, 'categories of each axon: exc (4), inh (2)'),
                            ('volume', 501, 'a number per region (um^3; 2 regions with a'
                                            ' value)')]
    assert f.class_names() == ['axon', 'axonclass']
    assert np.array_equal(f.read('axonclass'), np.arange(501) % 3)
    assert f.read('nothing') is None
    missing = AttributeFile(str(seg) + '.gone')
    assert not missing.exists and missing.info() == {} and missing.class_names() == []


def test_a_hundred_thousand_category_names(seg):
    # HDF5 attributes must fit in an object header (64 KiB): these names did not
    # ("object header message is too large"); they are kept in a dataset.
    names = ['class number %d' % k for k in range(1, 100001)]
    f = AttributeFile(seg)
    f.write({'axonclass': np.arange(501, dtype=np.int32) % 3},
            metadata={'axonclass': {
                'kind': 'category', 'objects': 'axon',
                'category_names': np.array(names, dtype=h5py.string_dtype()),
                'category_codes': np.arange(1, 100001, dtype=np.int32),
                'category_objects': np.ones(100000, np.int64)}})
    info = f.info()['axonclass']
    assert len(info.categories) == 100000
    assert info.categories[-1] == Category('class number 100000', 100000, 1)
    assert f.class_names() == ['axonclass']
    assert [n for n, _, _ in f.listing()] == ['axonclass']
    # Replacing the array replaces its categories; another write keeps them.
    f.write({'axonclass': np.zeros(501, np.int32)}, metadata={'axonclass': {
        'kind': 'category', 'category_names': np.array(['one'], dtype=h5py.string_dtype()),
        'category_codes': np.array([1], np.int32), 'category_objects': np.array([0])}})
    f.write({'axon': np.zeros(501, np.int32)})
    assert f.info()['axonclass'].categories == (Category('one', 1, 0),)
    f.write({'axonclass': np.zeros(501, np.int32)})
    assert f.info()['axonclass'].categories == ()


def test_categories_kept_as_attributes_still_read(seg):
    """Files this bundle wrote before kept categories as the array's HDF5 attributes."""
    with h5py.File(seg, 'r+') as h:
        ds = h.create_dataset('attributes/axonclass', data=np.arange(501, dtype=np.int32) % 3)
        ds.attrs['kind'] = 'category'
        ds.attrs['objects'] = 'axon'
        ds.attrs['category_names'] = np.array(['exc', 'inh'], dtype=h5py.string_dtype())
        ds.attrs['category_codes'] = np.array([1, 2], np.int32)
        ds.attrs['category_objects'] = np.array([4, 2], np.int64)
    assert AttributeFile(seg).info()['axonclass'].categories == (
        Category('exc', 1, 4), Category('inh', 2, 2))


def test_maximum_segment_id_written_when_missing(tmp_path, labels):
    path = write_segmentation(tmp_path / 'nomax.cmap', labels, maximum=False)
    AttributeFile(path).write({'axon': np.zeros(501, np.int32)}, maximum_id=499)
    with h5py.File(path, 'r') as f:
        assert int(f['Chimera/image1'].attrs['maximum_segment_id']) == 499


def test_names_checked(seg):
    AttributeFile(seg).write({'axon': np.zeros(3, np.int32)})
    s = AttributeFile(seg).survey()
    s.check_names(['axon'], replace=True)
    with pytest.raises(InputError, match='already has attribute axon.*replace true'):
        s.check_names(['axon'], replace=False)
    with pytest.raises(InputError, match="'data_zyx' already names /(\\.chunk_index/)?Chimera/image1/data_zyx"):
        s.check_names(['data_zyx'], replace=True)
    with pytest.raises(InputError, match="'step' already names"):
        s.check_names(['step'], replace=True)


@pytest.mark.parametrize('case', ['float', 'uint8', 'not hdf5', 'not a map', 'missing'])
def test_not_a_segmentation(tmp_path, case):
    path = tmp_path / 'x.cmap'
    if case == 'float':
        write_segmentation(path, np.ones((4, 4, 4), np.float32) * 1.5, maximum=False, steps=())
        words = 'not a segmentation: its values are float32'
    elif case == 'uint8':        # the EM image given by mistake
        write_segmentation(path, np.ones((4, 4, 4), np.uint8), maximum=False, steps=())
        words = 'an 8-bit map is an EM image'
    elif case == 'not hdf5':
        path.write_text('hello')
        words = 'not an HDF5'
    elif case == 'not a map':
        with h5py.File(path, 'w') as f:
            f['data'] = np.zeros((2, 2, 2), np.uint32)
        words = 'not a Chimera map'
    else:
        words = 'no such file'
    before = digest(path) if path.exists() else None
    with pytest.raises(InputError) as e:
        AttributeFile(path).survey()
    assert str(path) in str(e.value) and words in str(e.value)
    assert (digest(path) if path.exists() else None) == before


# --- the atomic edit -------------------------------------------------------------------

def test_failed_edit_changes_nothing(seg):
    before = digest(seg)
    with pytest.raises(RuntimeError):
        with hdf5edit.Edit(seg) as f:
            f.create_dataset('junk', data=np.arange(100000))
            f['Chimera/image1'].attrs['junk'] = 1
            raise RuntimeError('stop')
    assert digest(seg) == before


def test_edit_touching_two_pages_is_refused(seg):
    """Changing metadata far from the first page (here: an attribute on a dataset written
    late in the file) cannot be one atomic write, so it is refused, file untouched."""
    AttributeFile(seg).write({'axon': np.zeros(3, np.int32)})
    before = digest(seg)
    with pytest.raises(hdf5edit.NotAtomic, match='not changed'):
        with hdf5edit.Edit(seg) as f:
            f['attributes/axon'].attrs['note'] = np.arange(50)
            f['/'].attrs['other'] = np.arange(50)
    assert digest(seg) == before


def test_overlay_reads_what_was_written(tmp_path):
    path = tmp_path / 'f.bin'
    original = bytes(range(256)) * 40                # 10240 bytes: 2.5 pages
    path.write_bytes(original)
    o = hdf5edit.Overlay(str(path))
    o.seek(4090)
    o.write(b'ABCDEFGHIJ')                           # across the first page boundary
    o.seek(10230)
    o.write(b'0123456789tail')                       # across the end of the file
    o.seek(0)
    expected = bytearray(original)
    expected[4090:4100] = b'ABCDEFGHIJ'
    expected[10230:10240] = b'0123456789'
    expected += b'tail'
    assert o.read() == bytes(expected)
    assert sorted(o.changed_pages()) == [0, 1, 2]
    o.truncate(5000)
    o.seek(0)
    assert o.read() == bytes(expected[:5000])
    o.close()
    assert path.read_bytes() == original


def test_dead_tail_is_cut_off(seg):
    """A commit killed after writing its tail leaves bytes past the EOA; the next edit
    drops them before it starts."""
    size = os.path.getsize(seg)
    with open(seg, 'ab') as f:
        f.write(b'x' * 5000)
    AttributeFile(seg).write({'axon': np.arange(10, dtype=np.int32)})
    with h5py.File(seg, 'r') as f:
        assert np.array_equal(f['attributes/axon'][()], np.arange(10))
    fd = os.open(seg, os.O_RDONLY)
    try:
        assert hdf5edit.superblock_eoa(fd, str(seg)) == os.path.getsize(seg)
    finally:
        os.close(fd)
    assert os.path.getsize(seg) > size
