"""``make demo``: the whole workflow on a synthetic dataset, with pictures.

Run inside ChimeraX (``bin/chimerax-headless --nogui --offscreen --exit --script
"scripts/demo.py OUTDIR [small|medium|large]"``, or ``runscript`` in the app).  Every step
is an ordinary ChimeraX command, logged as it runs; they are also written to
OUTDIR/demo.cxc so the same workflow can be replayed or edited.  Rendered pictures go to
OUTDIR/*.png:

    em-plane.png    the middle z plane of the stitched EM map
    em-colored.png  that plane coloured by the segmentation: axons lime, dendrites red,
                    spine heads blue
    em-classes.png  that plane coloured by the authors' dendrite classes, with a key naming
                    each class drawn and its count (none with 0), where the window has room
    neurons.png     the surface of neuron 1, whole, with its dendrites' spines, seen
                    from above at an angle

The dataset is ``medium`` unless another size is given: ``small``'s one neuron is
mostly soma, its dendrites cut short by the volume's edges and its unimaged notch.
"""

import os
import sys
import time

from chimerax.core.commands import run, quote_if_necessary as q
from chimerax.connectome.demo import read_truth

session = session  # noqa: F821  (ChimeraX gives a script its session)

out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else 'demo-output')
size = sys.argv[2] if len(sys.argv) > 2 else 'medium'
data = os.path.join(out, 'data')
authors = os.path.join(data, 'objects', 'authors')     # the authors' layout
image_map = os.path.join(out, 'image.cmap')
seg_map = os.path.join(out, 'segmentation.cmap')
os.makedirs(out, exist_ok=True)

picture = 'save %s width 800 height 600 supersample 3'     # the window's size (below)

script = ['# ChimeraX-Connectome demo workflow, as run by `make demo`']


def step(title, command):
    """Run one logged step (commands separated by '; ') and record it in demo.cxc."""
    if title:
        session.logger.info('== %s' % title)
        script.append('\n# %s' % title)
    script.append(command.replace('; ', '\n'))
    return run(session, command)


t0 = time.time()
step('Write a synthetic dataset shaped like Motta et al. 2019',
     'connectome demo %s size %s seed 0 replace true' % (q(data), size))
# The tiles carry no voxel size (the authors' do not either): the dataset's, from its truth.
voxel = '%g,%g,%g' % tuple(read_truth(data)['voxel_size'])
step('Stitch the EM tiles into one multiresolution map',
     'connectome combine %s output %s missing zero voxelSize %s replace true open false'
     % (q(os.path.join(data, 'image')), q(image_map), voxel))
step('Stitch the segmentation tiles',
     'connectome combine %s output %s missing zero voxelSize %s replace true open false'
     % (q(os.path.join(data, 'segmentation')), q(seg_map), voxel))
step('Add object ids, classes and numbers per region from the authors\' files',
     'connectome ids %s %s replace true' % (q(seg_map), q(authors)))
step('Open both maps', 'open %s; open %s' % (q(image_map), q(seg_map)))
em = session.models.list(model_id=(1,))[0]
nx, ny, nz = em.data.size
k = nz // 2                         # the middle z plane of this map, whatever its size
plane = 'region 0,0,%d,%d,%d,%d step 1' % (k, nx - 1, ny - 1, k)
step('Show the middle EM plane (z = %d of %d), segmentation hidden' % (k, nz),
     # The window has the pictures' shape, so `view` frames them as they are saved.
     'windowsize 800 600; volume #2 hide; volume #1 style image %s colorMode auto8;'
     ' view; lighting flat; camera ortho' % plane)
step(None, picture % q(os.path.join(out, 'em-plane.png')))
step('Colour the EM plane by axon, dendrite and spine head',
     'segmentation colors #2 lime map #1 byAttribute axon;'
     ' segmentation colors #2 red map #1 byAttribute dendrite;'
     ' segmentation colors #2 blue map #1 byAttribute spinehead')
step(None, picture % q(os.path.join(out, 'em-colored.png')))
step('Colour the EM plane by dendrite class, with a key',
     'connectome color #2 dendriteclass map #1 key true')
step(None, picture % q(os.path.join(out, 'em-classes.png')))
step(None, 'connectome uncolor #1')
# One whole neuron: boutons without their axons would float, and every axon would hide it.
step('The surface of neuron 1, with its spines',
     'volume #1 hide; segmentation surfaces #2 where neuron=1 color cornflowerblue;'
     ' lighting soft; camera mono; view orient; turn x -45; view')
step(None, picture % q(os.path.join(out, 'neurons.png')))

with open(os.path.join(out, 'demo.cxc'), 'w') as f:
    f.write('\n'.join(script) + '\n')
session.logger.info('Demo finished in %.1f s: pictures and demo.cxc in %s' % (time.time() - t0, out))
