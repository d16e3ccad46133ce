"""The seed's three figures, typed literally on the combined demo files (issue 25 items 1
and 2): a segmentation the bundle wrote opens hidden and an EM map as an image plane, so
no picture shows an isosurface of region ids, and the EM image levels apply as typed.

Each picture is checked on pixels: it is the picture with the segmentation hidden by
hand (what a user had to add before), and the objects' colours are in it.
"""

import h5py
import numpy as np
import pytest
from chimerax.connectome.formats import cmap

from segfixtures import combined_demo_with_ids

pytestmark = pytest.mark.chimerax


@pytest.fixture(scope='module')
def demo(tmp_path_factory, _process_session):
    return combined_demo_with_ids(_process_session, tmp_path_factory.mktemp('seed'), seed=7)


def picture(session):
    return session.main_view.image_rgba(width=320, height=240)[::-1].astype(np.int64)


def near(rgba, rgb, tolerance=0.12):
    """Drawn pixels whose hue is that of ``rgb`` (shading scales a colour, so compare the
    colour directions)."""
    rgb = np.asarray(rgb, float)
    c = rgba[..., :3].astype(float)
    lit = c.max(axis=-1) > 40
    norm = np.linalg.norm(c, axis=-1, keepdims=True)
    cos = (c / np.maximum(norm, 1) * (rgb / np.linalg.norm(rgb))).sum(axis=-1)
    return lit & (cos > 1 - tolerance ** 2)


def assert_same_as_hidden(session, run, segmentation):
    """The picture is the one with the segmentation hidden by hand: nothing of it drawn."""
    literal = picture(session)
    run('volume %s hide' % segmentation)
    assert np.array_equal(literal, picture(session))
    return literal


def test_combined_maps_carry_their_content(demo):
    assert cmap.read_content(str(demo / 'segmentation.cmap')) == cmap.SEGMENTATION
    assert cmap.read_content(str(demo / 'image.cmap')) == cmap.IMAGE
    assert cmap.read_content(str(demo / 'missing.cmap')) is None


def test_segmentation_opens_hidden_and_em_as_an_image_plane(session, run, demo):
    em, = run('open %s' % (demo / 'image.cmap'))
    seg, = run('open %s' % (demo / 'segmentation.cmap'))
    assert em.display and em.image_shown and not em.surface_shown
    (x0, y0, z0), (x1, y1, z1), _ = em.region
    assert z0 == z1 and (x0, y0) == (0, 0) and (x1, y1) == tuple(s - 1 for s in em.data.size[:2])
    assert not seg.display and not seg.surface_shown and len(seg.surfaces) == 0
    # Shown again by hand, it is the plane in image style, never an isosurface of ids.
    run('volume #2 show; wait 1')
    assert seg.image_shown and not seg.surface_shown and len(seg.surfaces) == 0


def test_seed_every_neuron_its_own_colour(session, run, demo):
    run('open %s; seg surf #1 each neuron' % (demo / 'segmentation.cmap'))
    from chimerax.map import Volume
    surfaces = [m for m in session.models.list()
                if not isinstance(m, Volume) and m.vertices is not None]
    assert surfaces
    shown = assert_same_as_hidden(session, run, '#1')
    for s in surfaces:
        assert near(shown, s.color[:3]).sum() > 20, s


def test_seed_one_neuron_with_its_spine_heads(session, run, demo):
    run('open %s' % (demo / 'segmentation.cmap'))
    run('seg surf #1 where neuron=1 color yellow; seg color #1 red surf #2 by spinehead')
    shown = assert_same_as_hidden(session, run, '#1')
    assert near(shown, (255, 255, 0)).sum() > 200
    assert near(shown, (255, 0, 0)).sum() > 20


def test_seed_em_coloured_by_axon_dendrite_spine_head(session, run, demo):
    run('open %s' % (demo / 'image.cmap'))
    run('volume #1 level 95,0 level 120,0.9 level 234,1')
    run('open %s' % (demo / 'segmentation.cmap'))
    run('segmentation colors #2 lime map #1 byAttribute axon;'
        ' segmentation colors #2 red map #1 byAttribute dendrite;'
        ' segmentation colors #2 blue map #1 byAttribute spinehead')
    em = session.models.list()[0]
    assert [tuple(lv) for lv in em.image_levels] == [(95, 0), (120, 0.9), (234, 1)]
    shown = assert_same_as_hidden(session, run, '#2')
    for rgb in ((0, 255, 0), (255, 0, 0), (0, 0, 255)):
        assert near(shown, rgb).sum() > 20, rgb


def test_other_maps_open_as_chimerax_decides(session, run, demo, tmp_path):
    # The same voxels written by ChimeraX's own writer carry no marker: a surface.
    run('open %s; volume #1 region all; save %s models #1; close session'
        % (demo / 'segmentation.cmap', tmp_path / 'plain.cmap'))
    assert cmap.read_content(str(tmp_path / 'plain.cmap')) is None
    v, = run('open %s' % (tmp_path / 'plain.cmap'))
    run('wait 1')
    assert v.display and len(v.surfaces) > 0 and not v.image_shown


def test_stores_open_as_segmentation_hidden_and_image_as_a_plane(session, run, demo,
                                                                  tmp_path):
    import stores
    opened = {}
    for kind, encoding in (('segmentation', 'compressed_segmentation'), ('image', 'raw')):
        with h5py.File(demo / (kind + '.cmap'), 'r') as f:
            voxels = f['Chimera/image1/data_zyx'][()]
        path = stores.precomputed_tensorstore(tmp_path / kind, [voxels], [],
                                              chunk=(64, 64, 64), encoding=encoding)
        opened[kind], = run('open %s format precomputed' % path)
    seg, em = opened['segmentation'], opened['image']
    assert not seg.display and not seg.surface_shown and len(seg.surfaces) == 0
    assert em.display and em.image_shown and not em.surface_shown
    assert em.region[0][2] == em.region[1][2]


def test_the_cmap_reader_is_wrapped_once_and_keeps_the_rest(session):
    """compat.wrap_map_opener's assumptions: ChimeraX looks the map file type up in
    fileformats.file_formats at each open; the wrapped entry keeps suffixes and writer."""
    from chimerax.map_data import fileformats
    from chimerax.connectome.session.initialdisplay import register_initial_display
    register_initial_display()                  # again, as at a second start
    entries = [f for f in fileformats.file_formats if f.name == 'cmap']
    assert len(entries) == 1 and entries[0].connectome_wrapped
    f = fileformats.file_format_by_name('cmap')
    assert f is entries[0] and fileformats.file_format_by_name('cmp') is f
    assert f.description == 'Chimera map' and f.writable and f.save_func is not None
