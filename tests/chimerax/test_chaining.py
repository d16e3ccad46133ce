"""`;` separates ChimeraX commands: every connectome command (each one bundle_info.xml
declares), typed with valid arguments and followed by `; version`, runs, and so does the
command after it.  The hand-written argument parsers (every Annotation of the bundle)
stop at the `;` and leave it, and what follows, to ChimeraX."""

import shutil
import xml.etree.ElementTree as ET

import pytest

from segfixtures import LogCapture, combined_demo
from cxrun import REPO


@pytest.fixture(scope='module')
def demo(tmp_path_factory, _process_session):
    from chimerax.core.commands import run
    root = tmp_path_factory.mktemp('chaining')
    data = combined_demo(_process_session, root, seed=5)
    shutil.copy(root / 'segmentation.cmap', root / 'bare.cmap')
    folder = data / 'objects' / 'authors'
    run(_process_session, 'connectome ids %s %s' % (root / 'segmentation.cmap', folder))
    return dict(root=root, data=data, folder=folder, seg=root / 'segmentation.cmap',
                bare=root / 'bare.cmap', image=root / 'image.cmap')


# Each connectome command with valid arguments; #1 is the EM map and #2 the segmentation
# (with attributes and wiring) when the case opens them.  {tmp} is a fresh folder.
CASES = [
    ('demo', 'connectome demo {tmp}/d size small seed 2', False),
    ('combine', 'connectome combine {data}/segmentation output {tmp}/c.cmap missing zero'
     ' open false', False),
    ('ids folder', 'connectome ids {tmp}/bare.cmap {folder}', False),
    ('ids pairs', 'connectome ids {tmp}/bare.cmap axon {data}/objects/axons.hdf5', False),
    ('ids list', 'connectome ids {seg}', False),
    ('ids model', 'connectome ids #2 {folder} replace true', True),
    ('color', 'connectome color #2', True),
    ('color by', 'connectome color #2 axonclass', True),
    ('color by colors', 'connectome color #2 axonclass inhibitory red', True),
    ('color keyword', 'connectome color #2 axonclass key true', True),
    ('uncolor', 'connectome uncolor #1', True),
    ('surfaces', 'connectome surfaces #2 where axon=1', True),
    ('at', 'connectome at 100,100,100', True),
    ('panel', 'connectome panel', True),
    ('synapses', 'connectome synapses {seg}', False),
    ('synapses model', 'connectome synapses #2', True),
    ('synapses of', 'connectome synapses {seg} of axon 1', False),
    ('synapses onto', 'connectome synapses {seg} onto neuron 1', False),
    ('synapses color', 'connectome synapses {seg} color axonclass', False),
    ('partners', 'connectome partners {seg} neuron 1', False),
    ('partners model', 'connectome partners #2 neuron 1', True),
    ('skeletons', 'connectome skeletons {seg} axon 1', False),
    ('show', 'connectome show #2 neuron 1', True),
    ('table synapses', 'connectome table {seg} synapses onto neuron 1 save {tmp}/s.csv',
     False),
    ('table partners', 'connectome table {seg} partners neuron 1', False),
    ('table matrix', 'connectome table #2 matrix axonclass dendriteclass by asi', True),
    ('table objects', 'connectome table {seg} objects axon all sortBy outputs top 3',
     False),
    ('meshes', 'connectome meshes {seg} axon 1 output {tmp}/m threads 1', False),
    ('meshes sharded', 'connectome meshes {seg} axon 1 output {tmp}/m sharded true', False),
    ('meshes scheduler', 'connectome meshes {seg} axon 1 output {tmp}/m scheduler local 1',
     False),
]


def declared_commands():
    root = ET.parse(REPO + '/bundle_info.xml').getroot()
    names = []
    for c in root.iter('ChimeraXClassifier'):
        parts = [p.strip() for p in c.text.split('::')]
        if parts[0] == 'Command' and parts[1].startswith('connectome '):
            names.append(parts[1])
    return names


def test_every_declared_command_has_a_case():
    covered = {' '.join(command.split()[:2]) for _, command, _ in CASES}
    assert set(declared_commands()) <= covered


