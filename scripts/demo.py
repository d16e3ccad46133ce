"""``make demo``: the whole workflow on a synthetic dataset, with pictures.

Run inside ChimeraX (``bin/chimerax-headless --nogui --offscreen --exit --script
"scripts/demo.py OUTDIR"``, or ``runscript`` in the app).  Every step is an ordinary
ChimeraX command, logged as it runs; they are also written to OUTDIR/demo.cxc so the
same workflow can be replayed or edited.  Rendered pictures go to OUTDIR/*.png.
"""

import os
import sys
import time

from chimerax.core.commands import run, quote_if_necessary as q

session = session  # noqa: F821  (ChimeraX gives a script its session)

out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else 'demo-output')
data = os.path.join(out, 'data')
objects = os.path.join(data, 'objects')
image_map = os.path.join(out, 'image.cmap')
seg_map = os.path.join(out, 'segmentation.cmap')
os.makedirs(out, exist_ok=True)

classes = [('axon', 'axons'), ('dendrite', 'dendrites'), ('spinehead', 'spineheads'),
           ('neuron', 'neurons'), ('presynapse', 'presynapses'), ('postsynapse', 'postsynapses')]

steps = [
    ('Write a synthetic dataset shaped like Motta et al. 2019',
     'connectome demo %s size small seed 0 replace true' % q(data)),
    ('Stitch the EM tiles into one multiresolution map',
     'connectome combine %s output %s missing zero replace true'
     % (q(os.path.join(data, 'image')), q(image_map))),
    ('Stitch the segmentation tiles',
     'connectome combine %s output %s missing zero replace true'
     % (q(os.path.join(data, 'segmentation')), q(seg_map))),
    ('Add object ids per region as segmentation attributes',
     'connectome ids %s %s replace true'
     % (q(seg_map), ' '.join('%s %s' % (name, q(os.path.join(objects, stem + '.mat')))
                             for name, stem in classes))),
    ('Open both maps', 'open %s; open %s' % (q(image_map), q(seg_map))),
    ('Show one EM plane, segmentation hidden',
     'volume #2 hide; volume #1 style image region all planes z,50 colorMode auto8;'
     ' view; lighting flat; camera ortho'),
    (None, 'save %s width 800 height 600 supersample 2' % q(os.path.join(out, 'em-plane.png'))),
    ('Colour the EM plane by axon, dendrite and spine head',
     'segmentation colors #2 lime map #1 byAttribute axon;'
     ' segmentation colors #2 red map #1 byAttribute dendrite;'
     ' segmentation colors #2 blue map #1 byAttribute spinehead'),
    (None, 'save %s width 800 height 600 supersample 2' % q(os.path.join(out, 'em-colored.png'))),
    ('Surfaces of every neuron', 'volume #1 hide; segmentation surfaces #2 each neuron;'
     ' lighting soft; camera mono; view; turn x -60'),
    (None, 'save %s width 800 height 600 supersample 2' % q(os.path.join(out, 'neurons.png'))),
]

script = ['# ChimeraX-Connectome demo workflow, as run by `make demo`']
t0 = time.time()
for title, command in steps:
    if title:
        session.logger.info('== %s' % title)
        script.append('\n# %s' % title)
    script.append(command.replace('; ', '\n'))
    run(session, command)
with open(os.path.join(out, 'demo.cxc'), 'w') as f:
    f.write('\n'.join(script) + '\n')
session.logger.info('Demo finished in %.1f s: pictures and demo.cxc in %s' % (time.time() - t0, out))
