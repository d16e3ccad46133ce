"""Pyramid steps and downsampling, checked against plain per-block definitions."""

import numpy as np
import pytest

from chimerax.connectome.pipeline import pyramid

import tilesets
from tilesets import reference_mean, reference_mode


FACTORS = [(1, 2, 2), (2, 2, 2), (1, 1, 2), (3, 1, 2), (2, 3, 3)]


@pytest.mark.parametrize('factors', FACTORS)
def test_mode_matches_definition(factors):
    # Few ids in small regions: many ties and zeros inside blocks.
    a = tilesets.labels((13, 17, 19), seed=sum(factors), cell=2, zero_fraction=0.3)
    few = np.unique(a)[:6]
    a = few[np.searchsorted(few, a).clip(0, len(few) - 1)]
    assert np.array_equal(pyramid.downsample(a, factors, 'mode'), reference_mode(a, factors))


def test_mode_ties_go_to_first_value_and_zero_never_wins():
    a = np.array([[[0, 0], [5, 9]], [[0, 9], [5, 0]]], np.uint32)   # 5 and 9 twice, 0 four times
    assert pyramid.downsample(a, (2, 2, 2), 'mode')[0, 0, 0] == 5
    assert pyramid.downsample(np.zeros((2, 2, 2), np.uint32), (2, 2, 2), 'mode')[0, 0, 0] == 0


@pytest.mark.parametrize('dtype', [np.uint8, np.int16, np.float32])
@pytest.mark.parametrize('factors', FACTORS)
def test_mean_matches_definition(dtype, factors):
    rng = np.random.default_rng(1)
    a = (rng.integers(-50 if dtype == np.int16 else 0, 256, (11, 14, 9))).astype(dtype)
    got = pyramid.downsample(a, factors, 'mean')
    assert got.dtype == a.dtype
    assert np.array_equal(got, reference_mean(a, factors))


def test_stride_is_what_chimerax_stores():
    a = np.arange(9 * 10 * 11, dtype=np.uint32).reshape(9, 10, 11)
    assert np.array_equal(pyramid.downsample(a, (2, 3, 4), 'stride'), a[::2, ::3, ::4])


def test_default_methods():
    assert pyramid.default_method(np.uint32) == 'mode'
    assert pyramid.default_method(np.int64) == 'mode'
    assert pyramid.default_method(np.uint16) == 'mode'
    assert pyramid.default_method(np.int16) == 'mode'
    assert pyramid.default_method(np.uint8) == 'mean'
    assert pyramid.default_method(np.float32) == 'mean'


def test_one_rule_for_label_maps():
    """Combine's downsampling, the panel's choice of segmentation and ids use one rule."""
    from chimerax.connectome.pipeline import classes, labels
    for dtype in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int64, np.float32):
        label = labels.is_label_type(dtype)
        assert label == (np.dtype(dtype).kind in 'iu' and np.dtype(dtype).itemsize > 1)
        assert (pyramid.default_method(dtype) == 'mode') == label
        assert classes.is_label_type is labels.is_label_type


def test_auto_steps_make_voxels_isotropic_first():
    steps = pyramid.auto_steps((6690, 9945, 3420), (11.24, 11.24, 28))
    assert steps[:4] == [(2, 2, 1), (4, 4, 2), (8, 8, 4), (16, 16, 8)]
    last = steps[-1]
    assert np.prod(pyramid.level_size((6690, 9945, 3420), last)) >= pyramid.MIN_LEVEL_VOXELS
    after = tuple(2 * s for s in last)
    assert np.prod(pyramid.level_size((6690, 9945, 3420), after)) < pyramid.MIN_LEVEL_VOXELS
    assert pyramid.auto_steps((512, 512, 512)) == [(2, 2, 2), (4, 4, 4), (8, 8, 8)]   # 64^3 last
    # Very anisotropic voxels double x,y until they catch up with z.
    assert pyramid.auto_steps((4096, 4096, 64), (1, 1, 10))[:4] == [(2, 2, 1), (4, 4, 1),
                                                                   (8, 8, 1), (16, 16, 2)]
    # A single plane never subsamples z.
    assert pyramid.auto_steps((2048, 2048, 1)) == [(2, 2, 1), (4, 4, 1)]
    assert pyramid.auto_steps((40, 40, 40)) == []


def test_level_factors():
    assert pyramid.level_factors([(2, 2, 1), (4, 4, 2), (8, 8, 4)]) == [(2, 2, 1), (2, 2, 2),
                                                                      (2, 2, 2)]
    with pytest.raises(ValueError, match='not a multiple'):
        pyramid.level_factors([(2, 2, 2), (3, 3, 3)])


@pytest.mark.parametrize('mixed_fraction', [0.0, 0.01, 0.3, 0.9])
def test_mode_of_mostly_uniform_labels(mixed_fraction):
    """Blocks inside one region take the region's id without counting; the few mixed
    blocks are counted: every mix gives the definition's result."""
    rng = np.random.default_rng(3)
    a = np.repeat(np.repeat(np.repeat(rng.integers(0, 5, (6, 8, 10)).astype(np.uint32),
                                      2, 0), 2, 1), 2, 2)
    flip = rng.random(a.shape) < mixed_fraction / 4
    a[flip] = rng.integers(0, 9, int(flip.sum()))
    for factors in ((1, 2, 2), (2, 2, 2)):
        assert np.array_equal(pyramid.downsample(a, factors, 'mode'),
                              reference_mode(a, factors))
