"""Pictures of the Connectome panel and of an EM plane it coloured; ``make figures`` runs
this (from scripts/figures.py) on the guide's data folder.

Run inside ChimeraX (``bin/chimerax-headless --nogui --offscreen --exit --script
"scripts/figures_panel.py [FOLDER]"``, where the app window is emulated for the panel, or
the ChimeraX app).  Uses FOLDER/image.cmap and
FOLDER/segmentation.cmap with object ids (FOLDER defaults to demo-output, as ``make demo``
leaves it), running scripts/demo.py first if they are missing.  The panel's own Color map
button colours the plane, so the picture shows what a user gets; writes
docs/images/panel.png (the panel widget) and docs/images/colored-map.png, and the panel
picture again beside the panel's help page, which the bundle ships.
"""

import contextlib
import os
import sys

import numpy as np

from chimerax.core.commands import run, quote_path_if_necessary as q

session = session  # noqa: F821  (ChimeraX gives a script its session)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
demo = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, 'demo-output'))
images = os.path.join(ROOT, 'docs', 'images')
os.makedirs(images, exist_ok=True)
image_map = os.path.join(demo, 'image.cmap')
seg_map = os.path.join(demo, 'segmentation.cmap')
if not (os.path.exists(image_map) and os.path.exists(seg_map)):
    run(session, 'runscript %s %s' % (q(os.path.join(ROOT, 'scripts', 'demo.py')), q(demo)))
    run(session, 'close session')

(em,) = run(session, 'open %s' % q(image_map))
(seg,) = run(session, 'open %s' % q(seg_map))
nx, ny, nz = em.data.size
k = nz // 2
# Brightness from the shown plane's own range, so membranes are dark and cells light
# whatever the dataset's intensities.
plane = em.data.matrix((0, 0, k), (nx, ny, 1))
low, high = (float(v) for v in np.percentile(plane, (1, 99)))
run(session, 'volume %s style image region 0,0,%d,%d,%d,%d colorMode auto8'
    ' level %g,0 level %g,1; view; lighting flat; camera ortho; windowsize 800 600'
    % (em.atomspec, k, nx - 1, ny - 1, k, low, high))

if session.ui.is_gui:
    window = contextlib.nullcontext()
else:       # chimerax-headless: the app window, emulated (harness/cxheadless/window.py)
    from cxheadless.window import window as app_window
    window = app_window(session)
with window:
    panel = run(session, 'connectome panel')
    panel.color_button.click()
    run(session, 'view; save %s width 800 height 600 supersample 3'
        % q(os.path.join(images, 'colored-map.png')))

    panel.choose_attribute('dendriteclass')
    widget = panel.tool_window.ui_area
    widget.resize(340, widget.sizeHint().height())
    widget.layout().activate()          # no event loop runs here to lay it out again
    picture = widget.grab()
    picture.save(os.path.join(images, 'panel.png'))
    picture.save(os.path.join(ROOT, 'src', 'docs', 'user', 'tools', 'connectome-panel.png'))
    panel.delete()
session.logger.info('Wrote panel.png and colored-map.png to %s' % images)
