"""The headless harness is real ChimeraX: core commands, cmap round trip, offscreen images."""


import numpy as np
import pytest

from cxrun import headless

pytestmark = pytest.mark.chimerax


def _new_volume(session, array, name='v'):
    from chimerax.map_data import ArrayGridData
    from chimerax.map import volume_from_grid_data
    return volume_from_grid_data(ArrayGridData(array, name=name), session)


def test_cmap_round_trip_with_chimerax_options(session, run, tmp_path):
    a = np.random.default_rng(0).integers(0, 255, (20, 30, 40), dtype=np.uint8)
    _new_volume(session, a)
    path = tmp_path / 'a.cmap'
    run('save %s models #1 compressMethod blosc:lz4hc subsamples 2' % path)
    run('close')
    (v,) = run('open %s' % path)
    assert v.data.size == (40, 30, 20)
    assert np.array_equal(v.full_matrix(), a)
    run('volume #1 step 2')
    assert tuple(v.region[2]) == (2, 2, 2)


def test_offscreen_image_shows_volume_colour(session, run, tmp_path):
    a = np.full((16, 16, 16), 200, dtype=np.uint8)
    _new_volume(session, a)
    run('volume #1 style image colorMode auto8 level 0,1 level 255,1 color red')
    run('view; lighting flat; camera ortho')
    png = tmp_path / 'v.png'
    run('save %s width 120 height 90 supersample 1' % png)
    from PIL import Image
    im = np.asarray(Image.open(png).convert('RGB')).astype(int)
    assert im.shape == (90, 120, 3)
    centre = im[45, 60]
    assert centre[0] > 100 and centre[1] < 60 and centre[2] < 60, centre


def test_command_line_flags_and_script_argv(tmp_path):
    script = tmp_path / 's.py'
    out = tmp_path / 'argv.txt'
    script.write_text('import sys\nopen(%r, "w").write(" ".join(sys.argv[1:]))\n' % str(out))
    cxc = tmp_path / 'm.cxc'
    cxc.write_text('windowsize\nversion\n')
    p = headless('--nogui', '--exit', '--cmd', 'wait 1; windowsize',
                 '--script', '%s one two' % script, '--script', str(cxc))
    assert p.returncode == 0, p.stderr
    assert out.read_text() == 'one two'


def test_failing_command_exits_nonzero_with_error_on_stderr():
    p = headless('--nogui', '--exit', '--cmd', 'volume #7 level 3')
    assert p.returncode != 0
    assert 'No volumes specified' in p.stderr or 'ERROR' in p.stderr
    p = headless('--nogui', '--exit', '--cmd', 'nosuchcommand 3')
    assert p.returncode != 0 and 'Unknown command' in p.stderr
