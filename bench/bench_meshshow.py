"""Showing 100+ neurons' surfaces: ``connectome surfaces SEG each neuron`` from the meshes
``connectome meshes`` made, beside ChimeraX's own ``segmentation surfaces SEG each neuron``
marching the voxels (at the step ChimeraX picks for the map, and at step 1, the meshes'
full resolution), side by side in one run.

The volume is dense neuropil (bench/neuropil.py's periodic block of regions, copies each
with its own ids, 11.24 x 11.24 x 28 nm voxels; 768 x 768 x 320 voxels, more than the 160 M
voxels below which ChimeraX marches at step 1), written as ``connectome combine`` writes a
map; 100 neurons of 2 regions each picked at random, the neuron of every region in the
map's attribute file.  ``connectome meshes SEG neuron`` runs once (timed, not compared).
Then each drawing runs in a fresh headless ChimeraX (a new process: nothing imported,
nothing cached) after the map's and the mesh folder's pages are dropped from the page
cache (``posix_fadvise(DONTNEED)`` on every file: cold, as after a reboot, without root):
the map is opened and hidden, then the command is timed until it returns with the
surfaces made and added to the scene.  Drawing the first frame is not timed: here it is
OSMesa's software rendering on the CPU, which takes as long for the same triangles
whichever command made them.  Goals: 100 neurons' meshes shown in under 2 s, at least 10x
faster than ChimeraX's command at the step it picks, at full resolution (level of
detail 0 drawn).

    python -m bench meshshow [--quick] [--keep]
"""

import compileall
import json
import os
import shutil
import tempfile

import numpy as np

from . import DATA, REPO
from .bench_combine import run_child
from .bench_meshes import write_cmap
from .neuropil import BLOCK, region_block

GOAL_SECONDS = 2.0
GOAL_RATIO = 10.0
NEURONS = 100
# Regions (~15,000 voxels each) per neuron.  With 10, zmesh 1.15's quadric simplifier
# (connectome meshes' coarser levels) never returned on two of the ~150,000-triangle
# neurons (the hang docs/performance.md describes), so the neurons are two regions each.
REGIONS_PER_NEURON = 2
# Neurons whose two regions, as picked, make a surface zmesh's simplifier never returns on
# (neuron 4 of seed 0): they get two other regions, picked the same way.
REPICKED = (4,)

MESH_CHILD = '''
import os
sys.path.insert(0, os.path.join(args['repo'], 'harness'))
from cxheadless import boot
session = boot.start_session(offscreen=True, home=args['home'])
from chimerax.core.commands import run
t = time.monotonic()
run(session, 'connectome meshes %s neuron threads %d' % (args['seg'], args['threads']))
print(json.dumps({'wall': time.monotonic() - t, 'maxrss': peak_rss()}))
'''

DRAW_CHILD = '''
import os
t0 = time.monotonic()
sys.path.insert(0, os.path.join(args['repo'], 'harness'))
from cxheadless import boot
session = boot.start_session(offscreen=True, home=args['home'])
from chimerax.core.commands import run
run(session, 'windowsize 640 480')
seg = run(session, 'open %s' % args['seg'])[0]
# The step segmentation surfaces picks (chimerax.segment's _voxel_limit_step): the
# smallest power of 2 that leaves at most 10 x the map's voxel limit.
step, limit = 1, seg.rendering_options.voxel_limit * 2**20 * 10
while seg.data.size[0] * seg.data.size[1] * seg.data.size[2] / step**3 > limit:
    step *= 2
run(session, 'volume #1 hide')
session.main_view.image(640, 480)
started = time.monotonic() - t0
# Cold: what opening the map read is forgotten, by ChimeraX and by the page cache.
seg.data.clear_cache()
from bench.bench_meshshow import drop_cache
drop_cache(args['drop'])
from chimerax.core.logger import StringPlainTextLog
session.silent = False              # the headless session logs nothing otherwise
t = time.monotonic()
with StringPlainTextLog(session.logger) as log:
    made = run(session, args['command'])
command = time.monotonic() - t
from_meshes = 'surfaces from meshes' in log.getvalue()
from chimerax.core.models import Surface
surfaces = [m for m in session.models.list() if isinstance(m, Surface) and m.display
            and m.triangles is not None and len(m.triangles)]
print(json.dumps({'start': started, 'command': command, 'from_meshes': from_meshes,
                  'picked_step': step, 'surfaces': len(surfaces),
                  'triangles': int(sum(len(s.triangles) for s in surfaces)),
                  'log': session.logger.__class__.__name__, 'maxrss': peak_rss()}))
'''


