"""A small EM map and segmentation pair with known objects, for the panel, toolbar and
readout tests (test_panel_demo.py runs them on the whole demo pipeline).

Both maps are Chimera maps of one grid size written by ChimeraX's own cmap writer; the
segmentation file also carries what `connectome ids` adds: a ``maximum_segment_id``
attribute and one 1-D int32 array per object class under ``/attributes`` (index = region
id, value = object id, 0 = region in no object of that class).

Regions are boxes of BLOCK voxels separated by one-voxel walls of region 0, so each voxel
inside a box has one known region and known object ids.  Region ids are sparse
(``100 + 7 * box number``) so a lookup that confused box number and region id fails.
"""

import itertools

import h5py
import numpy as np
import pytest

SIZE = (48, 40, 16)                 # x, y, z voxels
BLOCK = 8
STEP = (2.0, 2.0, 3.0)              # voxel size, x, y, z
ORIGIN = (10.0, 20.0, 30.0)
CLASSES = ('axon', 'dendrite', 'spinehead')
EM_VALUE = 200                      # inside boxes; walls are dark membrane


def boxes():
    """(box number, (i0, j0, k0)) for every box, in x-fastest order."""
    nx, ny, nz = (s // BLOCK for s in SIZE)
    corners = itertools.product(range(nz), range(ny), range(nx))
    return [(n, (i * BLOCK, j * BLOCK, k * BLOCK)) for n, (k, j, i) in enumerate(corners)]


def region_id(box):
    return 100 + 7 * box


def object_ids(box):
    """{class: object id} of a box's region: every 4th box in no class, the others in
    one of axon, dendrite, spinehead; axons and dendrites also belong to a neuron."""
    kind = box % 4
    ids = {name: 0 for name in CLASSES + ('neuron',)}
    if kind == 0:
        ids['axon'] = 1200 + box // 8           # several regions per axon
    elif kind == 1:
        ids['dendrite'] = 40 + box // 8
    elif kind == 2:
        ids['spinehead'] = 7 + box
    if kind in (0, 1):
        ids['neuron'] = 1 + box // 20
    return ids


def volumes():
    """(em, segmentation) z,y,x arrays: uint8 image, uint32 region ids."""
    nx, ny, nz = SIZE
    seg = np.zeros((nz, ny, nx), np.uint32)
    em = np.full((nz, ny, nx), 60, np.uint8)
    for box, (i0, j0, k0) in boxes():
        inside = (slice(k0 + 1, k0 + BLOCK), slice(j0 + 1, j0 + BLOCK), slice(i0 + 1, i0 + BLOCK))
        seg[inside] = region_id(box)
        em[inside] = EM_VALUE
    return em, seg


def attribute_arrays():
    """{class: int32 array indexed by region id}, neuron included."""
    nboxes = len(boxes())
    max_id = region_id(nboxes - 1)
    arrays = {name: np.zeros(max_id + 1, np.int32) for name in CLASSES + ('neuron',)}
    for box in range(nboxes):
        for name, oid in object_ids(box).items():
            arrays[name][region_id(box)] = oid
    return arrays


def box_center_ijk(box, k=None):
    """A voxel well inside a box (optionally on plane k)."""
    i0, j0, k0 = dict(boxes())[box]
    c = BLOCK // 2
    return (i0 + c, j0 + c, k0 + c if k is None else k)


def ijk_to_xyz(ijk):
    return tuple(o + s * i for o, s, i in zip(ORIGIN, STEP, ijk))


def truth_at(ijk):
    """{'region': id, class: object id, ...} at voxel ijk (walls: all 0)."""
    i, j, k = ijk
    inside = all(0 < c % BLOCK for c in ijk)
    if not inside:
        return dict({'region': 0}, **{name: 0 for name in CLASSES + ('neuron',)})
    nx, ny, _ = (s // BLOCK for s in SIZE)
    box = (k // BLOCK) * nx * ny + (j // BLOCK) * nx + i // BLOCK
    return dict({'region': region_id(box)}, **object_ids(box))


def write_pair(folder, attributes=CLASSES + ('neuron',), maximum=True):
    """Write em.cmap and segmentation.cmap into folder; return their paths.  The
    segmentation carries ``maximum_segment_id`` unless ``maximum`` is False."""
    from chimerax.map_data import ArrayGridData
    from chimerax.map_data.cmap.write_cmap import write_grid_as_chimera_map
    em, seg = volumes()
    paths = []
    for name, array in (('em', em), ('segmentation', seg)):
        path = str(folder / ('%s.cmap' % name))
        grid = ArrayGridData(array, origin=ORIGIN, step=STEP, name=name)
        write_grid_as_chimera_map(grid, path, options={'compress': True})
        paths.append(path)
    arrays = attribute_arrays()
    with h5py.File(paths[1], 'r+') as f:
        if maximum:
            f['/Chimera/image1'].attrs['maximum_segment_id'] = np.int64(seg.max())
        group = f.create_group('attributes')
        for name in attributes:
            group.create_dataset(name, data=arrays[name])
    return paths


# ---------------------------------------------------------------------------------------
# pytest fixtures (import them into a test module to use them)

@pytest.fixture(scope='module')
def pair(_process_session, tmp_path_factory):
    """Paths of em.cmap and segmentation.cmap, written once per test module."""
    return write_pair(tmp_path_factory.mktemp('segpair'))


@pytest.fixture
def settings(session):
    """The Connectome settings, at their defaults during the test and after it."""
    from chimerax.connectome.session.settings import connectome_settings
    s = connectome_settings(session)
    s.reset()
    yield s
    s.reset()


# ---------------------------------------------------------------------------------------
# In a session: open the pair, show one plane, read back what ChimeraX drew and logged.

PLANE = 4                            # the z plane shown (inside the first layer of boxes)


def open_pair(run, paths, plane=PLANE):
    """Open em.cmap as #1 and segmentation.cmap as #2, show plane z=plane of the EM map
    as an image seen straight down z, segmentation hidden; return (em, seg) models."""
    (em,) = run('open %s' % paths[0])
    (seg,) = run('open %s' % paths[1])
    nx, ny, _ = SIZE
    run('volume #2 hide; volume #1 style image region 0,0,%d,%d,%d,%d colorMode auto8'
        ' level 0,0 level 200,1 level 255,1; view; lighting flat; camera ortho' % (plane, nx - 1, ny - 1, plane))
    return em, seg


def window_xy(session, xyz):
    """Window pixel (x from left, y from top) where a scene point is drawn."""
    view = session.main_view
    x, y = view.win_coord(xyz)[:2]
    return int(round(x)), int(round(view.window_size[1] - y))


def drawn_colors(session, plane=PLANE):
    """{box: (r, g, b)} of a freshly drawn frame at the centre of each box on the plane."""
    view = session.main_view
    rgba = view.image_rgba()[::-1]      # OpenGL's bottom row first, turned top row first
    colors = {}
    for box, _ in boxes():
        if box >= len(boxes()) // 2:     # boxes on the plane are in the first layer
            continue
        x, y = window_xy(session, ijk_to_xyz(box_center_ijk(box, k=plane)))
        colors[box] = tuple(int(c) for c in rgba[y, x, :3])
    return colors


def color_class(rgb):
    """What a drawn colour is: 'white' (uncoloured EM), or the nearest pure colour."""
    named = {'white': (255, 255, 255), 'lime': (0, 255, 0), 'red': (255, 0, 0),
             'blue': (0, 0, 255), 'magenta': (255, 0, 255), 'yellow': (255, 255, 0),
             'black': (0, 0, 0)}
    return min(named, key=lambda n: sum((a - b) ** 2 for a, b in zip(rgb, named[n])))


class LogCapture:
    """The session's log and status line as a user would see them (the test session is
    silent, so logging is turned on while capturing)."""

    def __init__(self, session):
        from chimerax.core.logger import PlainTextLog

        class _Log(PlainTextLog):
            excludes_other_logs = True

            def __init__(self):
                super().__init__()
                self.messages, self.statuses = [], []

            def log(self, level, msg):
                self.messages.append(msg)
                return True

            def status(self, msg, color, secondary):
                if msg:
                    self.statuses.append(msg)
                return True
        self.session = session
        self._log = _Log()

    def __enter__(self):
        self._silent = self.session.silent
        self.session.silent = False
        self.session.logger.add_log(self._log)
        return self

    def __exit__(self, *exc):
        self.session.logger.remove_log(self._log)
        self.session.silent = self._silent

    @property
    def text(self):
        return ''.join(self._log.messages)

    @property
    def commands(self):
        """Commands run, in order, as the log shows them: "Executing: ..." without a
        window, a command link (HTML) with one."""
        import html
        import re
        found = []
        for message in self._log.messages:
            m = re.search(r'<div class="cxcmd_as_doc">(.*?)</div>', message, re.S)
            if m:
                found.append(html.unescape(re.sub(r'<[^>]+>', '', m.group(1))).strip())
            else:
                found.extend(line[len('Executing: '):] for line in message.splitlines()
                             if line.startswith('Executing: '))
        return found

    @property
    def statuses(self):
        return list(self._log.statuses)


# ---------------------------------------------------------------------------------------
# The whole demo pipeline, small

DEMO_VOXEL = (11.24, 11.24, 28.0)


def combined_demo(session, root, seed, size='small'):
    """`connectome demo ROOT/data size SIZE seed SEED`, then its image and segmentation
    tiles combined into ROOT/image.cmap and ROOT/segmentation.cmap (voxels DEMO_VOXEL):
    the first steps of the guide, for a module's tests.  Returns ROOT/data."""
    from chimerax.core.commands import run
    data = root / 'data'
    run(session, 'close session')
    run(session, 'connectome demo %s size %s seed %d' % (data, size, seed))
    for kind in ('image', 'segmentation'):
        run(session, 'connectome combine %s output %s missing zero voxelSize %s open false'
            % (data / kind, root / (kind + '.cmap'), ','.join(map(str, DEMO_VOXEL))))
    return data


def combined_demo_with_ids(session, root, seed):
    """``combined_demo`` and then `connectome ids` of the authors' files onto
    ROOT/segmentation.cmap, in a closed session.  Returns ROOT."""
    from chimerax.core.commands import run
    data = combined_demo(session, root, seed)
    run(session, 'connectome ids %s %s' % (root / 'segmentation.cmap',
                                          data / 'objects' / 'authors'))
    run(session, 'close session')
    return root
