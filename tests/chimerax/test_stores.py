"""`open PATH format precomputed|zarr|n5`: a chunked store, written here by tensorstore,
CloudVolume or zarr-python, opened as one ChimeraX volume whose subsamples are the
store's scales; segmentations from stores coloured, surfaced and read out like .cmap ones,
their attributes in the store's attribute file; `connectome combine` from a store."""

import html
import json
import os
import re
import types

import h5py
import numpy as np
import pytest

import segfixtures
import stores
import tilesets

pytestmark = pytest.mark.chimerax

SHAPE = (20, 36, 44)                        # z,y,x
FACTORS = [(2, 2, 1), (4, 4, 2)]            # x,y,z, per level after the first
FACTORS_ZYX = [tuple(reversed(f)) for f in FACTORS]
LIME = (0, 255, 0)


@pytest.fixture(scope='module')
def labels():
    return tilesets.labels(SHAPE, seed=5, max_id=5000)


def write(kind, folder, levels):
    if kind == 'tensorstore raw':
        return stores.precomputed_tensorstore(folder / 'seg', levels, FACTORS, offset=(4, 8, 2)), \
            'precomputed'
    if kind == 'tensorstore compressed_segmentation sharded':
        return stores.precomputed_tensorstore(folder / 'seg', levels, FACTORS, sharded=True,
                                              encoding='compressed_segmentation'), 'precomputed'
    if kind == 'cloudvolume compressed_segmentation':
        return stores.precomputed_cloudvolume(folder / 'seg', levels, FACTORS, offset=(4, 8, 2),
                                              encoding='compressed_segmentation'), 'precomputed'
    if kind == 'ome-zarr':
        return stores.ome_zarr(folder / 'seg.zarr', levels, FACTORS, label=True), 'zarr'
    if kind == 'ome-zarr v3':
        return stores.ome_zarr_v3(folder / 'seg.zarr', levels, FACTORS), 'zarr'
    if kind == 'n5':
        return stores.n5(folder / 'seg.n5', levels, FACTORS), 'n5'
    raise ValueError(kind)


KINDS = ['tensorstore raw', 'tensorstore compressed_segmentation sharded',
         'cloudvolume compressed_segmentation', 'ome-zarr', 'ome-zarr v3', 'n5']


@pytest.mark.parametrize('kind', KINDS)
def test_every_level_is_the_written_array(session, run, labels, tmp_path, kind):
    levels = stores.pyramid(labels, FACTORS_ZYX)
    path, format = write(kind, tmp_path, levels)
    (v,) = run('open %s format %s' % (path, format))
    from chimerax.map import Volume
    assert session.models.list(type=Volume) == [v]
    assert v.data.size == tuple(reversed(SHAPE)) and v.data.value_type == np.uint32
    assert v.data.step == (8, 8, 40)
    if kind.endswith('raw') or kind.startswith('cloudvolume'):
        # Voxel offset 4,8,2, the first voxel's centre half a voxel in, x 8,8,40 nm.
        assert v.data.origin == (36, 68, 100)
    # ChimeraX's own level choice (SubsampledGrid): a step picks the level it divides.
    assert sorted(v.data.available_subsamplings) == [(1, 1, 1), (2, 2, 1), (4, 4, 2)]
    for step, level in zip([(1, 1, 1)] + FACTORS, levels):
        m = v.data.matrix(ijk_step=step)
        assert np.array_equal(m, level), step
    run('volume #1 region all step 2,2,1')
    assert np.array_equal(v.matrix(), levels[1])
    run('volume #1 region 4,6,3,35,30,17 step 4,4,2')
    assert np.array_equal(v.matrix(), levels[2][2:9, 2:8, 1:9])
    run('volume #1 region 5,7,3,40,30,10 step 1')
    assert np.array_equal(v.matrix(), labels[3:11, 7:31, 5:41])


def test_paths_recognised_without_format(session, run, labels, tmp_path):
    levels = stores.pyramid(labels, FACTORS_ZYX)
    zarr_path = stores.ome_zarr(tmp_path / 'a.zarr', levels, FACTORS)
    n5_path = stores.n5(tmp_path / 'b.n5', levels, FACTORS)
    pc = stores.precomputed_tensorstore(tmp_path / 'c', levels, FACTORS)
    opened = [run('open %s' % zarr_path)[0], run('open %s' % n5_path)[0],
              run('open precomputed://%s' % pc)[0], run('open file://%s' % pc)[0],
              run('open zarr://file://%s' % zarr_path)[0]]
    assert [v.data.file_type for v in opened] == ['zarr', 'n5', 'precomputed', 'precomputed',
                                                  'zarr']
    for v in opened:
        assert np.array_equal(v.full_matrix(), labels)


