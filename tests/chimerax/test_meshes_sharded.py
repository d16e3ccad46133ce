"""connectome meshes ... sharded true and scheduler local 2 on real ChimeraX: the sharded
folder holds the same triangles as the unsharded one, ``connectome surfaces ... each``,
``connectome show`` and ``open ... format precomputedmesh`` draw from it, and a Dask
cluster writes the same bytes as a run here."""

import os
import subprocess

import numpy as np
import pytest

import killpoints
from cxrun import REPO, ctrl_c_at_pause
from segfixtures import LogCapture, combined_demo_with_ids

from chimerax.connectome.formats.meshes import MeshFolder


@pytest.fixture(scope='module')
def demo(tmp_path_factory, _process_session):
    from chimerax.core.commands import run
    root = combined_demo_with_ids(_process_session, tmp_path_factory.mktemp('shards'), seed=3)
    seg = root / 'segmentation.cmap'
    # The sharded folder where connectome surfaces and show look; the plain one apart.
    run(_process_session, 'connectome meshes %s axon chunkSize 32 sharded true' % seg)
    run(_process_session, 'connectome meshes %s axon output %s chunkSize 32 sharded false'
        % (seg, root / 'plain'))
    return dict(root=root, seg=seg, sharded=MeshFolder(str(root / 'segmentation.axon-meshes')),
                plain=MeshFolder(str(root / 'plain')))


def files(folder):
    return {n: open(os.path.join(folder, n), 'rb').read() for n in sorted(os.listdir(folder))}


def test_sharded_folder_holds_the_same_triangles(demo):
    sharded, plain = demo['sharded'], demo['plain']
    assert sharded.sharded and not plain.sharded
    assert all(n == 'info' or n.endswith('.shard') for n in os.listdir(sharded.path))
    assert sharded.ids() == plain.ids() and len(plain.ids()) > 3
    for object_id in plain.ids():
        for lod in range(plain.lod_count(object_id)):
            v, f = plain.triangles(object_id, lod)
            v2, f2 = sharded.triangles(object_id, lod)
            assert np.array_equal(v, v2) and np.array_equal(f, f2)


def test_surfaces_show_and_open_draw_from_a_sharded_folder(demo, run, session):
    sharded = demo['sharded']
    run('open %s' % demo['seg'])
    with LogCapture(session) as log:
        made = run('connectome surfaces #1 each axon lod 0')
    assert 'from meshes' in log.text
    assert [s.name.rsplit(' ', 1)[-1] for s in made] == [str(i) for i in sharded.ids()]
    for s in made:
        assert len(s.triangles) == len(sharded.triangles(int(s.name.rsplit(' ', 1)[-1]), 0)[1])
    (surface,) = run('connectome show #1 axon 2')
    v, f = sharded.triangles(2, 0)
    assert len(surface.triangles) == len(f)
    (group,) = run('open %s format precomputedmesh ids 1-3 lod 1' % sharded.path)
    for s in group.child_models():
        assert len(s.triangles) == len(sharded.triangles(int(s.name.rsplit(' ', 1)[-1]), 1)[1])


def test_a_dask_cluster_makes_the_same_meshes(demo, run, session, tmp_path):
    out = tmp_path / 'cluster'
    with LogCapture(session) as log:
        run('connectome meshes %s axon output %s chunkSize 32 sharded true scheduler local 2'
            % (demo['seg'], out))
    assert 'Meshing on 2 Dask worker threads' in log.text
    assert files(str(out)) == files(demo['sharded'].path)


def test_cluster_options_refused_where_they_do_not_apply(demo, run, tmp_path):
    from chimerax.core.errors import UserError
    with pytest.raises(UserError, match='threads is for a run here'):
        run('connectome meshes %s axon output %s scheduler local 1 threads 2'
            % (demo['seg'], tmp_path / 'a'))
    with pytest.raises(UserError, match='no scheduler was given'):
        run('connectome meshes %s axon output %s tlsCert %s'
            % (demo['seg'], tmp_path / 'b', demo['seg']))
    assert not (tmp_path / 'a').exists() and not (tmp_path / 'b').exists()


def test_killed_while_sharding_leaves_no_shard_and_a_rerun_continues(demo, tmp_path):
    out = tmp_path / 'm'
    command = ('connectome meshes %s axon output %s chunkSize 32 sharded true threads 1'
               % (demo['seg'], out))
    env = dict(os.environ)
    env.setdefault('CHIMERAX_HEADLESS_HOME', os.path.join(REPO, '.venv', 'chimerax-home-tests'))
    p = subprocess.Popen([os.path.join(REPO, 'bin', 'chimerax-headless'), '--nogui', '--exit',
                          '--script', '%s pause "meshes m: shards" %s %s'
                          % (killpoints.SCRIPT, tmp_path / 'never', command)],
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in p.stdout:
        if line.startswith('PAUSED meshes m: shards'):
            break
    else:
        raise AssertionError(p.communicate(timeout=300)[1][-2000:])
    p.kill()
    p.wait(timeout=60)
    assert not out.exists()
    assert not any(n.endswith('.shard') for _, _, names in os.walk(tmp_path) for n in names
                   if not n.startswith('.'))
    done = subprocess.run([os.path.join(REPO, 'bin', 'chimerax-headless'), '--nogui',
                           '--exit', '--cmd', command], env=env, capture_output=True,
                          text=True, timeout=600)
    assert 'chunks finished by an earlier run are kept' in done.stdout + done.stderr
    assert sorted(os.listdir(tmp_path)) == ['m']
    assert files(str(out)) == files(demo['sharded'].path)


def test_ctrl_c_on_a_cluster_run_leaves_no_output(demo, tmp_path):
    out = tmp_path / 'm'
    command = ('connectome meshes %s axon output %s chunkSize 16 sharded true scheduler'
               ' local 1' % (demo['seg'], out))
    # Held at its first progress point (tasks on the cluster) until the Ctrl-C is handled.
    returncode, out_text, err = ctrl_c_at_pause('meshes', command)
    assert returncode == 1, (returncode, err[-2000:])
    assert 'connectome meshes: cancelled; %s was not written' % out in err
    assert not out.exists()
    assert sorted(os.listdir(tmp_path)) == ['.m.chunks']
