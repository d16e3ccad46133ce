"""The connectome at the real scale: 400,000 synapses (bench_ids.py's authors' files:
300,000 axons, 100,000 dendrites, 400,000 spine heads, 15 million regions).

Part 1, plain Python: deriving the wiring from the authors' files and keeping it in the
segmentation (what ``connectome ids SEGMENTATION FOLDER`` adds to the attributes),
reading it back, and answering partner queries (the axons presynaptic to the neuron with
most synapses; the dendrites an axon is presynaptic to) and a synapse filter.

Part 2, real ChimeraX (a headless session in a fresh process per drawing, so memory is
measured alone): ``connectome synapses SEG`` drawing all 400,000 synapses as one
instanced model (the default beyond markerLimit), then as ChimeraX markers (markerLimit
400000): the command's wall time, the memory it adds, and the time to draw a frame
(640 x 480, offscreen OSMesa: software rendering on the CPU, so frame times say how much
is drawn, not what a graphics card takes); ``connectome partners`` as a logged command;
``connectome skeletons`` of 100 axons (marker sets), of 10,000 dendrites and of every axon
(tubes).

    python -m bench wiring [--quick]
"""

import os
import shutil
import tempfile
import time

from . import DATA, REPO
from .bench_combine import run_child
from .bench_ids import REGIONS, authors_files, segmentation

PURE_CHILD = '''
import os
import numpy as np
from chimerax.connectome.pipeline import partners, wiring
from chimerax.connectome.pipeline.attributefile import AttributeFile

t0 = time.perf_counter()
w = wiring.derive(args['folder'])
t1 = time.perf_counter()
AttributeFile(args['seg']).write_wiring(w)
t2 = time.perf_counter()
back = AttributeFile(args['seg']).wiring()
t3 = time.perf_counter()
assert back.count == w.count and np.array_equal(back.axon, w.axon)
neuron = int(np.argmax(np.bincount(w.neuron)[1:])) + 1
axon = int(np.argmax(np.bincount(w.axon)[1:])) + 1
times = {}
for label, call in (('neuron in', lambda: partners.partners(w, 'neuron', neuron, 'in')),
                    ('axon out', lambda: partners.partners(w, 'axon', axon, 'out')),
                    ('select of 100 axon ranges onto neurons 1-50', lambda: partners.select(
                        w, of=('axon', [(a, a + 2) for a in range(1, 300, 3)]),
                        onto=('neuron', [(1, 50)])))):
    best = 1e9
    for _ in range(5):
        t = time.perf_counter()
        result = call()
        best = min(best, time.perf_counter() - t)
    times[label] = best
table = partners.partners(w, 'neuron', neuron, 'in')
print(json.dumps({'derive': t1 - t0, 'write': t2 - t1, 'read': t3 - t2,
                  'synapses': w.count, 'neuron': neuron, 'axon': axon,
                  'neuron_rows': len(table.rows), 'neuron_synapses': table.totals['in'][0],
                  'queries': times, 'grew': os.path.getsize(args['seg']) - args['size'],
                  'maxrss': peak_rss()}))
'''

