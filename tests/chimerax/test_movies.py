"""The docs, run: the ChimeraX commands of docs/guide.md (its ```cxc blocks) copied as
written, then the four movie scripts of docs/movies/ on the data the guide made, all in
one bin/chimerax-headless process as a user would run them.  The movie scripts run with
few frames (``few_frames`` rewrites their frame counts and nothing else).  Every movie is
decoded by ffmpeg and its frames must show what it is about: (a) the neurons' own
surface colours, (b) a yellow neuron with red spine heads, (c) EM planes with green
axons, red dendrites and blue spine heads, (d) a yellow neuron with its input axons and
their synapses in their axon classes' colours.  The marker files the guide saves hold
the truth's synapses and skeletons, and the partner table it quotes is the truth's.
Last, the command help page is checked against the commands as ChimeraX registers them.
"""

import importlib.util
import math
import os
import re
import subprocess

import h5py
import numpy as np
import pytest

from chimerax.connectome.demo import read_authors_truth, read_truth
from chimerax.connectome.pipeline.attributefile import categories_node
from cxrun import REPO, headless

pytestmark = [pytest.mark.chimerax, pytest.mark.slow]

MOVIES = ('neurons', 'neuron-spines', 'em-slab', 'neuron-inputs')
FRAMES = 6                  # frames per movie script in this test


