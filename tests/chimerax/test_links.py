"""No command writes through a link (issue 26, "keep it from coming back"): for every
file or folder this bundle creates (combine's output, the demo folder, a store's
attribute file, the lock of a segmentation `connectome ids` changes), a symbolic link put
at the output name, the lock name or the temporary name, pointing at a user's file or
folder, never lets the command write into the link's target.  The command either refuses
by name or writes its own file in the link's place; the target is as it was."""

import hashlib
import os
import re
import time
import types

import pytest

import segfixtures as sf
import stores
import tilesets

SHAPE = (8, 12, 16)
TILE = (4, 6, 8)
STAMP = 7                   # the clock the temporary names are made of, fixed here


def digest(path):
    """What a file or folder holds (names and bytes), to see it unchanged."""
    h = hashlib.sha256()
    if os.path.isfile(path):
        with open(path, 'rb') as f:
            return h.update(f.read()) or h.hexdigest()
    for root, dirs, files in sorted(os.walk(path)):
        dirs.sort()
        for name in sorted(files):
            with open(os.path.join(root, name), 'rb') as f:
                h.update(name.encode() + f.read())
    return h.hexdigest()


def object_file(path, maximum):
    """A CSV object file: region r is in axon r % 3 + 1."""
    with open(path, 'w') as f:
        f.write('region,object\n')
        f.writelines('%d,%d\n' % (r, r % 3 + 1) for r in range(1, maximum + 1))
    return path


def setup_combine(run, tmp):
    labels = tilesets.labels(SHAPE, seed=3, cell=4)
    tilesets.write_tiles(tmp / 't', labels, TILE)
    return tmp / 'o.cmap', 'file', 'connectome combine %s output %s replace true' % (
        tmp / 't', tmp / 'o.cmap')


def setup_demo(run, tmp):
    return tmp / 'd', 'folder', 'connectome demo %s size small seed 1 replace true' % (
        tmp / 'd')


def setup_store_attributes(run, tmp):
    labels = tilesets.labels(SHAPE, seed=3, cell=4, max_id=50)
    path = stores.ome_zarr(tmp / 'seg.zarr', [labels], [], label=True)
    csv = object_file(tmp / 'axons.csv', int(labels.max()))
    output = tmp / 'seg.zarr.attributes.h5'
    return output, 'file', ('open %s format zarr' % path,
                            'connectome ids #1 axon %s replace true' % csv)


def setup_ids_lock(run, tmp):
    paths = sf.write_pair(tmp)
    csv = object_file(tmp / 'glia.csv', int(sf.volumes()[1].max()))
    return tmp / 'segmentation.cmap', 'changed', 'connectome ids %s glia %s' % (paths[1], csv)


def setup_export(run, tmp):
    labels = tilesets.labels(SHAPE, seed=3, cell=4)
    tilesets.write_tiles(tmp / 't', labels, TILE)
    return tmp / 'p', 'folder', ('connectome combine %s output %s format precomputed'
                                 ' replace true open false' % (tmp / 't', tmp / 'p'))


def demo_with_ids(run, tmp):
    """The small demo's segmentation combined and given the authors' ids: tmp/s.cmap."""
    data = tmp / 'data'
    run('connectome demo %s size small seed 1' % data)
    run('connectome combine %s output %s missing zero voxelSize %s open false; connectome'
        ' ids %s %s' % (data / 'segmentation', tmp / 's.cmap',
                        ','.join(map(str, sf.DEMO_VOXEL)), tmp / 's.cmap',
                        data / 'objects' / 'authors'))
    return tmp / 's.cmap'


def setup_table(run, tmp):
    seg = demo_with_ids(run, tmp)
    return tmp / 'synapses.csv', 'file', ('connectome table %s synapses save %s'
                                          % (seg, tmp / 'synapses.csv'))


def setup_meshes(run, tmp):
    seg = demo_with_ids(run, tmp)
    return tmp / 'm', 'folder', ('connectome meshes %s neuron 1 output %s threads 1'
                                 ' replace true' % (seg, tmp / 'm'))


SETUPS = {'combine output': setup_combine, 'demo folder': setup_demo,
          'store attribute file': setup_store_attributes, 'ids lock': setup_ids_lock,
          'export folder': setup_export, 'table file': setup_table,
          'meshes folder': setup_meshes}
