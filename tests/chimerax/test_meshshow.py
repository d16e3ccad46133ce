"""Surfaces drawn from meshes on real ChimeraX: every object is drawn at one level of
detail (never neighbouring fragments of two levels, which would crack), and the surface
drawn for each object at every level has no boundary edge (no crack where the octree's
fragments meet)."""

import numpy as np
import pytest

from segfixtures import combined_demo_with_ids

from chimerax.connectome.formats.meshes import MeshFolder


@pytest.fixture(scope='module')
def meshed(tmp_path_factory, _process_session):
    from chimerax.core.commands import run
    root = combined_demo_with_ids(_process_session, tmp_path_factory.mktemp('meshshow'),
                                  seed=5)
    seg = root / 'segmentation.cmap'
    # Small chunks: the neurons span many octree nodes at every level.
    run(_process_session, 'connectome meshes %s neuron chunkSize 32' % seg)
    run(_process_session, 'close session')
    return seg, MeshFolder(str(root / 'segmentation.neuron-meshes'))


def boundary_edges(triangles):
    """Edges used by an odd number of triangles: where the surface has a hole or a crack
    (an edge where two sheets touch is used by four, and is no crack)."""
    t = np.asarray(triangles)
    e = np.sort(np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]]), 1)
    counts = np.unique(e, axis=0, return_counts=True)[1]
    return int((counts % 2 == 1).sum())


def test_every_level_drawn_has_no_boundary_edge(meshed, run):
    seg, folder = meshed
    run('open %s' % seg)
    lods = min(folder.lod_count(i) for i in folder.ids())
    assert lods >= 3
    spans = []
    for lod in range(lods):
        made = run('connectome surfaces #1 each neuron lod %d' % lod)
        assert [int(s.name.rsplit(' ', 1)[-1]) for s in made] == folder.ids()
        for s in made:
            object_id = int(s.name.rsplit(' ', 1)[-1])
            m = folder.manifest(object_id)
            # One level for the whole object: the triangles of every fragment of that
            # level, and only those.
            assert len(s.triangles) == len(folder.triangles(object_id, lod)[1])
            assert boundary_edges(s.triangles) == 0, (object_id, lod)
            spans.append(int((m.sizes[lod] > 0).sum()))
        run('close #2')
    assert max(spans) >= 4      # some object is made of several fragments at some level


def test_a_chosen_level_is_one_level_for_every_object(meshed, run, session):
    """The level the triangle budget picks is one level for all objects drawn."""
    seg, folder = meshed
    run('open %s' % seg)
    fine = run('connectome surfaces #1 each neuron lod 0')
    n = sum(len(s.triangles) for s in fine)
    run('close #2')
    run('graphics quality totalAtomTriangles %d' % (n // 2))
    try:
        made = run('connectome surfaces #1 each neuron')
    finally:
        run('graphics quality totalAtomTriangles 5000000')
    levels = None
    for s in made:
        object_id = int(s.name.rsplit(' ', 1)[-1])
        counts = [len(folder.triangles(object_id, k)[1])
                  for k in range(folder.lod_count(object_id))]
        here = {k for k, c in enumerate(counts) if c == len(s.triangles)}
        levels = here if levels is None else levels & here
        assert boundary_edges(s.triangles) == 0
    assert levels and 0 not in levels       # one level (not the finest) fits every object


def test_neuron_with_spine_heads_from_its_mesh(meshed, run, session):
    """The seed's "one neuron (yellow) with spine heads (red)" as docs/movies/
    neuron-spines.cxc draws it: the neuron's surface from its mesh, painted red where it
    lies on spine-head regions by ChimeraX's own ``segmentation colors``."""
    from segfixtures import LogCapture
    seg, folder = meshed
    run('open %s' % seg)
    with LogCapture(session) as log:
        (surface,) = run('connectome surfaces #1 where neuron=1 colors yellow')
    assert 'Created 1 surfaces from meshes' in log.text
    assert len(surface.triangles) == len(folder.triangles(1, 0)[1])
    run('segmentation colors #1 red surfaces %s byAttribute spinehead' % surface.atomspec)
    colors = surface.vertex_colors
    red = (colors[:, 0] == 255) & (colors[:, 1] == 0) & (colors[:, 2] == 0)
    yellow = (colors[:, 0] == 255) & (colors[:, 1] == 255) & (colors[:, 2] == 0)
    assert 0.005 * len(colors) < red.sum() < yellow.sum()
    assert red.sum() + yellow.sum() == len(colors)