# The floor: what is left of each command when nothing is read, decoded or marched while
# timed.  Same start as DRAW_CHILD (fresh ChimeraX, map opened and hidden, one frame
# drawn), then the arrays are made untimed and only the making of the 100 surface models
# (normals, colours, the models, added to the scene: the first surfaces this process
# adds, so ChimeraX frames the view on their bounds as it does after a real command) is
# timed.  Wall and CPU (process_time) both.
FLOOR_START = """
import os
sys.path.insert(0, os.path.join(args['repo'], 'harness'))
from cxheadless import boot
session = boot.start_session(offscreen=True, home=args['home'])
from chimerax.core.commands import run
run(session, 'windowsize 640 480')
seg = run(session, 'open %s' % args['seg'])[0]
run(session, 'volume #1 hide')
session.main_view.image(640, 480)
import numpy as np
import chimerax.surface                 # imported by both commands before timing
def timed(f):
    t, c = time.monotonic(), time.process_time()
    r = f()
    return r, time.monotonic() - t, time.process_time() - c
"""

# Ours: connectome surfaces' own model making (session/meshsurfaces.py surface_models, the
# code the command runs after reading) on level 0 of the 100 neurons, read and decoded
# before timing.  Then DracoPy decoding those same fragments from bytes in memory (one
# thread: it holds the GIL; the fastest of three), the floor of reading this format.
FLOOR_OURS_CHILD = FLOOR_START + """
from chimerax.connectome.session.meshsurfaces import each_colors, mesh_folder, surface_models
from chimerax.connectome.session.classes import class_values
folder = mesh_folder(seg, 'neuron')
values = class_values(seg, 'neuron')
ids = [int(i) for i in np.unique(values[values > 0])]
levels = folder.levels(ids, 0)
colors = each_colors('neuron', values)
(tops, surfaces), wall, cpu = timed(lambda: surface_models(session, ids, levels, 'neuron',
                                                           colors, title=seg.name))
import DracoPy
blobs = []
for i in ids:                           # the folder is not sharded: ID and ID.index
    sizes = folder.manifest(i).sizes[0]
    with open(os.path.join(folder.path, str(i)), 'rb') as f:
        data = f.read(int(sizes.sum()))
    starts = [0] + np.cumsum(sizes).tolist()
    blobs += [data[a:b] for a, b in zip(starts[:-1], starts[1:]) if b > a]
# The fastest of three (a floor): the first pays for this process's first large arrays.
meshes, dwall, dcpu = min((timed(lambda: [DracoPy.decode(b) for b in blobs])
                           for _ in range(3)), key=lambda r: r[1])
print(json.dumps({'wall': wall, 'cpu': cpu, 'surfaces': len(surfaces),
                  'triangles': int(sum(len(s.triangles) for s in surfaces)),
                  'decode_wall': dwall, 'decode_cpu': dcpu, 'fragments': len(blobs),
                  'decoded_triangles': int(sum(len(m.faces) for m in meshes)),
                  'draco_bytes': sum(map(len, blobs)), 'maxrss': peak_rss()}))
"""

# ChimeraX's: segmentation surfaces #1 each neuron at the step it picks, run as a command,
# with the map's matrix at that step and its marching (chimerax.segment's C++
# segmentation_surfaces) done before timing and handed back to it: what is timed is the
# rest of ChimeraX's command (its regions, moving the vertices to the scene, normals,
# colours, the 100 models added).
FLOOR_CHIMERAX_CHILD = FLOOR_START + """
step, limit = 1, seg.rendering_options.voxel_limit * 2**20 * 10
while seg.data.size[0] * seg.data.size[1] * seg.data.size[2] / step**3 > limit:
    step *= 2
import chimerax.segment
from chimerax.segment.segment import _which_segments
matrix = seg.matrix(step=(step,) * 3, subregion='all')
group, _ = _which_segments(seg, ['neuron'])
marched = chimerax.segment.segmentation_surfaces(matrix, group)
seg.matrix = lambda *a, **k: matrix
chimerax.segment.segmentation_surfaces = lambda m, g: marched
made, wall, cpu = timed(lambda: run(session, 'segmentation surfaces #1 each neuron'))
print(json.dumps({'wall': wall, 'cpu': cpu, 'surfaces': len(made), 'step': step,
                  'triangles': int(sum(len(s.triangles) for s in made)),
                  'maxrss': peak_rss()}))
"""