def test_remote_store_over_http(session, run, labels, tmp_path):
    """A sharded store served over HTTP (byte ranges), as from a bucket."""
    levels = stores.pyramid(labels, FACTORS_ZYX)
    stores.precomputed_tensorstore(tmp_path / 'seg', levels, FACTORS, sharded=True,
                                   encoding='compressed_segmentation')
    with stores.LoopbackServer(tmp_path) as server:
        (v,) = run('open precomputed://%sseg attributesFile %s'
                   % (server.url, tmp_path / 'seg-ids.h5'))
        assert np.array_equal(v.data.matrix(ijk_step=(4, 4, 2)), levels[2])
        assert np.array_equal(v.full_matrix(), labels)


def test_bad_stores_are_user_errors(session, run, labels, tmp_path):
    from chimerax.core.errors import UserError
    levels = stores.pyramid(labels, FACTORS_ZYX)
    bad = stores.precomputed_tensorstore(tmp_path / 'bad', levels[:1], [])
    info = os.path.join(bad, 'info')
    with open(info) as f:
        text = f.read()
    with open(info, 'w') as f:
        f.write(text.replace('"raw"', '"zfpc"'))
    with pytest.raises(UserError, match='bad: scale 8_8_40 has encoding zfpc'):
        run('open %s format precomputed' % bad)
    (tmp_path / 'empty').mkdir()
    with pytest.raises(UserError, match='empty is not a neuroglancer precomputed store'):
        run('open %s format precomputed' % (tmp_path / 'empty'))
    good = stores.precomputed_tensorstore(tmp_path / 'good', levels[:1], [])
    for option, message in (('voxelSize 0', 'voxelSize must be positive and finite, not 0'),
                            ('voxelSize inf', 'voxelSize must be positive and finite, not inf'),
                            ('voxelSize -1,1,1', 'voxelSize must be positive and finite'),
                            ('origin nan', 'origin must be finite, not nan')):
        with pytest.raises(UserError, match='open precomputed: ' + message):
            run('open %s format precomputed %s' % (good, option))
    zero = stores.precomputed_tensorstore(tmp_path / 'zero', levels[:1], [])
    info = os.path.join(zero, 'info')
    with open(info) as f:
        text = f.read()
    with open(info, 'w') as f:
        f.write(re.sub(r'"resolution": *\[[^]]*\]', '"resolution": [0, 8, 40]', text))
    with pytest.raises(UserError, match=r'zero: scale 8_8_40 has voxel size 0,8,40 in its'):
        run('open %s format precomputed' % zero)
    assert not session.models.list()


def test_missing_chunks_read_as_zeros(session, run, labels, tmp_path):
    path = stores.precomputed_tensorstore(tmp_path / 'seg', [labels], [], chunk=(16, 16, 8))
    folder = os.path.join(path, '8_8_40')
    os.remove(os.path.join(folder, '16-32_0-16_8-16'))          # x 16-31, y 0-15, z 8-15
    (v,) = run('open %s format precomputed' % path)
    expect = labels.copy()
    expect[8:16, 0:16, 16:32] = 0
    assert np.array_equal(v.full_matrix(), expect)


# ---------------------------------------------------------------------------------------
# A segmentation store with everything the bundle does

def write_pair_stores(folder, offset=(0, 0, 0)):
    em, seg = segfixtures.volumes()
    step = segfixtures.STEP
    img = stores.precomputed_tensorstore(folder / 'em', [em], [], resolution=step,
                                         offset=offset)
    sg = stores.precomputed_tensorstore(folder / 'seg', stores.pyramid(seg, [(1, 2, 2)]),
                                        [(2, 2, 1)], resolution=step, offset=offset,
                                        encoding='compressed_segmentation')
    arrays = segfixtures.attribute_arrays()
    files = {}
    for name in ('axon', 'neuron'):
        values = arrays[name]
        regions = np.flatnonzero(values)
        path = folder / ('%s.csv' % name)
        with open(path, 'w') as f:
            f.write('region,object\n')
            f.writelines('%d,%d\n' % (r, values[r]) for r in regions)
        files[name] = str(path)
    return img, sg, files, em, seg