TEMPORARY = {'file': '.%s.%d.%d.part', 'folder': '.%s.partial-%d-%d'}


# An input changed in place (ids on a .cmap) has only its lock made beside it.
CASES = [(what, where) for what in SETUPS
         for where in (['lock'] if what == 'ids lock' else ['output', 'lock', 'temporary'])]


@pytest.mark.parametrize('replace', [False, True])
def test_a_demo_folder_that_is_a_link_to_an_empty_folder(session, run, tmp_path, replace):
    """It was renamed onto and failed with a NotADirectoryError traceback."""
    from chimerax.core.errors import UserError
    (tmp_path / 'empty').mkdir()
    os.symlink(tmp_path / 'empty', tmp_path / 'd')
    with pytest.raises(UserError, match='%s is a symbolic link; a folder output is not'
                       ' written through a link' % (tmp_path / 'd')):
        run('connectome demo %s size small seed 1 replace %s' % (tmp_path / 'd',
                                                                 str(replace).lower()))
    assert os.listdir(tmp_path / 'empty') == []
    assert sorted(os.listdir(tmp_path)) == ['d', 'empty']


@pytest.mark.parametrize('what, where', CASES)
def test_a_link_never_lets_a_command_write_into_its_target(session, run, tmp_path,
                                                           monkeypatch, what, where):
    from chimerax.connectome.formats import locks
    from chimerax.core.errors import UserError
    output, kind, commands = SETUPS[what](run, tmp_path)
    commands = commands if isinstance(commands, tuple) else (commands,)
    # The user's file and folder a link points at.
    notes = tmp_path / 'notes.txt'
    notes.write_text('my notes')
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'keep.txt').write_text('keep')
    target = mine if kind == 'folder' else notes
    before = digest(target), digest(mine), digest(notes)
    name = output.name
    if where == 'output':
        link = output
    elif where == 'lock':
        link = tmp_path / ('.%s.lock' % name)
    else:
        # The temporary name is made of the process id and a clock: planted where it
        # will be.
        clock = types.SimpleNamespace(**{k: getattr(time, k) for k in dir(time)
                                         if not k.startswith('_')})
        clock.monotonic_ns = lambda: STAMP
        monkeypatch.setattr(locks, 'time', clock)
        link = tmp_path / (TEMPORARY[kind] % (name, os.getpid(), STAMP))
    os.symlink(target, link)
    try:
        for command in commands:
            run(command)
        refused = None
    except UserError as e:
        refused = str(e)
    assert (digest(target), digest(mine), digest(notes)) == before
    assert os.path.realpath(notes) == str(notes) and os.path.isdir(mine)
    if where == 'lock':
        assert refused and link.name in refused, refused
        assert os.path.islink(link)
    elif where == 'temporary':
        assert refused is None, refused
        assert os.path.islink(link) and os.readlink(link) == str(target)
        assert not os.path.islink(output) and os.path.exists(output)
    else:
        # Refused by name, or the command's own output in the link's place.
        if refused is None:
            assert not os.path.islink(output)
            assert os.path.isdir(output) if kind == 'folder' else os.path.isfile(output)
        else:
            assert name in refused, refused


def test_every_command_that_creates_files_is_covered():
    """The outputs above are every place the bundle names a new file or folder: each
    goes through formats/locks.py (atomic_output, or exclusive for a file changed in
    place); a new writer must join them and this test."""
    src = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        os.path.abspath(__file__)))), 'src')
    users = set()
    for root, _, files in os.walk(src):
        for f in files:
            if f.endswith('.py') and f != 'locks.py':
                text = open(os.path.join(root, f)).read()
                if re.search(r'\b(atomic_output|exclusive)\(', text):
                    users.add(os.path.relpath(os.path.join(root, f), src))
    assert users == {'pipeline/combine.py', 'demo/__init__.py', 'formats/sidecar.py',
                     'pipeline/attributefile.py', 'commands/ids.py', 'pipeline/export.py',
                     'pipeline/tables.py', 'session/storegrid.py', 'pipeline/meshing.py',
                     'pipeline/meshing_chunks.py'}, users
