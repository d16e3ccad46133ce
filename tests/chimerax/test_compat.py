"""Each assumption session/compat.py makes about ChimeraX internals, checked against the
real ChimeraX code: an upgrade that changes one fails here first."""

import numpy as np
import pytest

import segfixtures as sf
from segfixtures import pair  # noqa: F401  (fixture)


def test_attribute_values_reads_the_model_first_then_the_file(session, run, pair):
    from chimerax.connectome.session import compat
    em, seg = sf.open_pair(run, pair)
    truth = sf.attribute_arrays()
    assert np.array_equal(compat.attribute_values(seg, 'axon'), truth['axon'])
    mine = np.arange(len(truth['axon']), dtype=np.int32)
    seg.axon = mine                        # what `connectome ids` sets on open models
    assert compat.attribute_values(seg, 'axon') is mine
    from chimerax.core.errors import UserError
    with pytest.raises(UserError, match='has no attribute glia'):
        compat.attribute_values(seg, 'glia')


def test_attribute_values_refuses_two_arrays_of_one_name(session, run, tmp_path):
    """ChimeraX finds attributes by name anywhere in the file (find_attribute)."""
    import h5py
    from chimerax.connectome.session import compat
    em_path, seg_path = sf.write_pair(tmp_path)
    with h5py.File(seg_path, 'r+') as f:
        f.create_group('other')['axon'] = np.zeros(4, np.int32)
    run('open %s' % em_path)
    (seg,) = run('open %s' % seg_path)
    with pytest.raises(LookupError):
        compat.attribute_values(seg, 'axon')


def test_segmentation_colors_are_a_segmentation_map_color(session, run, pair):
    from chimerax.connectome.session import compat
    em, seg = sf.open_pair(run, pair)
    assert not compat.has_segmentation_colors(em)
    run('segmentation colors #2 lime map #1 byAttribute axon')
    assert compat.has_segmentation_colors(em)
    em.mask_colors = None                  # what `connectome uncolor` does
    assert not compat.has_segmentation_colors(em)
    run('segmentation colors #2 lime map #1 byAttribute axon')
    compat.set_segmentation_colors(em, None, None)
    assert em.mask_colors is None and not compat.has_segmentation_colors(em)


def test_coloring_segmentation_is_the_model_chimerax_colours_by(session, run, pair):
    """ChimeraX's segmentation colouring reads the segmentation it was made with (the
    SegmentationMapColor keeps the model): what a session saves to restore it."""
    from chimerax.connectome.session import compat
    em, seg = sf.open_pair(run, pair)
    assert compat.coloring_segmentation(em) is None
    run('segmentation colors #2 lime map #1 byAttribute axon')
    assert compat.coloring_segmentation(em) is seg
    rgba = compat.segmentation_rgba(em)
    compat.set_segmentation_colors(em, seg, rgba)
    assert compat.coloring_segmentation(em) is seg
    assert compat.segmentation_rgba(em) is rgba


def test_attribute_colours_are_cached_on_the_model_by_name(session, run, pair):
    from chimerax.connectome.session import compat
    em, seg = sf.open_pair(run, pair)
    run('segmentation colors #2 map #1 byAttribute dendrite')     # random colours per value
    cached = seg._segment_attribute_colors
    assert set(cached) == {'dendrite'}
    before = cached['dendrite'].attribute_rgba.shape[0]
    seg.dendrite = np.zeros_like(sf.attribute_arrays()['dendrite'])
    seg.dendrite[sf.region_id(1)] = 5000   # a new object id, beyond the cached colours
    compat.forget_attribute_colors(seg, 'dendrite')
    assert 'dendrite' not in seg._segment_attribute_colors
    run('segmentation colors #2 map #1 byAttribute dendrite')
    assert seg._segment_attribute_colors['dendrite'].attribute_rgba.shape[0] == 5001 > before


def test_maximum_region_id_on_the_model_spares_the_volume_scan(session, run, tmp_path,
                                                              monkeypatch):
    from chimerax.connectome.session import compat
    em_path, seg_path = sf.write_pair(tmp_path, attributes=(), maximum=False)
    run('open %s' % em_path)
    (seg,) = run('open %s' % seg_path)
    monkeypatch.setattr(seg, 'full_matrix', None)      # a scan would fail
    maximum = int(sf.volumes()[1].max())
    compat.set_maximum_region_id(seg, maximum)
    compat.set_maximum_region_id(seg, 1)                # a value ChimeraX has is kept
    run('segmentation colors #2 map #1')                # one colour per region
    assert seg._max_segment_id == maximum



def test_our_per_region_colours_are_chimeraxs_segmentation_colouring(session, run, pair):
    """set_segmentation_colors makes the map's mask colours a SegmentationMapColor that
    ChimeraX's own colouring blends with (replace false), and segmentation_rgba reads
    its per-region colours back."""
    from chimerax.connectome.session import compat
    em, seg = sf.open_pair(run, pair)
    assert compat.segmentation_rgba(em) is None
    rgba = np.full((int(sf.volumes()[1].max()) + 1, 4), 255, np.uint8)
    rgba[sf.region_id(0)] = (255, 0, 0, 255)
    compat.set_segmentation_colors(em, seg, rgba)
    assert compat.has_segmentation_colors(em)
    assert compat.segmentation_rgba(em) is not None
    assert tuple(compat.segmentation_rgba(em)[sf.region_id(0)]) == (255, 0, 0, 255)
    # ChimeraX's own colouring adds to it where its attribute is non-zero.
    run('segmentation colors #2 lime map #1 byAttribute dendrite')
    out = compat.segmentation_rgba(em)
    assert tuple(out[sf.region_id(0)]) == (255, 0, 0, 255)        # box 0: an axon
    assert tuple(out[sf.region_id(1)]) == (0, 255, 0, 255)        # box 1: a dendrite
    assert sf.color_class(sf.drawn_colors(session)[0]) == 'red'


