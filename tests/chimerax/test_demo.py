"""The demo dataset through real ChimeraX: generated tiles, stitched by `connectome
combine`, opened, coloured with ChimeraX's own `segmentation colors` and rendered offscreen
show lime exactly where truth.hdf5 says an axon is; and `connectome demo` as a command.

The colouring does not depend on `connectome ids`: the truth's per-region array is set on
the open segmentation model as a Python attribute, which ChimeraX's segmentation code
reads before looking in the file (segment.py, _attribute_values).

What a pixel must be, from how ChimeraX draws a plane in image style (map/image3d.py
_color_plane, segment/segment.py SegmentationMapColor): the EM value v of the voxel goes
through the transfer function to a colour, which `segmentation colors ... map` then
multiplies (indices_to_colors, modulate) by its segment's colour / 255; segments with
attribute value 0 get white, which leaves the colour as it is.  With image levels
0,0 and 255,1 in white, brightness 1 and an opaque colour mode, the EM colour of v is
(v, v, v), so an axon voxel must be drawn (v, v, v) * (0, 255, 0) / 255 = (0, v, 0) and
any other voxel (v, v, v); each 8-bit conversion on the way may round down by one.
Nearest-voxel texture sampling and 3 x 3 pixels per voxel seen straight down z with an
orthographic camera make voxel (x, y) the pixel (3x + 1, H - 1 - (3y + 1)).
"""

import os

import h5py
import numpy as np
import pytest

from chimerax.connectome import demo as synthetic
from segfixtures import LogCapture

pytestmark = pytest.mark.chimerax

PIXELS = 3              # pixels per voxel edge: odd, so a voxel's centre is a pixel's centre
TOLERANCE = 3           # 8-bit rounding in the colour table and in the modulation
EDGE = 3                # sample voxels at least this far from the map's edges
LIME = np.array((0, 255, 0))


@pytest.fixture(scope='module')
def demo(tmp_path_factory, _process_session):
    """`size small` generated once, both kinds of tiles stitched by the real command."""
    from chimerax.core.commands import run
    root = tmp_path_factory.mktemp('demo')
    data = root / 'data'
    synthetic.generate_dataset(data, size='small', seed=0)
    truth = synthetic.read_truth(data)
    run(_process_session, 'close session', log=False)
    voxel = '%g,%g,%g' % tuple(truth['voxel_size'])
    for kind in ('image', 'segmentation'):
        run(_process_session, 'connectome combine %s output %s missing zero voxelSize %s'
            ' open false' % (data / kind, root / (kind + '.cmap'), voxel), log=False)
    layout = synthetic.dataset_layout('small')
    size = tuple(n * layout.tile_size for n in layout.grid_shape)     # x, y, z
    return dict(data=data, truth=truth, size=size,
                image=root / 'image.cmap', segmentation=root / 'segmentation.cmap')


