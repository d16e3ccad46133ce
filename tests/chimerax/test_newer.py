"""What newer ChimeraX releases change under the bundle (issue 25 item 7): a map whose
rendering options make ChimeraX skip segmentation colours (the colormap on the GPU,
which 1.9's ``projectionMode rays`` uses) is coloured with a warning saying so, never
silently left grey."""

import pytest

import segfixtures as sf
from segfixtures import LogCapture, pair  # noqa: F401  (fixtures)

pytestmark = pytest.mark.chimerax


def test_colouring_a_map_drawn_with_the_gpu_colormap_warns(session, run, pair):
    sf.open_pair(run, pair)
    with LogCapture(session) as log:
        run('connectome color #2 map #1')
    assert 'colormapOnGpu' not in log.text
    run('volume #1 colormapOnGpu true')
    with LogCapture(session) as log:
        run('connectome color #2 map #1')
    assert ('#1 is coloured by regions, but ChimeraX does not draw segmentation colours'
            ' with colormapOnGpu true; to see them: volume #1 colormapOnGpu false'
            ' projectionMode auto') in log.text, log.text
    run('volume #1 colormapOnGpu false')