def test_random_colors_are_those_of_segmentation_surfaces_each(session, run, pair):
    """random_colors(count, name) gives object k the colour `segmentation surfaces ...
    each NAME` gives its surface (what connectome skeletons' color each relies on)."""
    from chimerax.connectome.session import compat
    em, seg = sf.open_pair(run, pair)
    surfaces = run('segmentation surfaces #2 each axon')
    largest = int(sf.attribute_arrays()['axon'].max())
    colors = compat.random_colors(largest + 1, 'axon')
    assert colors.shape == (largest + 1, 4) and colors.dtype == np.uint8
    for s in surfaces:
        axon = int(s.name.split()[-1]) if s.name.split()[-1].isdigit() else None
        if axon is not None:
            assert tuple(s.color) == tuple(colors[axon]), s.name
    assert any(s.name.split()[-1].isdigit() for s in surfaces)


def test_atom_sphere_triangles_are_those_of_marker_spheres(session, run):
    """A marker set of n markers draws each sphere with atom_sphere_triangles(n)
    triangles (chimerax.atomic's level of detail), the count the instanced synapse
    model uses."""
    from chimerax.connectome.session import compat
    from chimerax.connectome.session.markers import marker_set
    for n in (10, 5000):
        ms = marker_set(session, 'm', np.random.rand(n, 3) * 100, (255, 0, 0, 255), 1.0)
        session.models.add([ms])
        run('wait 1')
        drawn = [d for d in ms.all_drawings() if d.triangles is not None
                 and d.positions is not None and len(d.positions) == n]
        assert drawn and len(drawn[0].triangles) == compat.atom_sphere_triangles(session, n)
        run('close %s' % ms.atomspec)
    assert compat.atom_sphere_triangles(session, 400_000) < \
        compat.atom_sphere_triangles(session, 1000)


def test_segmentation_map_colors_cover_values_past_their_table(session):
    """The map colouring set_segmentation_colors makes colours a plane as ChimeraX's
    SegmentationMapColor does, and leaves a region value past the end of its table
    uncoloured (ChimeraX's would read past the table): a store read through an id map
    gives values as its chunks are read, after the table was made."""
    import numpy as np
    from chimerax.segment.segment import SegmentationMapColor
    from chimerax.connectome.session import compat

    class Segmentation:
        def __init__(self, ids):
            self.ids = ids

        def region_matrix(self, region):
            return self.ids

    rgba = np.array([[255, 255, 255, 255], [0, 255, 0, 255], [255, 0, 0, 255]], np.uint8)

    class Volume:
        mask_colors = None
    within = np.array([[[0, 1, 2, 1]]], np.uint32)
    past = np.array([[[2, 7, 1, 300]]], np.uint32)
    for channels in (4, 3):
        v = Volume()
        compat.set_segmentation_colors(v, Segmentation(within), rgba)
        ours = np.full((1, 4, channels), 200, np.uint8)
        v.mask_colors(ours, None)
        theirs = np.full((1, 4, channels), 200, np.uint8)
        SegmentationMapColor(Segmentation(within), rgba)(theirs, None)
        assert np.array_equal(ours, theirs) and isinstance(v.mask_colors,
                                                           SegmentationMapColor)
        v = Volume()
        compat.set_segmentation_colors(v, Segmentation(past), rgba)
        plane = np.full((1, 4, channels), 200, np.uint8)
        v.mask_colors(plane, None)
        white = np.where(past < len(rgba), past, 0).astype(np.uint32)    # row 0 is white
        theirs = np.full((1, 4, channels), 200, np.uint8)
        SegmentationMapColor(Segmentation(white), rgba)(theirs, None)
        assert np.array_equal(plane, theirs)
        assert not np.array_equal(theirs[0, 0], theirs[0, 1])
        assert compat.segmentation_rgba(v) is rgba


def test_geometry_bounds_given_are_those_chimerax_computes_and_cleared_by_new_geometry(session):
    from chimerax.core.models import Surface
    from chimerax.connectome.session import compat
    rng = np.random.default_rng(0)
    v = (rng.random((1000, 3)) * 1000 - 300).astype(np.float32)
    t = rng.integers(0, 1000, (500, 3)).astype(np.int32)
    given, computed = Surface('given', session), Surface('computed', session)
    for s in (given, computed):
        s.set_geometry(v, v, t)
    compat.set_geometry_bounds(given)
    assert given._cached_geometry_bounds is not None          # the cache it fills
    assert computed._cached_geometry_bounds is None           # ChimeraX computes on demand
    assert np.array_equal(given.geometry_bounds().xyz_min, computed.geometry_bounds().xyz_min)
    assert np.array_equal(given.geometry_bounds().xyz_max, computed.geometry_bounds().xyz_max)
    given.set_geometry(v[:10] * 2, v[:10], t[:3] % 10)        # new geometry clears it
    assert np.array_equal(given.geometry_bounds().xyz_max, (v[:10] * 2).max(0))
