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


def test_colouring_a_map_drawn_by_rays_warns(session, run, pair):
    """ChimeraX 1.9's ``volume #1 projectionMode rays`` (ray casting, which colours on
    the GPU) drops segmentation colours.  1.7.1's volume command does not know the mode,
    so the test sets the rendering option that command sets; the bundle reads only it."""
    from chimerax.core.errors import UserError
    sf.open_pair(run, pair)
    image = session.models.list(model_id=(1,))[0]
    with pytest.raises(UserError):
        run('volume #1 projectionMode rays')        # 1.7.1: the mode does not exist yet
    options = image.rendering_options
    options.projection_mode = 'rays'
    try:
        with LogCapture(session) as log:
            run('connectome color #2 map #1')
    finally:
        options.projection_mode = 'auto'
    assert ('#1 is coloured by regions, but ChimeraX does not draw segmentation colours'
            ' with projectionMode rays; to see them: volume #1 colormapOnGpu false'
            ' projectionMode auto') in log.text, log.text
    # Both at once are named together.
    options.projection_mode, options.colormap_on_gpu = 'rays', True
    try:
        with LogCapture(session) as log:
            run('connectome color #2 map #1')
    finally:
        options.projection_mode, options.colormap_on_gpu = 'auto', False
    assert 'with colormapOnGpu true and projectionMode rays;' in log.text, log.text
    with LogCapture(session) as log:
        run('connectome color #2 map #1')
    assert 'does not draw segmentation colours' not in log.text