def tile_plane(demo, kind, k):
    """Plane z = k [y, x] read straight from the generated tiles (absent tiles: 0)."""
    truth = demo['truth']
    t = truth['tile_size']
    nx, ny, _ = demo['size']
    plane = np.zeros((ny, nx), np.uint8 if kind == 'image' else np.uint32)
    for y in range(ny // t):
        for x in range(nx // t):
            path = os.path.join(demo['data'], kind, synthetic.tile_name((x, y, k // t)))
            if os.path.exists(path):
                with h5py.File(path, 'r') as f:
                    plane[y * t:(y + 1) * t, x * t:(x + 1) * t] = f['data'][k % t]
    return plane


def sample_plane(demo, name):
    """The z plane holding the most of truth's sample voxels of class `name` away from the
    edges, and those samples (object id, x, y, z)."""
    nx, ny, nz = demo['size']
    s = demo['truth']['samples'][name]
    x, y, z = s[:, 1], s[:, 2], s[:, 3]
    s = s[(x >= EDGE) & (x < nx - EDGE) & (y >= EDGE) & (y < ny - EDGE)
          & (z >= EDGE) & (z < nz - EDGE)]
    planes, counts = np.unique(s[:, 3], return_counts=True)
    k = int(planes[np.argmax(counts)])
    return k, s[s[:, 3] == k]


def open_and_render(session, run, demo, attribute, k):
    """Open both maps, colour EM plane z=k lime by `attribute` (truth's array set on the
    segmentation model), render it seen down z; return the (H, W, 3) pixels and a function
    voxel (x, y) -> pixel."""
    (em,) = run('open %s' % demo['image'])
    (seg,) = run('open %s' % demo['segmentation'])
    assert (em.id_string, seg.id_string) == ('1', '2')
    assert tuple(em.data.size) == tuple(seg.data.size) == demo['size']
    values = demo['truth'][attribute]
    assert values.dtype == np.int32
    setattr(seg, attribute, values)
    run('volume #2 hide')
    run('segmentation colors #2 lime map #1 byAttribute %s' % attribute)
    nx, ny, _ = demo['size']
    run('volume #1 style image region 0,0,%d,%d,%d,%d step 1 level 0,0 level 255,1'
        ' color white brightness 1 colorMode rgb8 linearInterpolation false'
        % (k, nx - 1, ny - 1, k))
    # Orthographic, looking down -z with x to the right and y up; the field of view is the
    # map's width, its centre the plane's centre.
    run('lighting flat; camera ortho')
    w, h = nx * PIXELS, ny * PIXELS
    session.main_view.camera.field_width = nx * em.data.step[0]
    cx, cy, cz = em.data.ijk_to_xyz(((nx - 1) / 2, (ny - 1) / 2, k))
    run('view matrix camera 1,0,0,%.6f,0,1,0,%.6f,0,0,1,%.6f' % (cx, cy, cz + 1000))
    assert em.data.step[0] == em.data.step[1]
    pixels = np.asarray(session.main_view.image(w, h, supersample=None).convert('RGB'))
    assert pixels.shape == (h, w, 3)

    def at(x, y):
        return pixels[h - 1 - (y * PIXELS + PIXELS // 2), x * PIXELS + PIXELS // 2].astype(int)
    return pixels, at


def expected_plane(demo, attribute, k):
    """(ny, nx, 3): (0, v, 0) where the voxel's region has a non-zero `attribute`,
    (v, v, v) elsewhere; v is the EM value from the tiles."""
    v = tile_plane(demo, 'image', k).astype(int)
    coloured = demo['truth'][attribute][tile_plane(demo, 'segmentation', k)] > 0
    rgb = np.repeat(v[..., None], 3, axis=2)
    rgb[coloured] = v[coloured][:, None] * LIME // 255
    return rgb, coloured


def drawn_plane(pixels, demo):
    """Pixels at voxel centres, as (ny, nx, 3) indexed [y, x]."""
    nx, ny, _ = demo['size']
    c = PIXELS // 2
    return pixels[::-1][c::PIXELS, c::PIXELS][:ny, :nx].astype(int)


def test_axons_are_lime_where_truth_says(session, run, demo):
    k, samples = sample_plane(demo, 'axon')
    assert len(samples) >= 3, 'too few axon samples in one plane to test'
    pixels, at = open_and_render(session, run, demo, 'axon', k)
    em = tile_plane(demo, 'image', k).astype(int)
    seg = tile_plane(demo, 'segmentation', k)
    truth = demo['truth']
    for obj, x, y, _ in samples:
        assert truth['axon'][seg[y, x]] == obj
        v = em[y, x]
        r, g, b = at(x, y)
        assert g > r + 60 and g > b + 60, (obj, x, y, (r, g, b))         # lime-ish
        assert np.abs(np.array((r, g, b)) - (0, v, 0)).max() <= TOLERANCE, (obj, x, y)
    # Non-axon regions of that plane (cells and glia) are grey, not green.
    others = np.argwhere((seg > 0) & (truth['axon'][seg] == 0))
    rng = np.random.default_rng(0)
    for y, x in others[rng.choice(len(others), 50, replace=False)]:
        v = em[y, x]
        assert np.abs(at(x, y) - v).max() <= TOLERANCE, (x, y, at(x, y), v)
    # And the whole plane, voxel by voxel.
    expect, coloured = expected_plane(demo, 'axon', k)
    assert 0.02 < coloured.mean() < 0.5
    drawn = drawn_plane(pixels, demo)
    assert np.abs(drawn - expect).max() <= TOLERANCE


def test_dendrite_colouring_shows_no_lime_at_axons(session, run, demo):
    k, samples = sample_plane(demo, 'axon')
    pixels, at = open_and_render(session, run, demo, 'dendrite', k)
    em = tile_plane(demo, 'image', k).astype(int)
    for obj, x, y, _ in samples:
        r, g, b = at(x, y)
        v = em[y, x]
        assert abs(g - r) <= TOLERANCE and abs(g - b) <= TOLERANCE, (obj, x, y, (r, g, b))
        assert np.abs(np.array((r, g, b)) - v).max() <= TOLERANCE
    expect, coloured = expected_plane(demo, 'dendrite', k)
    assert coloured.any(), 'no dendrite in the plane: the test would not see colouring'
    drawn = drawn_plane(pixels, demo)
    assert np.abs(drawn - expect).max() <= TOLERANCE
    # The axon expectation does not match this picture: the comparison can fail.
    axon_expect, _ = expected_plane(demo, 'axon', k)
    assert np.abs(drawn - axon_expect).max() > 100


def test_object_files_name_regions_of_the_combined_segmentation(session, run, demo):
    """Region ids in the combined map (read by ChimeraX) are truth's, and every id in
    every object file (.csv, one of the formats `connectome ids` reads) occurs in it."""
    (seg,) = run('open %s' % demo['segmentation'])
    present = np.unique(seg.full_matrix())
    truth = demo['truth']
    assert present[0] == 0 and np.array_equal(present[1:], truth['region_ids'])
    for name in synthetic.CLASSES:
        path = demo['data'] / 'objects' / (synthetic.FILE_STEMS[name] + '.csv')
        rows = path.read_text().splitlines()
        if rows[0] == 'region_id,object_id':
            ids = [int(r.split(',')[0]) for r in rows[1:]]
        else:
            ids = [int(v) for r in rows for v in r.split(',')]
        assert ids and np.all(np.isin(ids, present[1:])), name
        assert set(ids) == set(np.flatnonzero(truth[name])), name


# ----------------------------------------------------------------------------
# `connectome demo` as a command

def test_demo_command_logs_its_summary(session, run, tmp_path):
    folder = tmp_path / 'made here'
    with LogCapture(session) as log:
        summary = run('connectome demo "%s" size small seed 5' % folder)
    assert summary.folder == str(folder) and summary.seed == 5
    assert synthetic.read_truth(folder)['seed'] == 5
    assert sorted(os.listdir(folder)) == ['README.txt', 'image', 'objects', 'segmentation',
                                          'truth.hdf5']
    assert summary.message in log.text
    assert log.text.count('Wrote synthetic dataset') == 1
    assert ('Wrote synthetic dataset %s (size small, seed 5): %d image and %d segmentation'
            ' tiles' % (folder, summary.tiles, summary.tiles)) in log.text
    assert '%d regions' % summary.regions in log.text
    assert '%d axons' % summary.objects['axon'] in log.text
    assert log.statuses and all('tiles' in s for s in log.statuses)


def test_demo_command_bad_arguments(session, run, tmp_path):
    from chimerax.core.errors import UserError
    folder = tmp_path / 'full'
    folder.mkdir()
    (folder / 'mine.txt').write_text('keep')
    with pytest.raises(UserError) as e:
        run('connectome demo %s' % folder)
    message = str(e.value)
    assert message.startswith('connectome demo: folder %s exists and is not empty' % folder)
    assert 'replace true' in message
    assert os.listdir(folder) == ['mine.txt']
    afile = tmp_path / 'afile'
    afile.write_text('x')
    with pytest.raises(UserError, match='connectome demo: .*afile exists and is not a folder'):
        run('connectome demo %s' % afile)
    with pytest.raises(UserError, match='size'):
        run('connectome demo %s size huge' % (tmp_path / 'new'))
    with pytest.raises(UserError, match='seed'):
        run('connectome demo %s seed -1' % (tmp_path / 'new'))
    assert sorted(os.listdir(tmp_path)) == ['afile', 'full']        # nothing else made
    # replace true overwrites the folder.
    run('connectome demo %s replace true' % folder)
    assert not (folder / 'mine.txt').exists() and (folder / 'truth.hdf5').is_file()