def neuropil(shape, neurons, regions_per_neuron):
    """(region ids z,y,x of a ``shape`` volume of dense neuropil, made of copies of the
    periodic block each with its own ids, the neuron of every region): ``neurons``
    neurons of ``regions_per_neuron`` regions each, picked at random; other regions are
    in no neuron."""
    block = region_block()
    seeds = int(block.max()) + 1
    copies = [-(-s // BLOCK) for s in shape]
    regions = np.empty(shape, np.uint32)
    for index, (cz, cy, cx) in enumerate(np.ndindex(*copies)):
        z, y, x = cz * BLOCK, cy * BLOCK, cx * BLOCK
        piece = regions[z:z + BLOCK, y:y + BLOCK, x:x + BLOCK]
        piece[...] = block[:piece.shape[0], :piece.shape[1], :piece.shape[2]]
        piece += np.uint32(1 + index * seeds)
    present = np.unique(regions)
    rng = np.random.default_rng(0)
    chosen = rng.choice(present, neurons * regions_per_neuron, replace=False)
    values = np.zeros(int(present.max()) + 1, np.uint32)
    values[chosen] = np.repeat(np.arange(1, neurons + 1, dtype=np.uint32),
                               regions_per_neuron)
    for neuron in REPICKED:
        values[values == neuron] = 0
        free = present[(values[present] == 0) & (present > 0)]
        values[rng.choice(free, regions_per_neuron, replace=False)] = neuron
    return regions, values


def drop_cache(paths):
    """Evict the pages of every file under ``paths`` from the page cache."""
    for top in paths:
        files = ([top] if os.path.isfile(top) else
                 [os.path.join(d, f) for d, _, fs in os.walk(top) for f in fs])
        for path in files:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def main(flags):
    from chimerax.connectome.pipeline.attributefile import AttributeFile
    from chimerax.connectome.formats.meshes import default_output
    quick = '--quick' in flags
    # The bundle's modules byte-compiled, as an installed bundle has them (and ChimeraX's
    # own): with PYTHONDONTWRITEBYTECODE set, each fresh ChimeraX would compile the ~40
    # modules the command imports from source, 0.15-0.35 s, on every cold start.
    compileall.compile_dir(os.path.join(REPO, 'src'), quiet=1)
    shape, per = ((128, 128, 128), 1) if quick else ((320, 768, 768), REGIONS_PER_NEURON)
    regions, values = neuropil(shape, NEURONS, per)
    # --keep: the map and its meshes stay in DATA/meshshow-SIZE and a later --keep run
    # reuses them (connectome meshes takes ~40 s at the full size); else a temporary folder.
    keep = '--keep' in flags
    work = (os.path.join(DATA, 'meshshow-%s' % ('quick' if quick else 'full')) if keep else
            tempfile.mkdtemp(prefix='bench-meshshow-', dir=DATA))
    made_marker = os.path.join(work, 'made.json')
    try:
        seg = os.path.join(work, 'seg.cmap')
        home = os.path.join(work, 'home')
        folder = default_output(seg, 'neuron')
        present = np.count_nonzero(np.unique(values))
        print('dense neuropil %d x %d x %d voxels (%.1f M), %d regions, %d neurons of %d'
              ' regions each, picked at random' % (shape[::-1] + (regions.size / 1e6,
                                                  len(values) - 1, present, per)), flush=True)
        if keep and os.path.exists(made_marker):
            with open(made_marker) as f:
                made = json.load(f)
            print('(reusing the map and meshes of %s)' % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
            os.makedirs(home)
            write_cmap(seg, regions)
            AttributeFile(seg).write({'neuron': values})
            made = run_child(MESH_CHILD, repo=REPO, home=home, seg=seg,
                             threads=min(4, os.cpu_count()))
            if keep:
                with open(made_marker, 'w') as f:
                    json.dump(made, f)
        size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
        print('connectome meshes %s neuron: %.1f s, %.1f MB of meshes (made once, not'
              ' compared)' % (os.path.basename(seg), made['wall'], size / 1e6), flush=True)
        cases = [('connectome surfaces, from the meshes (level of detail 0)',
                  'connectome surfaces #1 each neuron lod 0'),
                 ('connectome surfaces, from the meshes (level of detail it picks)',
                  'connectome surfaces #1 each neuron'),
                 ('segmentation surfaces, at the step ChimeraX picks',
                  'segmentation surfaces #1 each neuron'),
                 ('segmentation surfaces, step 1 (full resolution)',
                  'segmentation surfaces #1 each neuron step 1')]
        results = {}
        for label, command in cases:
            drop_cache([seg, folder])
            r = run_child(DRAW_CHILD, repo=REPO, home=home, seg=seg, command=command,
                          drop=[seg, folder])
            results[command] = r
            print('%-64s %6.2f s, %d surfaces, %d triangles%s'
                  ' (ChimeraX would march at step %d; it started in %.1f s)'
                  % (label, r['command'], r['surfaces'], r['triangles'],
                     ' from meshes' if r['from_meshes'] else '',
                     r['picked_step'], r['start']), flush=True)
        ours = results[cases[0][1]]
        if not ours['from_meshes']:
            raise RuntimeError('connectome surfaces did not draw from the meshes')
        picked = results[cases[2][1]]
        full = results[cases[3][1]]
        ratio = picked['command'] / ours['command']
        floor = run_child(FLOOR_OURS_CHILD, repo=REPO, home=home, seg=seg)
        print('%-64s %6.2f s (CPU %.2f s), %d surfaces, %d triangles' % (
            'floor: connectome surfaces\' models alone, arrays in memory', floor['wall'],
            floor['cpu'], floor['surfaces'], floor['triangles']))
        print('%-64s %6.2f s (CPU %.2f s), %d fragments, %.1f MB, %d triangles' % (
            'floor: DracoPy decoding level 0, bytes in memory, one thread',
            floor['decode_wall'], floor['decode_cpu'], floor['fragments'],
            floor['draco_bytes'] / 1e6, floor['decoded_triangles']))
        theirs = run_child(FLOOR_CHIMERAX_CHILD, repo=REPO, home=home, seg=seg)
        print('%-64s %6.2f s (CPU %.2f s), %d surfaces, %d triangles' % (
            'floor: segmentation surfaces at step %d, marching done before'
            % theirs['step'], theirs['wall'], theirs['cpu'], theirs['surfaces'],
            theirs['triangles']), flush=True)
        if floor['triangles'] != ours['triangles'] or floor['surfaces'] != ours['surfaces']:
            raise RuntimeError('the floor did not make the surfaces the command made')
        # 10x needs the whole command within picked / 10.  Our models alone (wall) must
        # fit in it, and so must Draco's decoding: in one thread (DracoPy holds the GIL),
        # or at best its CPU time spread over every core with nothing else paid.
        allowed = picked['command'] / GOAL_RATIO
        floor_ratio = picked['command'] / floor['wall']
        one_thread = picked['command'] / (floor['wall'] + floor['decode_wall'])
        all_cores = picked['command'] / (floor['wall'] + floor['decode_cpu'] / os.cpu_count())
        spare = allowed - floor['wall']
        print('floor ratio: segmentation surfaces at the step ChimeraX picks (%.2f s) / our'
              ' surface models alone at full resolution (%.2f s) = %.1fx'
              % (picked['command'], floor['wall'], floor_ratio))
        print('  with Draco decoding too: %.1fx in one thread (models + %.2f s), at best %.1fx'
              ' spread over all %d cores (models + %.2f s of decoding CPU / %d)'
              % (one_thread, floor['decode_wall'], all_cores, os.cpu_count(),
                 floor['decode_cpu'], os.cpu_count()))
        print('  10x at full resolution: %s' % (
            'out of reach inside ChimeraX whatever the reading costs (the 100 models alone'
            ' take more than %.2f s)' % allowed if floor_ratio < GOAL_RATIO else
            'out of reach on this machine (%d cores) with this format: models and decoding'
            ' alone need %.2f s at best, more than %.2f s; it would take %d cores decoding'
            ' with no overhead' % (os.cpu_count(), picked['command'] / all_cores, allowed,
                                   int(np.ceil(floor['decode_cpu'] / spare)))
            if all_cores < GOAL_RATIO else 'not ruled out by the floor'), flush=True)
        print('meshes at full resolution made and shown in %.2f s (goal < %.0f s), %.1fx faster than'
              ' segmentation surfaces at the step ChimeraX picks (step %d; goal >= %.0fx),'
              ' %.1fx faster than it at step 1: %s'
              % (ours['command'], GOAL_SECONDS, ratio, picked['picked_step'], GOAL_RATIO,
                 full['command'] / ours['command'],
                 'met' if ours['command'] < GOAL_SECONDS and ratio >= GOAL_RATIO
                 and ours['surfaces'] >= NEURONS else 'NOT met'))
    finally:
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    import sys
    main(sys.argv[1:])