@pytest.mark.parametrize('command,opens', [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_command_then_semicolon_then_another(session, run, demo, tmp_path, request,
                                             command, opens):
    if command == 'connectome panel':
        request.getfixturevalue('window')
    shutil.copy(demo['bare'], tmp_path / 'bare.cmap')
    if opens:
        run('open %s' % demo['image'])
        run('open %s' % demo['seg'])
    text = command.format(tmp=tmp_path, data=demo['data'], folder=demo['folder'],
                          seg=demo['seg'])
    with LogCapture(session) as log:
        run(text + '; version')
    # The command as typed (then any commands it runs itself), and version last.
    assert log.commands[0] == text and log.commands[-1] == 'version', log.commands
    assert 'ChimeraX version' in log.text


def test_every_parser_leaves_the_semicolon(session, demo):
    """Each Annotation the bundle writes by hand, given a valid value then `; version`,
    stops before the `;`."""
    from chimerax.connectome.commands.color import AttributeColorsArg
    from chimerax.connectome.commands.combine import SchedulerArg
    from chimerax.connectome.commands.ids import NameFilePairsArg
    from chimerax.connectome.commands.table import PickArg, WordsArg
    from chimerax.connectome.commands.wiring import ColorByArg, ObjectsArg
    from chimerax.connectome.session.maps import SegmentationArg
    from chimerax.connectome.session.markers import RadiusArg
    folder = str(demo['folder'])
    objects = str(demo['data'] / 'objects')
    for arg, value in ((AttributeColorsArg, 'axonclass'),
                       (AttributeColorsArg, 'axonclass inhibitory red'),
                       (SchedulerArg, 'tcp://localhost:8786'),
                       (SchedulerArg, 'local'),
                       (SchedulerArg, 'local 2'),
                       (NameFilePairsArg, folder),
                       (NameFilePairsArg, 'axon %s/axons.hdf5' % objects),
                       (NameFilePairsArg, 'neuron %s/neurons.hdf5 via dendrite' % objects),
                       (ObjectsArg, 'neuron 1'),
                       (ColorByArg, 'type'),
                       (ColorByArg, 'red'),
                       (SegmentationArg, str(demo['seg'])),
                       (RadiusArg, '2.5'),
                       (WordsArg, 'neuron 1'),
                       (WordsArg, 'axon all'),
                       (PickArg, 'axon 1-3'),
                       (PickArg, '1-3')):
        for gap in ('', ' '):
            _, used, rest = arg.parse(value + gap + '; version', session)
            assert rest.lstrip() == '; version', (arg.__name__, value, used, rest)
            assert used.strip() == value, (arg.__name__, value, used)


@pytest.mark.parametrize('arg,text', [
    ('AttributeColorsArg', '; version'),
    ('ObjectsArg', 'neuron; version'),
    ('ObjectsArg', '; version'),
    ('NameFilePairsArg', '; version'),
    ('SegmentationArg', '; version'),
    ('SegmentationArg', ''),
])
def test_a_missing_value_is_an_error_not_the_semicolon(session, arg, text):
    from chimerax.connectome.commands import color, ids, wiring
    from chimerax.connectome.session import maps
    from chimerax.core.commands import AnnotationError
    cls = {'AttributeColorsArg': color.AttributeColorsArg,
           'ObjectsArg': wiring.ObjectsArg, 'NameFilePairsArg': ids.NameFilePairsArg,
           'SegmentationArg': maps.SegmentationArg}[arg]
    with pytest.raises(AnnotationError):
        cls.parse(text, session)


@pytest.mark.parametrize('command', ['connectome synapses', 'connectome synapses; version',
                                     'connectome ids', 'connectome skeletons'])
def test_a_missing_segmentation_names_what_is_expected(session, run, command):
    """Not "Expected a file name": a model is as good as a file."""
    from chimerax.core.errors import UserError
    with pytest.raises(UserError, match=r'Expected a segmentation \.cmap file or one open'
                                        r' map \(#N\)'):
        run(command)