DRAW_CHILD = '''
import os
import numpy as np
import psutil
sys.path.insert(0, os.path.join(args['repo'], 'harness'))
from cxheadless import boot
session = boot.start_session(offscreen=True, home=args['home'])
from chimerax.core.commands import run
run(session, 'windowsize 640 480')
me = psutil.Process()

def frame():
    t = time.perf_counter()
    session.main_view.image(640, 480)
    return time.perf_counter() - t

out = {}
# The wiring read once (cached for the session) and the modules imported, as after any
# earlier command.
run(session, 'connectome partners %s neuron 1' % args['seg'])
for limit in (1, 100000):
    m = run(session, 'close; connectome synapses %s onto neuron %d markerLimit %d'
            % (args['seg'], args['neuron'], limit))
    assert m is not None
run(session, 'close')
before = me.memory_info().rss
t = time.perf_counter()
model = run(session, 'connectome synapses %s markerLimit %d' % (args['seg'], args['limit']))
out['draw'] = time.perf_counter() - t
out['added'] = me.memory_info().rss - before
out['kind'] = type(model).__name__
out['count'] = len(model.synapse_ids)
run(session, 'view')
out['first_frame'] = frame()
frames = []
for _ in range(3):
    run(session, 'turn y 30')
    frames.append(frame())
out['frame'] = min(frames)
t = time.perf_counter()
run(session, 'close %s' % model.atomspec)
out['close'] = time.perf_counter() - t
if args['others']:
    for label, text in (('partners neuron', 'connectome partners %s neuron %d' % (
                            args['seg'], args['neuron'])),
                        ('partners axon', 'connectome partners %s axon %d' % (
                            args['seg'], args['axon'])),
                        ('synapses onto a neuron', 'connectome synapses %s onto neuron %d' % (
                            args['seg'], args['neuron'])),
                        ('skeletons of 100 axons', 'connectome skeletons %s axon 1-100 from %s'
                         % (args['seg'], args['folder'])),
                        ('skeletons of 10000 dendrites', 'connectome skeletons %s dendrite'
                         ' 1-%d from %s' % (args['seg'], min(10000, args['dendrites']),
                                            args['folder'])),
                        ('skeletons of every axon', 'connectome skeletons %s axon all from %s'
                         % (args['seg'], args['folder']))):
        t = time.perf_counter()
        m = run(session, text)
        out[label] = time.perf_counter() - t
        if label.startswith('skeletons'):
            out[label + ' model'] = ('one model of %d tubes' % len(m.positions)
                                     if type(m).__name__ == 'Surface' else
                                     '%d marker sets' % len(m.child_models()))
            run(session, 'close %s' % m.atomspec)
print(json.dumps(dict(out, maxrss=peak_rss())))
'''


def main(flags):
    from chimerax.connectome.progress import format_bytes
    quick = '--quick' in flags
    scale = 20 if quick else 1
    folder = os.path.join(DATA, 'authors-%d' % (REGIONS // scale))
    t = time.monotonic()
    counts, _ = authors_files(folder, scale)
    print('authors\' files: %d synapses, %d axons, %d dendrites (%s; ready in %.1f s)'
          % (counts['synapses'], counts['axons'], counts['dendrites'], folder,
             time.monotonic() - t), flush=True)
    work = tempfile.mkdtemp(prefix='bench-wiring-', dir=DATA)
    try:
        seg = os.path.join(work, 'seg.cmap')
        segmentation(seg, counts['regions'])
        p = run_child(PURE_CHILD, seg=seg, folder=folder, size=os.path.getsize(seg))
        print('wiring of %d synapses: derived from the files in %.2f s, kept in the'
              ' segmentation in %.2f s (the file grew %s), read back in %.3f s'
              % (p['synapses'], p['derive'], p['write'], format_bytes(p['grew']), p['read']))
        for label, seconds in p['queries'].items():
            print('  %s: %.1f ms' % (label, 1e3 * seconds))
        print('  (neuron %d: %d synapses from %d axons)' % (p['neuron'], p['neuron_synapses'],
                                                           p['neuron_rows']), flush=True)
        home = os.path.join(work, 'home')
        common = dict(seg=seg, folder=folder, repo=REPO, home=home, neuron=p['neuron'],
                      axon=p['axon'], dendrites=counts['dendrites'])
        instanced = run_child(DRAW_CHILD, limit=min(100_000, counts['synapses'] - 1),
                              others=True, **common)
        markers = run_child(DRAW_CHILD, limit=counts['synapses'], others=False, **common)
        print('connectome synapses SEG, all %d synapses (640 x 480 frames, OSMesa on the CPU):'
              % counts['synapses'])
        for label, r in (('one instanced model', instanced), ('ChimeraX markers', markers)):
            print('  %-20s %s: drawn in %.2f s, +%s memory, first frame %.2f s, then %.2f s'
                  ' a frame, closed in %.2f s' % (label, r['kind'], r['draw'],
                                                  format_bytes(r['added']), r['first_frame'],
                                                  r['frame'], r['close']))
        print('  markers / instanced: %.0fx the time to draw, %.1fx the memory'
              % (markers['draw'] / instanced['draw'],
                 markers['added'] / max(instanced['added'], 1)))
        for label in ('partners neuron', 'partners axon', 'synapses onto a neuron',
                      'skeletons of 100 axons', 'skeletons of 10000 dendrites',
                      'skeletons of every axon'):
            extra = instanced.get(label + ' model')
            print('  connectome %s: %.0f ms%s' % (label, 1e3 * instanced[label],
                                                  ' (%s)' % extra if extra else ''))
    finally:
        shutil.rmtree(work, ignore_errors=True)

