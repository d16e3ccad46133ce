"""Pyramid steps and downsampling, checked against plain per-block definitions."""

import os
import subprocess
import sys

import numpy as np
import pytest

from chimerax.connectome.pipeline import pyramid

import tilesets
from tilesets import reference_mean, reference_mode

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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


# tinybrain computes the 2x2x2 modes of integer labels; the numpy code is the reference it
# must equal, voxel for voxel, whatever the ties, zeros, edges and layout.

LABEL_TYPES = [np.uint8, np.uint16, np.uint32, np.uint64, np.int32, np.int64]


def test_tinybrain_mode_equals_ours_on_ties_zeros_and_partial_blocks():
    factors = (2, 2, 2)
    rng = np.random.default_rng(6)
    for trial in range(120):
        shape = tuple(int(n) for n in rng.integers(1, 10, 3))     # odd sizes: partial blocks
        dtype = LABEL_TYPES[trial % len(LABEL_TYPES)]
        a = rng.integers(0, 4, shape).astype(dtype)              # 0-3: ties and zeros galore
        if dtype in (np.uint64, np.int64):
            a = a * np.array(2**40 + 3, dtype)                   # ids beyond 32 bits
        ours = pyramid.downsample(a, factors, 'mode', mode_library='numpy')
        got = pyramid.downsample(a, factors, 'mode')
        assert got.dtype == a.dtype and got.flags.c_contiguous
        assert np.array_equal(got, ours), (shape, dtype)
        # Views of other layouts: tinybrain ignores strides, so it must be given a copy.
        for view in (a[:, ::-1, :], a.transpose(0, 2, 1), np.asfortranarray(a)):
            assert np.array_equal(pyramid.downsample(view, factors, 'mode'),
                                  reference_mode(view, factors)), (shape, dtype)
    assert np.array_equal(got, reference_mode(a, factors))


def test_compiled_1x2x2_mode_equals_ours_on_ties_zeros_partial_blocks_and_views():
    """modekernel.py's loop (numba) does the 1x2x2 blocks: the numpy code's result, voxel
    for voxel, for every integer type, odd sizes, ids beyond 32 bits and any layout;
    types it does not take (floats, other byte orders) go to the numpy code."""
    factors = (1, 2, 2)
    rng = np.random.default_rng(16)
    for trial in range(150):
        shape = tuple(int(n) for n in rng.integers(1, 10, 3))
        dtype = (LABEL_TYPES + [np.int8, np.int16])[trial % (len(LABEL_TYPES) + 2)]
        a = rng.integers(0, 4, shape).astype(dtype)
        if dtype in (np.uint64, np.int64):
            a = a * np.array(2**40 + 3, dtype)
        if np.dtype(dtype).kind == 'i' and trial % 3 == 0:
            a = -a                                                # negative ids count too
        got = pyramid.downsample(a, factors, 'mode')
        assert got.dtype == a.dtype and got.flags.c_contiguous
        assert np.array_equal(got, pyramid.downsample(a, factors, 'mode', mode_library='numpy'))
        assert np.array_equal(got, reference_mode(a, factors)), (shape, dtype)
        for view in (a[:, ::-1, :], a.transpose(0, 2, 1), np.asfortranarray(a), a[:, :, 1:]):
            assert np.array_equal(pyramid.downsample(view, factors, 'mode'),
                                  reference_mode(view, factors)), (shape, dtype)
    big = tilesets.labels((9, 70, 67), seed=3, cell=3, zero_fraction=0.1)
    assert np.array_equal(pyramid.downsample(big, factors, 'mode'), reference_mode(big, factors))
    swapped = big.astype(big.dtype.newbyteorder('>'))
    assert np.array_equal(pyramid.downsample(swapped, factors, 'mode'),
                          reference_mode(big, factors))
    floats = rng.integers(0, 3, (3, 5, 7)).astype(np.float32)
    assert np.array_equal(pyramid.downsample(floats, factors, 'mode'),
                          reference_mode(floats, factors))