def test_ids_color_surfaces_readout_from_a_store(session, run, tmp_path):
    img, sg, files, em, seg = write_pair_stores(tmp_path)
    (ev,) = run('open %s format precomputed' % img)
    (sv,) = run('open %s format precomputed' % sg)
    sidecar = sg + '.attributes.h5'
    assert sv.data.attribute_file.path == sidecar and not os.path.exists(sidecar)
    run('connectome ids #2 axon %s neuron %s' % (files['axon'], files['neuron']))
    truth = segfixtures.attribute_arrays()
    with h5py.File(sidecar, 'r') as f:
        assert np.array_equal(f['attributes/axon'][()], truth['axon'])
        assert int(f['store'].attrs['maximum_segment_id']) == int(seg.max())
    assert not any(n.endswith('.h5') for n in os.listdir(sg))     # the store is untouched

    # ChimeraX's attribute lookup reads the file, not only what ids set on the model.
    del sv.axon
    from chimerax.connectome.session.classes import forget_classes, segmentation_classes
    forget_classes(sv)
    assert segmentation_classes(sv) == ['axon', 'neuron']
    from chimerax.connectome.session import compat
    assert np.array_equal(compat.attribute_values(sv, 'axon'), truth['axon'])

    run('connectome color #2 map #1 attributes axon colors lime')
    k = segfixtures.BLOCK + segfixtures.BLOCK // 2
    pixels, at = render_plane(session, run, ev, k)
    nx, ny, _ = segfixtures.SIZE
    axon_seen = other_seen = 0
    # The plane spans the voxel centres: edge voxels are half drawn, so skipped.
    for y in range(1, ny - 1):
        for x in range(1, nx - 1):
            t = segfixtures.truth_at((x, y, k))
            p = at(x, y)
            if t['region'] and t['axon']:
                assert p[1] > 150 and p[0] < 40 and p[2] < 40, (x, y, p)
                axon_seen += 1
            elif t['region']:
                assert p[0] > 150 and abs(p[0] - p[1]) < 20, (x, y, p)
                other_seen += 1
    assert axon_seen > 50 and other_seen > 50

    box = 0                                             # box 0 is an axon region
    xyz = sv.data.ijk_to_xyz(segfixtures.box_center_ijk(box))
    found = run('connectome at %.3f,%.3f,%.3f segmentation #2' % tuple(xyz))
    truth_here = segfixtures.truth_at(segfixtures.box_center_ijk(box))
    assert found == {k: truth_here[k] for k in ('region', 'axon', 'neuron')}

    axon = segfixtures.object_ids(box)['axon']
    surfaces = run('connectome surfaces #2 where axon=%d' % axon)
    assert len(surfaces) == 1 and len(surfaces[0].vertices) > 0
    # The surface wraps exactly the boxes of that axon's regions (within a voxel).
    step = np.array(segfixtures.STEP)
    corners = np.array([sv.data.ijk_to_xyz(c) for b, c in segfixtures.boxes()
                        if segfixtures.object_ids(b)['axon'] == axon])
    v = surfaces[0].vertices
    assert np.all(v.min(axis=0) >= corners.min(axis=0) - step)
    assert np.all(v.max(axis=0) <= corners.max(axis=0) + segfixtures.BLOCK * step)
    inside = [any(np.all((p >= c - step) & (p <= c + segfixtures.BLOCK * step))
                  for c in corners) for p in v[::max(1, len(v) // 200)]]
    assert all(inside)


def render_plane(session, run, em, k, pixels_per_voxel=3):
    nx, ny, _ = em.data.size
    run('volume #1 style image region 0,0,%d,%d,%d,%d step 1 level 0,0 level 255,1'
        ' color white brightness 1 colorMode rgb8 linearInterpolation false'
        % (k, nx - 1, ny - 1, k))
    # Orthographic, looking down -z, x to the right; square, as the offscreen window is.
    # A frame first: the view ChimeraX fits to newly shown models is applied then.
    run('lighting flat; camera ortho; wait 1')
    n = max(nx, ny)
    w = h = n * pixels_per_voxel
    session.main_view.camera.field_width = n * em.data.step[0]
    cx, cy, cz = em.data.ijk_to_xyz(((nx - 1) / 2, (ny - 1) / 2, k))
    run('view matrix camera 1,0,0,%.6f,0,1,0,%.6f,0,0,1,%.6f' % (cx, cy, cz + 1000))
    pixels = np.asarray(session.main_view.image(w, h, supersample=None).convert('RGB'))

    def at(x, y):
        # The pixel whose centre is voxel x,y's centre.
        col = w / 2 + (x - (nx - 1) / 2) * pixels_per_voxel - 0.5
        row = h / 2 - (y - (ny - 1) / 2) * pixels_per_voxel - 0.5
        return pixels[int(round(row)), int(round(col))].astype(int)
    return pixels, at


def test_combine_a_region_of_a_store(session, run, labels, tmp_path):
    levels = stores.pyramid(labels, FACTORS_ZYX)
    path, _ = write('tensorstore compressed_segmentation sharded', tmp_path, levels)
    out = tmp_path / 'part.cmap'
    (v,) = run('connectome combine %s output %s region 3,5,2,40,33,17' % (path, out))
    assert v.data.size == (38, 29, 16) and v.data.step == (8, 8, 40)
    assert v.data.origin == (28, 44, 100)
    assert np.array_equal(v.full_matrix(), labels[2:18, 5:34, 3:41])


def test_panel_colours_a_store_segmentation(session, run, window, tmp_path):
    """The Connectome panel pairs the store image and segmentation, lists the classes of
    the attribute file, and its colour button colours the right voxels."""
    # Voxel offset 5,10,10 of 2,2,3 nm: the origin of segfixtures' .cmap pair.
    offset = tuple(int(o / s) for o, s in zip(segfixtures.ORIGIN, segfixtures.STEP))
    img, sg, files, em, seg = write_pair_stores(tmp_path, offset)
    (ev,) = run('open %s format precomputed' % img)
    (sv,) = run('open %s format precomputed' % sg)
    # The first voxel's centre is half a voxel inside the voxel offset's corner (the
    # boxes' centres, where the colours are read, stay inside their boxes).
    assert ev.data.origin == tuple(o + s / 2 for o, s in zip(segfixtures.ORIGIN,
                                                             segfixtures.STEP))
    run('connectome ids #2 axon %s neuron %s' % (files['axon'], files['neuron']))
    nx, ny, _ = segfixtures.SIZE
    run('volume #2 hide; volume #1 style image region 0,0,%d,%d,%d,%d colorMode auto8'
        ' level 0,0 level 200,1 level 255,1; view; lighting flat; camera ortho'
        % (segfixtures.PLANE, nx - 1, ny - 1, segfixtures.PLANE))
    panel = run('connectome panel')
    try:
        assert panel.image is ev and panel.segmentation is sv
        assert panel.class_names == ['axon', 'neuron']
        panel.color_button.click()
        drawn = segfixtures.drawn_colors(session)
        for box, rgb in drawn.items():
            want = 'lime' if segfixtures.object_ids(box)['axon'] else 'white'
            assert segfixtures.color_class(rgb) == want, (box, rgb)
    finally:
        panel.delete()


def test_authors_folder_and_categories_on_a_store(session, run, tmp_path):
    """`connectome ids #N FOLDER` (the authors' files) on a store segmentation writes
    the same attributes, category names included, to its attribute file as to a .cmap,
    and `connectome color ... CATEGORY COLOR` reads them from there."""
    from chimerax.connectome.demo import read_authors_truth
    from chimerax.connectome.pipeline.attributefile import AttributeFile
    data = tmp_path / 'data'
    run('connectome demo %s size small seed 3' % data)
    cmap = tmp_path / 'segmentation.cmap'
    run('connectome combine %s output %s missing zero voxelSize 11.24,11.24,28 open false'
        % (data / 'segmentation', cmap))
    with h5py.File(cmap, 'r') as f:
        labels = f['Chimera/image1/data_zyx'][()]
    path = stores.precomputed_tensorstore(tmp_path / 'seg', [labels], [],
                                          resolution=(11.24, 11.24, 28), chunk=(64, 64, 64),
                                          encoding='compressed_segmentation')
    (sv,) = run('open %s format precomputed' % path)
    # A relative folder: after a model spec, an absolute path (/tmp/...) would read as
    # a chain spec of the model.
    run('cd %s' % data)
    arrays = run('connectome ids %s objects/authors' % sv.atomspec)
    expected = read_authors_truth(data)
    side = path + '.attributes.h5'
    with h5py.File(side, 'r') as f:
        for name in arrays:
            want = expected['objects'][name]
            assert np.array_equal(f['attributes'][name][()], want, equal_nan=True), name
        names = [c.name for c in AttributeFile(side).info()['dendriteclass'].categories]
        assert names == list(expected['dendrite_classes'])
    from chimerax.connectome.session.classes import category_attributes, forget_classes
    forget_classes(sv)
    assert 'dendriteclass' in category_attributes(sv)
    (em,) = run('open %s format tiles missing zero voxelSize 11.24,11.24,28'
                % (data / 'image'))
    run('connectome color %s dendriteclass soma red' % sv.atomspec)
    from chimerax.connectome.session.maps import segmentation_colored
    assert segmentation_colored(em)
    # Per region id, as ChimeraX made the colours: soma regions red, the others not.
    rgba = em.mask_colors._segment_rgba
    codes = expected['objects']['dendriteclass']
    soma = codes == list(expected['dendrite_classes']).index('soma') + 1
    assert soma.any() and (~soma[1:]).any()
    red = np.all(rgba[:, :3] == (255, 0, 0), axis=1)
    assert np.array_equal(red[:len(soma)], soma)


def test_unreachable_and_silent_stores_fail_by_address_in_seconds(session, run, labels,
                                                                  tmp_path, monkeypatch):
    """Issue 26, 11: a refused or silent address is a UserError naming it, within the
    timeout (open's timeout option, or CONNECTOME_STORE_TIMEOUT), for open and combine;
    only loopback addresses are used."""
    from chimerax.core.errors import UserError
    port = stores.refused_port()
    with pytest.raises(UserError, match=r'open zarr: zarr://http://127.0.0.1:%d/a.zarr' % port):
        run('open zarr://http://127.0.0.1:%d/a.zarr' % port)
    stores.ome_zarr(tmp_path / 'img.zarr', [labels], [])
    out = tmp_path / 'o.cmap'
    with stores.HangingServer(tmp_path) as server:
        with pytest.raises(UserError, match=re.escape(
                'zarr://%simg.zarr: no answer within 1 s while reading' % server.url)):
            run('open zarr://%simg.zarr timeout 1' % server.url)
        monkeypatch.setenv('CONNECTOME_STORE_TIMEOUT', '1')
        with pytest.raises(UserError, match=re.escape(
                'connectome combine: zarr://%simg.zarr: no answer within 1 s' % server.url)):
            run('connectome combine zarr://%simg.zarr output %s' % (server.url, out))
    assert not out.exists() and not session.models.list()


def test_a_damaged_chunk_shown_is_a_logged_error_not_a_traceback(session, run, labels,
                                                                   tmp_path):
    """Issue 26, 14: a truncated chunk, a corrupt N5 chunk, a 64-bit id over 2^32 while
    a store is shown (opened without an id map, compactIds false): an error in the log
    naming the store and the block, the block shown as zeros, the volume still usable."""
    pc = stores.precomputed_tensorstore(tmp_path / 'seg', [labels], [], chunk=(16, 16, 8))
    chunk = os.path.join(pc, '8_8_40', '16-32_0-16_8-16')              # z 8-15, y 0-15, x 16-31
    with open(chunk, 'r+b') as f:
        f.truncate(100)
    n5 = stores.n5(tmp_path / 'seg.n5', [labels], [])
    with open(os.path.join(n5, 's0', '1', '0', '1'), 'r+b') as f:    # x 16-31, y 0-15, z 8-15
        f.seek(20)
        f.write(b'\xff' * 40)
    big = labels.astype(np.uint64)
    big[9, 3, 20] = 2 ** 32 + 5
    ids = stores.precomputed_tensorstore(tmp_path / 'big', [big], [], chunk=(16, 16, 8))
    for path, name in ((pc, 'seg'), (n5, 'seg.n5'), (ids, 'big')):
        with segfixtures.LogCapture(session) as log:
            (v,) = run('open %s' % path if path == n5 else 'open %s format precomputed%s'
                       % (path, ' compactIds false' if name == 'big' else ''))
            a = v.full_matrix()
        # ChimeraX's summary of the feedback from opening, or the log after it.
        text = html.unescape(log.text)
        assert re.search(r'%s: .*voxels z,y,x 8-15, 0-15, 16-31.* \(shown as zeros\)'
                         % re.escape(path), text), text
        assert name != 'big' or 'region id 4294967301' in text
        expect = labels.copy()
        expect[8:16, 0:16, 16:32] = 0
        assert np.array_equal(a, expect), name
        run('volume #%s level 3 style surface' % v.id_string)         # still usable
        run('close')


def test_lying_store_metadata_is_a_user_error_naming_file_and_key(session, run, labels,
                                                                   tmp_path):
    """Issue 26, 10, 13 and 20: metadata of the wrong type is refused by file and key; a
    store too large for a map is refused before any work; a tiles folder holding a
    README named info is combined as tiles."""
    from chimerax.core.errors import UserError
    pc = stores.precomputed_tensorstore(tmp_path / 'seg', [labels], [])
    with open(os.path.join(pc, 'info')) as f:
        info = json.load(f)
    for key, value, message in (
            ('scales', [1, 2], r'info key scales\[0\] must be a JSON object, not 1'),
            ('data_type', 'uint37', 'info key data_type is not a voxel type, not "uint37"')):
        with open(os.path.join(pc, 'info'), 'w') as f:
            json.dump(dict(info, **{key: value}), f)
        with pytest.raises(UserError, match='open precomputed: %s: %s' % (re.escape(pc),
                                                                          message)):
            run('open %s format precomputed' % pc)
    huge = dict(info, scales=[dict(info['scales'][0], size=[2 ** 40] * 3)])
    with open(os.path.join(pc, 'info'), 'w') as f:
        json.dump(huge, f)
    out = tmp_path / 'huge.cmap'
    with pytest.raises(UserError, match='connectome combine: 1099511627776 x 1099511627776 x'
                                        ' 1099511627776 voxels is too large for a Chimera'
                                        ' map: a side holds at most 2147483647 voxels'):
        run('connectome combine %s output %s' % (pc, out))
    assert not out.exists()
    tiles = tmp_path / 'tiles'
    tilesets.write_tiles(tiles, labels, (10, 18, 22))
    (tiles / 'info').write_text('Tiles of a test volume; see the paper.\n')
    (v,) = run('connectome combine %s output %s' % (tiles, tmp_path / 't.cmap'))
    assert np.array_equal(v.full_matrix(), labels)


def test_remote_attribute_files_survive_a_chimerax_upgrade(session, tmp_path, monkeypatch):
    """Attribute files of remote stores live in the cache folder every ChimeraX version
    shares (not the one named by the version, which an upgrade leaves behind), and those
    an earlier release kept in a version's folder are copied in, the newest of each."""
    import chimerax
    from chimerax.connectome.session.storegrid import attributes_cache_folder
    root = tmp_path / 'cache'
    monkeypatch.setattr(chimerax, 'app_dirs_unversioned',
                        types.SimpleNamespace(user_cache_dir=str(root)))
    monkeypatch.setattr(chimerax, 'app_dirs', types.SimpleNamespace(
        user_cache_dir=str(root / '1.11')))
    old = {}
    for version, text, age in (('1.7', b'old', 100), ('1.10', b'newer', 10)):
        folder = root / version / 'connectome' / 'attributes'
        folder.mkdir(parents=True)
        old[version] = folder / 'host_seg-0123456789.attributes.h5'
        old[version].write_bytes(text)
        os.utime(old[version], (os.path.getmtime(old[version]) - age,) * 2)
    (root / '1.7' / 'connectome' / 'attributes' / 'other.txt').write_bytes(b'not ours')
    folder = attributes_cache_folder()
    assert folder == str(root / 'connectome' / 'attributes')
    assert sorted(os.listdir(folder)) == ['host_seg-0123456789.attributes.h5']
    assert (root / 'connectome' / 'attributes' / 'host_seg-0123456789.attributes.h5'
            ).read_bytes() == b'newer'
    # The shared folder's own file wins from then on; the old ones are left as they were.
    (root / 'connectome' / 'attributes' / 'host_seg-0123456789.attributes.h5'
     ).write_bytes(b'ids ran')
    assert attributes_cache_folder() == folder
    assert (root / 'connectome' / 'attributes' / 'host_seg-0123456789.attributes.h5'
            ).read_bytes() == b'ids ran'
    assert old['1.7'].read_bytes() == b'old'