def _figures_module():
    # scripts/figures.py parses the guide for `make figures`; the test runs the same parse.
    spec = importlib.util.spec_from_file_location(
        'figures', os.path.join(REPO, 'scripts', 'figures.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def guide_commands():
    figures = _figures_module()
    items = figures.guide_items(open(figures.GUIDE).read())
    return [line for kind, value in items if kind == 'commands' for line in value]


def few_frames(script, frames=FRAMES):
    """The script with ``frames`` frames: ``turn AXIS ANGLE N`` turns as far in ``frames``
    steps, ``wait N`` waits ``frames``, ``planes AXIS,START,END,STEP`` steps through the same
    range in about ``frames`` planes."""
    lines = []
    for line in script.splitlines():
        words = line.split()
        if words[:1] == ['turn'] and len(words) == 4:
            line = 'turn %s %g %d' % (words[1], float(words[2]) * int(words[3]) / frames, frames)
        elif words[:1] == ['wait'] and len(words) == 2:
            line = 'wait %d' % frames
        else:
            m = re.search(r'planes (\w),(\d+),(\d+),(\d+)', line)
            if m:
                start, end = int(m.group(2)), int(m.group(3))
                step = math.ceil((end - start) / (frames - 1))
                line = line.replace(m.group(0), 'planes %s,%d,%d,%d'
                                    % (m.group(1), start, end, step))
        lines.append(line)
    return '\n'.join(lines) + '\n'


@pytest.fixture(scope='module')
def docs_run(tmp_path_factory):
    root = tmp_path_factory.mktemp('docs')
    home = root / 'home'
    home.mkdir()
    data = home / 'connectome-demo'           # the guide's ~/connectome-demo
    guide = root / 'guide.cxc'
    guide.write_text('\n'.join(guide_commands()) + '\n')
    env = {'HOME': str(home)}
    # The whole guide: far more CPU than one command (cxrun.finish guards hangs).
    process = headless('--nogui', '--offscreen', '--exit', '--script', str(guide),
                       env=env, cpu=1800)
    # The movie scripts in a process of their own, as they would be run: their windowsize
    # comes before anything is drawn (the offscreen frame keeps its first size).
    args = ['--nogui', '--offscreen', '--exit']
    for name in MOVIES:
        script = root / (name + '.cxc')
        script.write_text(few_frames(open(os.path.join(REPO, 'docs', 'movies',
                                                       name + '.cxc')).read()))
        args += ['--script', '%s %s' % (script, data)]
    movies = headless(*args, env=env, cpu=1800) if process.returncode == 0 else None
    return dict(process=process, movies=movies, data=data, root=root)


def frames(movie, folder):
    """The movie's frames as (height, width, 3) uint8 arrays, decoded by ffmpeg."""
    from PIL import Image
    assert os.path.getsize(movie) > 1000, movie
    os.makedirs(folder)
    subprocess.run(['ffmpeg', '-loglevel', 'error', '-i', str(movie),
                    os.path.join(folder, '%04d.png')], check=True)
    return [np.asarray(Image.open(os.path.join(folder, n)).convert('RGB'))
            for n in sorted(os.listdir(folder))]


def chromaticity(frame):
    """(lit, rgb / (r + g + b)): which pixels are drawn on, and their hue and saturation
    without their shading."""
    f = frame.astype(float)
    total = f.sum(axis=-1)
    return total > 60, f / np.maximum(total, 1)[..., None]


def pixels_like(frame, rgb, tolerance=0.06):
    """Drawn pixels whose chromaticity is within ``tolerance`` of the colour ``rgb``."""
    lit, c = chromaticity(frame)
    target = np.asarray(rgb, float) / sum(rgb)
    return lit & (np.abs(c - target).max(axis=-1) < tolerance)


def dominant(frame, channel, share=0.6):
    """Drawn pixels where one channel (0 red, 1 green, 2 blue) dominates."""
    lit, c = chromaticity(frame)
    return lit & (c[..., channel] > share)


def assert_ran(docs_run):
    assert docs_run['process'].returncode == 0, 'the guide failed'
    movies = docs_run['movies']
    assert movies.returncode == 0, movies.stdout[-3000:] + movies.stderr[-3000:]
    assert 'Traceback' not in movies.stdout + movies.stderr


def check_frames(shown, count):
    assert len(shown) == count
    for k, frame in enumerate(shown):
        lit, _ = chromaticity(frame)
        assert lit.mean() > 0.02, 'frame %d is empty' % k
    assert any(np.abs(shown[0].astype(int) - f).mean() > 1 for f in shown[1:]), \
        'the frames do not change'


# ---------------------------------------------------------------------------------------

def test_guide_commands_run_as_written(docs_run):
    process, data = docs_run['process'], docs_run['data']
    assert process.returncode == 0, (process.stdout[-3000:] + process.stderr[-3000:])
    assert 'Traceback' not in process.stdout + process.stderr
    truth = read_authors_truth(data)
    # Step 3 wrote every attribute of the authors' files, equal to the ground truth.
    with h5py.File(data / 'segmentation.cmap', 'r') as f:
        # ... and the wiring beside them (/attributes/.connectome), and the names of each
        # category attribute's categories (/attributes/.NAME.categories).
        categories = sorted(n for n in truth['objects']
                            if categories_node(n) in f['attributes'])
        assert categories == ['axonclass', 'dendriteclass', 'synapsetype']
        assert sorted(f['attributes']) == sorted(list(truth['objects']) + ['.connectome']
                                                 + [categories_node(n) for n in categories])
        for name, values in truth['objects'].items():
            assert np.array_equal(f['attributes'][name][()], values, equal_nan=True), name
    # The counts the guide quotes are this dataset's.
    text = open(os.path.join(REPO, 'docs', 'guide.md')).read()
    for name, words in (('axon', 'axons'), ('dendrite', 'dendrites'),
                        ('spinehead', 'spine heads'), ('neuron', 'neurons')):
        assert '%d %s' % (truth['objects'][name].max(), words) in text, name
    assert '%d synapses' % truth['synapse_type'].size in text
    # Step 7's movie: 90 frames of a turning scene.
    shown = frames(data / 'neurons-turning.mp4', docs_run['root'] / 'guide-frames')
    check_frames(shown, 90)


def test_movie_every_neuron(docs_run):
    """(a): every neuron's surface, each in the colour ChimeraX gives its id."""
    assert_ran(docs_run)
    from chimerax.segment.segment import _random_colors
    neurons = int(read_truth(docs_run['data'])['neuron'].max())
    assert neurons >= 2
    colors = _random_colors(neurons + 1, seed='neuron')[1:, :3]
    shown = frames(docs_run['data'] / 'neurons.mp4', docs_run['root'] / 'a')
    check_frames(shown, FRAMES)
    for frame in shown:
        lit, _ = chromaticity(frame)
        for neuron, rgb in enumerate(colors, start=1):
            assert pixels_like(frame, rgb).sum() > 0.05 * lit.sum(), neuron


def test_movie_neuron_with_spine_heads(docs_run):
    """(b): neuron 1 yellow, its spine heads red, nothing else."""
    assert_ran(docs_run)
    shown = frames(docs_run['data'] / 'neuron-spines.mp4', docs_run['root'] / 'b')
    check_frames(shown, FRAMES)
    for frame in shown:
        lit, _ = chromaticity(frame)
        yellow = pixels_like(frame, (255, 255, 0), tolerance=0.1).sum()
        red = dominant(frame, 0).sum()
        assert yellow > 0.5 * lit.sum()
        assert 0.005 * lit.sum() < red < yellow
        assert dominant(frame, 1).sum() + dominant(frame, 2).sum() < 0.01 * lit.sum()


def test_movie_em_slab(docs_run):
    """(c): EM planes coloured axons green, dendrites red, spine heads blue; the
    horizontal plane moves."""
    assert_ran(docs_run)
    shown = frames(docs_run['data'] / 'em-slab.mp4', docs_run['root'] / 'c')
    check_frames(shown, FRAMES)
    for frame in shown:
        assert dominant(frame, 1).sum() > 100          # axons cross the planes shown
    totals = {channel: sum(dominant(f, channel).sum() for f in shown) for channel in range(3)}
    assert totals[0] > 300 and totals[2] > 100, totals
    # Grey EM shows around the colours: most drawn pixels are uncoloured.
    lit, c = chromaticity(shown[0])
    grey = lit & (np.abs(c - 1 / 3).max(axis=-1) < 0.05)
    assert grey.sum() > 0.5 * lit.sum()


def test_movie_neuron_inputs(docs_run):
    """(d): neuron 1 yellow, its input axons in the axon classes' first two colours
    (corticocortical, thalamocortical: codes 1, 2)."""
    from chimerax.connectome.pipeline.classes import CATEGORY_COLORS, rgb
    first, second = (rgb(c) for c in CATEGORY_COLORS['axonclass'][:2])
    assert_ran(docs_run)
    shown = frames(docs_run['data'] / 'neuron-inputs.mp4', docs_run['root'] / 'd')
    check_frames(shown, FRAMES)
    for frame in shown:
        lit, _ = chromaticity(frame)
        yellow = pixels_like(frame, (255, 255, 0), tolerance=0.1).sum()
        one = pixels_like(frame, first, tolerance=0.08).sum()
        two = pixels_like(frame, second, tolerance=0.08).sum()
        assert yellow > 0.05 * lit.sum()
        assert one > 0.05 * lit.sum() and two > 0.005 * lit.sum(), (one, two, lit.sum())


def test_guide_markers_and_partners_are_the_truth(docs_run):
    """Steps 8-11: the partner table the guide quotes, and the .cmm files it saves."""
    import xml.etree.ElementTree as ET
    assert docs_run['process'].returncode == 0, 'the guide failed'
    data = docs_run['data']
    truth = read_authors_truth(data)
    text = open(os.path.join(REPO, 'docs', 'guide.md')).read()
    rows = truth['partners_axon_neuron']
    inputs = rows[rows[:, 1] == 1]
    assert 'neuron 1 inputs: %d synapses from %d axons' % (inputs[:, 2].sum(),
                                                           len(inputs)) in text
    strongest = inputs[np.lexsort((inputs[:, 0], -inputs[:, 2]))][0]
    assert '    axon %d  %d synapses' % (strongest[0], strongest[2]) in text
    assert 'The %d synapses onto neuron 1' % inputs[:, 2].sum() in text
    # neuron-1-synapses.cmm: one marker per synapse onto neuron 1, at its voxel.
    voxel = np.array([11.24, 11.24, 28.0])
    markers = ET.parse(data / 'neuron-1-synapses.cmm').getroot().findall('marker')
    want = np.flatnonzero(truth['synapse_neuron'] == 1) + 1
    assert sorted(int(m.get('id')) for m in markers) == want.tolist()
    for m in markers:
        xyz = np.array([float(m.get(c)) for c in 'xyz'])
        assert np.allclose(xyz, truth['synapse_contact'][int(m.get('id')) - 1] * voxel,
                           rtol=1e-4, atol=0.05)
    # skeletons.cmm: neuron 1's dendrites and every axon, nodes and links as in the files.
    sets = {s.get('name'): s for s in ET.parse(data / 'skeletons.cmm').getroot()}
    axons = truth['axon_skeleton_node_counts'].size
    dendrites = np.flatnonzero(truth['dendrite_neuron'] == 1) + 1
    assert sorted(sets) == sorted(['axon %d skeleton' % k for k in range(1, axons + 1)] +
                                  ['dendrite %d skeleton' % d for d in dendrites])
    nodes = np.split(truth['axon_skeleton_nodes'],
                     np.cumsum(truth['axon_skeleton_node_counts'])[:-1])
    for k in (1, axons // 2, axons):
        placed = sets['axon %d skeleton' % k].findall('marker')
        xyz = np.array([[float(m.get(c)) for c in 'xyz'] for m in
                        sorted(placed, key=lambda m: int(m.get('id')))])
        assert np.allclose(xyz, (nodes[k - 1] - 1) * voxel, rtol=1e-4, atol=0.05)


def test_help_page_documents_every_command_and_option(session, run):
    """Each declared command has its section in the help page (anchor = subcommand, as
    `help connectome demo` opens #demo) naming every keyword ChimeraX's usage lists."""
    from segfixtures import LogCapture
    from test_bundle import declared_commands
    page = open(os.path.join(REPO, 'src', 'docs', 'user', 'commands', 'connectome.html')).read()
    sections = dict(re.findall(r'<a id="(\w+)"></a>(.*?)(?=<a id="|</body>)', page, re.S))
    for command in declared_commands():
        sub = command.split()[1]
        assert sub in sections, 'no section id="%s" for %s' % (sub, command)
        with LogCapture(session) as log:
            run('usage %s' % command)
        keywords = re.findall(r'\[(\w+) _', log.text)
        missing = [k for k in keywords if '<b>%s</b>' % k not in sections[sub]]
        assert not missing, '%s: %s not in the help page' % (command, ', '.join(missing))