def test_mode_tie_and_zero_rules_in_2x2_blocks():
    """2x2 blocks (1x2x2), as the first level of anisotropic data has them, whatever
    mode_library says: a tie goes to the value met first (x, then y), zero only when all
    are zero (tinybrain's own 2x2 mode, not used, breaks both rules)."""
    blocks = {                                      # block (y0x0 y0x1 / y1x0 y1x1): mode
        ((7, 3), (3, 7)): 7,                        # two pairs: the first met
        ((1, 2), (3, 4)): 1,                        # all different: the first
        ((0, 0), (5, 9)): 5,                        # zeros outnumber: still a region
        ((0, 0), (0, 8)): 8,
        ((0, 0), (0, 0)): 0,
        ((4, 6), (6, 0)): 6,
    }
    for block, mode in blocks.items():
        a = np.array([block], np.uint32)
        assert pyramid.downsample(a, (1, 2, 2), 'mode')[0, 0, 0] == mode, block
        assert pyramid.downsample(a, (1, 2, 2), 'mode', mode_library='numpy')[0, 0, 0] == mode
    import tinybrain.accelerated
    theirs = {block: tinybrain.accelerated.mode_pooling_2x2(np.array([block], np.uint32).T)[0]
              for block in (((7, 3), (3, 7)), ((0, 0), (5, 9)))}
    assert [int(v.ravel()[0]) for v in theirs.values()] == [3, 0]
    a = np.array([[[0, 0], [5, 9]], [[0, 9], [5, 0]]], np.uint32)
    assert pyramid.downsample(a, (2, 2, 2), 'mode')[0, 0, 0] == 5       # 5, 9 twice: 5 first


def test_tinybrain_is_not_given_c_ordered_arrays():
    """tinybrain reads its input as a Fortran-ordered x,y,z array (first index fastest,
    strides ignored) and returns x,y,z: on a C-ordered z,y,x cube it returns the modes
    transposed, which agree with the rule on few voxels; through downsample, on all."""
    import tinybrain.accelerated
    a = tilesets.labels((16, 16, 16), seed=4, cell=2, zero_fraction=0.2)
    truth = reference_mode(a, (2, 2, 2))
    raw = tinybrain.accelerated.mode_pooling_2x2x2(a, sparse=True)[0]
    assert np.array_equal(raw, truth.T) and (raw == truth).mean() < 0.5
    assert np.array_equal(pyramid.downsample(a, (2, 2, 2), 'mode'), truth)


def test_unknown_mode_library():
    with pytest.raises(ValueError, match='mode_library'):
        pyramid.downsample(np.zeros((4, 4, 4), np.float32), (2, 2, 2), 'mode',
                           mode_library='scipy')


def test_without_numba_1x2x2_blocks_take_the_numpy_code():
    """numba is optional (a Python with no numba wheel still installs the bundle): without
    it modekernel.py imports, says it is not compiled, and 1x2x2 blocks get the numpy
    code's result."""
    script = ('import sys; sys.path.insert(0, %r); import package; package.import_from_source()\n'
              'sys.modules["numba"] = None                  # import numba: ImportError\n'
              'import numpy as np\n'
              'from chimerax.connectome.pipeline import modekernel, pyramid\n'
              'assert not modekernel.COMPILED\n'
              'a = np.random.default_rng(1).integers(0, 4, (3, 7, 9)).astype(np.uint32)\n'
              'got = pyramid.downsample(a, (1, 2, 2), "mode")\n'
              'want = pyramid.downsample(a, (1, 2, 2), "mode", mode_library="numpy")\n'
              'assert np.array_equal(got, want) and got.shape == (3, 4, 5)\n'
              'print("ok")\n' % os.path.join(REPO, 'tests', 'common'))
    p = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout == 'ok\n'
