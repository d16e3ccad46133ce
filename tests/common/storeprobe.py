"""The store probe (issue 24): one segmentation written by each of the field's writers in
each layout they publish (CloudVolume's encodings and compressions, Igneous's
downsampling, tensorstore, zarr-python's OME-Zarr 0.4 and N5, Zarr v3 OME-Zarr 0.5,
funlib/daisy, z5py's N5 with blosc, Paintera, BigDataViewer, COSEM, ids above 2^32), and
for each: it opens, every level reads voxel for voxel as written (or as the writer's own
reader reads it), the voxel size, origin and levels are the metadata's, and
``connectome combine`` to a .cmap gives the same voxels and levels as the same volume
from a plain store (mapped back through the .cmap's id map where it has one).

``run_case(name, folder, reference)`` gives one ``Row``; ``probe(folder)`` every row, the
first case's .cmap being the reference; ``table(rows)`` the Markdown table.  Used by
tests/portable/test_store_probe.py and ``python -m bench stores --probe``.
"""

import os
import subprocess
import warnings
from dataclasses import dataclass

import h5py
import hdf5plugin  # noqa: F401  reads the .cmap's Blosc chunks
import numpy as np

import stores
import tilesets
from chimerax.connectome.formats.stores import open_store
from chimerax.connectome.pipeline import combine

SHAPE = (18, 34, 42)                        # z,y,x: not multiples of chunks or factors
FACTORS = [(2, 2, 1), (4, 4, 2)]            # x,y,z
FACTORS_ZYX = [tuple(reversed(f)) for f in FACTORS]
STEPS = [(2, 2, 1), (4, 4, 2)]              # the .cmap's levels
RES = (8, 8, 40)
OFFSET = (3, 5, 2)                          # a precomputed voxel_offset, x,y,z
IGNEOUS_PYTHON = os.environ.get('CONNECTOME_IGNEOUS_PYTHON', os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    '.venv-igneous', 'bin', 'python'))


def labels():
    return tilesets.labels(SHAPE, seed=11, max_id=3000)


def above_2_32(a):
    """Region ids moved above 2^32, their order reversed; 0 stays 0."""
    a = np.asarray(a).astype(np.uint64)
    return np.where(a > 0, np.uint64(2 ** 50) + (np.uint64(5000) - a) * np.uint64(7919),
                    np.uint64(0)).astype(np.uint64)


@dataclass
class Written:
    """A store a writer made and what it must read as: ``levels`` (z,y,x arrays, full
    resolution first), ``factors`` (z,y,x per level), ``voxel_size`` and ``origin``
    (x,y,z nm, the first voxel's centre)."""
    path: str
    levels: list
    factors: list
    voxel_size: tuple
    origin: tuple
    ids: object = None          # the function turning small ids into the stored ones


@dataclass
class Row:
    case: str
    writer: str
    opened: str = ''
    voxels: str = ''
    geometry: str = ''
    levels: str = ''
    combined: str = ''

    @property
    def ok(self):
        return all(v == 'yes' for v in (self.opened, self.voxels, self.geometry,
                                        self.levels, self.combined))


def _pc_origin(offset=OFFSET, res=RES):
    # neuroglancer's voxel corners: the first voxel's centre half a voxel further.
    return tuple((o + 0.5) * r for o, r in zip(offset, res))


def _cloudvolume(encoding, compress, ids=None):
    def write(folder, a):
        levels = stores.pyramid(a if ids is None else ids(a), FACTORS_ZYX)
        path = stores.precomputed_cloudvolume(folder, levels, FACTORS, resolution=RES,
                                              offset=OFFSET, encoding=encoding,
                                              compress=compress)
        return Written(path, levels, [(1, 1, 1)] + FACTORS_ZYX, RES, _pc_origin(), ids)
    return write


def _igneous(folder, a):
    """Full resolution by CloudVolume (gzip, its default), the scales by Igneous's own
    downsampling tasks (its mode for segmentation) in Igneous's environment; the levels
    expected are what CloudVolume reads back."""
    from cloudvolume import CloudVolume
    path = stores.precomputed_cloudvolume(folder, [a], [], resolution=RES, offset=OFFSET,
                                          encoding='raw', compress=None)
    script = ('import igneous.task_creation as tc\n'
              'from taskqueue import LocalTaskQueue\n'
              'tq = LocalTaskQueue(parallel=1)\n'
              'tq.insert(tc.create_downsampling_tasks("file://%s", mip=0, num_mips=2,'
              ' factor=(2, 2, 1), chunk_size=(16, 16, 8)))\n'
              'tq.execute(progress=False)\n' % path)
    subprocess.run([IGNEOUS_PYTHON, '-c', script], check=True, capture_output=True,
                   timeout=300)
    levels, factors = [], []
    for mip in range(3):
        cv = CloudVolume('file://' + path, mip=mip, fill_missing=True, progress=False)
        levels.append(np.asarray(cv[cv.bounds])[..., 0].T)
        factors.append(tuple(int(round(r / r0)) for r, r0 in
                             zip(reversed(cv.resolution), reversed(RES))))
    return Written(path, levels, factors, RES, _pc_origin())


def _tensorstore(encoding, sharded):
    def write(folder, a):
        levels = stores.pyramid(a, FACTORS_ZYX)
        path = stores.precomputed_tensorstore(folder, levels, FACTORS, resolution=RES,
                                              offset=OFFSET, encoding=encoding,
                                              sharded=sharded)
        return Written(path, levels, [(1, 1, 1)] + FACTORS_ZYX, RES, _pc_origin())
    return write


def _ome_zarr(ids=None):
    def write(folder, a):
        levels = stores.pyramid(a if ids is None else ids(a), FACTORS_ZYX)
        path = stores.ome_zarr(str(folder) + '.zarr', levels, FACTORS, voxel_size=RES,
                               translation=(16, 24, 80), label=True)
        return Written(path, levels, [(1, 1, 1)] + FACTORS_ZYX, RES, (16, 24, 80), ids)
    return write


def _ome_zarr_v3(folder, a):
    levels = stores.pyramid(a, FACTORS_ZYX)
    path = stores.ome_zarr_v3(str(folder) + '.zarr', levels, FACTORS, voxel_size=RES)
    return Written(path, levels, [(1, 1, 1)] + FACTORS_ZYX, RES, (0, 0, 0))


def _funlib(attrs, voxel_size, origin):
    def write(folder, a):
        import zarr
        path = str(folder) + '.zarr'
        z = zarr.open_array(path, mode='w', shape=a.shape, chunks=(8, 16, 16),
                            dtype=a.dtype)
        z[...] = a
        z.attrs.update(attrs)
        return Written(path, [a], [(1, 1, 1)], voxel_size, origin)
    return write


def _n5_viewer(folder, a):
    levels = stores.pyramid(a, FACTORS_ZYX)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        path = stores.n5(str(folder) + '.n5', levels, FACTORS, resolution=RES)
    return Written(path, levels, [(1, 1, 1)] + FACTORS_ZYX, RES, (0, 0, 0))


def _z5(f, levels, compression):
    for k, level in enumerate(levels):
        d = f.create_dataset('s%d' % k, data=level, chunks=(8, 16, 16),
                             compression=compression)
        if k:
            d.attrs['downsamplingFactors'] = list(FACTORS[k - 1])


def _z5py(compression, ids=None):
    def write(folder, a):
        import z5py
        levels = stores.pyramid(a if ids is None else ids(a), FACTORS_ZYX)
        path = str(folder) + '.n5'
        _z5(z5py.File(path, 'w'), levels, compression)
        return Written(path, levels, [(1, 1, 1)] + FACTORS_ZYX, (1, 1, 1), (0, 0, 0), ids)
    return write


def _paintera(folder, a):
    import z5py
    levels = stores.pyramid(a, FACTORS_ZYX)
    path = str(folder) + '.n5'
    group = z5py.File(path, 'w').create_group('volumes/labels')
    group.attrs['painteraData'] = {'type': 'label'}
    data = group.create_group('data')
    _z5(data, levels, 'blosc')
    data.attrs['resolution'] = [4.0, 4.0, 40.0]
    data.attrs['offset'] = [400.0, 800.0, 1200.0]
    data.attrs['multiScale'] = True
    return Written(os.path.join(path, 'volumes', 'labels'), levels,
                   [(1, 1, 1)] + FACTORS_ZYX, (4, 4, 40), (400, 800, 1200))


def _bigdataviewer(folder, a):
    import z5py
    levels = stores.pyramid(a.astype(np.uint16), FACTORS_ZYX[:1])
    path = str(folder) + '.n5'
    setup = z5py.File(path, 'w').create_group('setup0')
    setup.attrs['downsamplingFactors'] = [[1, 1, 1], list(FACTORS[0])]
    setup.attrs['dataType'] = 'uint16'
    tp = setup.create_group('timepoint0')
    for k, level in enumerate(levels):
        tp.create_dataset('s%d' % k, data=level, chunks=(8, 16, 16), compression='gzip')
    attrs = os.path.join(path, 'setup0', 'timepoint0', 'attributes.json')
    if os.path.exists(attrs):
        os.remove(attrs)
    return Written(path, levels, [(1, 1, 1), FACTORS_ZYX[0]], (1, 1, 1), (0, 0, 0))


def _cosem(folder, a):
    import z5py
    path = str(folder) + '.n5'
    f = z5py.File(path, 'w')
    _z5(f, [a], 'gzip')
    f['s0'].attrs['transform'] = {'axes': ['z', 'y', 'x'], 'scale': [40.0, 8.0, 8.0],
                                  'translate': [80.0, 16.0, 24.0], 'units': ['nm'] * 3,
                                  'ordering': 'C'}
    return Written(path, [a], [(1, 1, 1)], (8, 8, 40), (24, 16, 80))


def _ome_zarr_py(labels):
    """ome-zarr-py's own writer (write_multiscale, or write_multiscale_labels into an
    image's labels/NAME group), OME-Zarr 0.4 with scale and translation."""
    def write(folder, a):
        import zarr
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            from ome_zarr import writer
        levels = stores.pyramid(a, FACTORS_ZYX)
        path = str(folder) + '.zarr'
        group = zarr.open_group(path, mode='w')
        axes = [{'name': n, 'type': 'space', 'unit': 'nanometer'} for n in 'zyx']
        transforms = [[{'type': 'scale', 'scale': [r * f for r, f in
                                                   zip(reversed(RES), factors)]},
                       {'type': 'translation', 'translation': [80.0, 24.0, 16.0]}]
                      for factors in [(1, 1, 1)] + FACTORS_ZYX]
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            if labels:
                writer.write_multiscale_labels(levels, group, 'cells', chunks=(8, 16, 16),
                                               axes=axes,
                                               coordinate_transformations=transforms)
                path = os.path.join(path, 'labels', 'cells')
            else:
                writer.write_multiscale(levels, group, chunks=(8, 16, 16), axes=axes,
                                        coordinate_transformations=transforms)
        return Written(path, levels, [(1, 1, 1)] + FACTORS_ZYX, RES, (16, 24, 80))
    return write


def _funlib_persistence(folder, a):
    """funlib.persistence's own prepare_ds (voxel_size, offset, axis_names, units)."""
    path = str(folder) + '.zarr'
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')         # its pydantic 1 style config
        from funlib.geometry import Coordinate
        from funlib.persistence import prepare_ds
        ds = prepare_ds(path, a.shape, offset=Coordinate(80, 16, 32),
                        voxel_size=Coordinate(40, 8, 8), axis_names=['z', 'y', 'x'],
                        units=['nm', 'nm', 'nm'], chunk_shape=(8, 16, 16), dtype=a.dtype,
                        mode='w')
        ds[ds.roi] = a
    return Written(path, [a], [(1, 1, 1)], (8, 8, 40), (32, 16, 80))


FUNLIB = {'voxel_size': [40, 8, 8], 'offset': [80, 16, 32], 'axis_names': ['z', 'y', 'x'],
          'units': ['nm', 'nm', 'nm']}
# name: (writer, how it is written)
CASES = {
    'precomputed raw': ('tensorstore', _tensorstore('raw', False)),
    'precomputed raw, gzip chunk files': ('CloudVolume', _cloudvolume('raw', None)),
    'precomputed raw, brotli chunk files': ('CloudVolume', _cloudvolume('raw', 'br')),
    'precomputed raw, uncompressed': ('CloudVolume', _cloudvolume('raw', False)),
    'precomputed compressed_segmentation, gzip': (
        'CloudVolume', _cloudvolume('compressed_segmentation', None)),
    'precomputed compresso': ('CloudVolume', _cloudvolume('compresso', False)),
    'precomputed crackle': ('CloudVolume', _cloudvolume('crackle', False)),
    'precomputed, Igneous downsampling (gzip)': ('CloudVolume + Igneous', _igneous),
    'precomputed compressed_segmentation, sharded': (
        'tensorstore', _tensorstore('compressed_segmentation', True)),
    'precomputed uint64 ids above 2^32, gzip': (
        'CloudVolume', _cloudvolume('compressed_segmentation', None, above_2_32)),
    'OME-Zarr 0.4 (Zarr v2) image-label': ('zarr-python', _ome_zarr()),
    'OME-Zarr 0.5 (Zarr v3)': ('tensorstore zarr3', _ome_zarr_v3),
    'OME-Zarr 0.4, uint64 ids above 2^32': ('zarr-python', _ome_zarr(above_2_32)),
    'OME-Zarr 0.4 image': ('ome-zarr-py', _ome_zarr_py(False)),
    'OME-Zarr 0.4 labels (labels/NAME)': ('ome-zarr-py', _ome_zarr_py(True)),
    'Zarr array, funlib.persistence prepare_ds': ('funlib.persistence',
                                                  _funlib_persistence),
    'Zarr array, funlib/daisy voxel_size, offset, units': (
        'zarr-python', _funlib(FUNLIB, (8, 8, 40), (32, 16, 80))),
    'Zarr array, older funlib resolution, offset': (
        'zarr-python', _funlib({'resolution': [40, 8, 8], 'offset': [80, 16, 32]},
                               (8, 8, 40), (32, 16, 80))),
    'N5 Viewer pixelResolution': ("zarr 2's N5Store", _n5_viewer),
    'N5 blosc (nthreads)': ('z5py', _z5py('blosc')),
    'N5 gzip, uint64 ids above 2^32': ('z5py', _z5py('gzip', above_2_32)),
    'Paintera N5 (resolution, offset)': ('z5py', _paintera),
    'BigDataViewer N5, required attributes only': ('z5py', _bigdataviewer),
    'COSEM N5 transform': ('z5py', _cosem),
}


def _levels(path):
    with h5py.File(path, 'r') as f:
        g = f['/Chimera/image1']
        out = {tuple(int(s) for s in d.attrs.get('subsample_spacing', (1, 1, 1))): d[...]
               for d in g.values()}
        ids = np.asarray(f['idmap']['id']) if 'idmap' in f else None
    return out, ids


def _padded(a, shape):
    return stores.padded(a, shape)


def _check(row, field, test, why):
    setattr(row, field, 'yes' if test else 'NO: ' + why)
    return test


def run_case(name, folder, a, reference):
    """The Row of case ``name`` written into ``folder`` from labels ``a``; ``reference``
    ({step: z,y,x array}) the .cmap levels of ``a`` from a plain store, or None (then
    this case's .cmap is compared with nothing and returned as the reference)."""
    writer, write = CASES[name]
    row = Row(name, writer)
    try:
        w = write(folder, a)
    except ImportError as e:                    # a writer not in this environment
        row.opened = 'not installed (%s)' % e.name
        return row, None
    except Exception as e:                      # a writer that fails is a finding
        row.opened = 'NO: the writer failed: %s' % str(e).splitlines()[0][:80]
        return row, None
    try:
        s = open_store(w.path)
    except Exception as e:
        row.opened = 'NO: %s' % str(e)[:120]
        return row, None
    with s:
        row.opened = 'yes'
        try:
            same = all(np.array_equal(s.original_ids(lv.read()), _padded(b, lv.shape))
                       for lv, b in zip(s.levels, w.levels))
            _check(row, 'voxels', same and len(s.levels) == len(w.levels),
                   'a level reads other voxels')
        except Exception as e:
            row.voxels = 'NO: %s' % str(e)[:120]
        _check(row, 'geometry', np.allclose(s.voxel_size, w.voxel_size)
               and np.allclose(s.origin, w.origin),
               'voxel size %s origin %s' % (s.voxel_size, s.origin))
        _check(row, 'levels', [lv.factors for lv in s.levels] == list(w.factors),
               'factors %s' % [lv.factors for lv in s.levels])
        out = os.path.join(str(folder) + '.cmap')
        try:
            combine.combine(s, out, voxel_size=s.voxel_size, subsamples=STEPS,
                            chunk_side=16, threads=2)
        except Exception as e:
            row.combined = 'NO: %s' % str(e)[:120]
            return row, None
    got, ids = _levels(out)
    if ids is not None:
        got = {step: ids[v] for step, v in got.items()}
    ids_of = w.ids or (lambda x: x)
    plain = w.levels[0].dtype == ids_of(a).dtype and np.array_equal(w.levels[0], ids_of(a))
    if reference is None or not plain:
        want = None
        ok = np.array_equal(got[(1, 1, 1)], ids_of(w.levels[0]))
    else:
        want = {step: ids_of(v) for step, v in reference.items()}
        ok = sorted(got) == sorted(want) and all(np.array_equal(got[k], want[k])
                                                 for k in want)
    _check(row, 'combined', ok, 'the .cmap holds other voxels')
    return row, (got if reference is None else None)


def probe(folder):
    """Every case's Row, in CASES order."""
    a = labels()
    rows, reference = [], None
    for k, name in enumerate(CASES):
        row, made = run_case(name, os.path.join(str(folder), 'case%02d' % k), a, reference)
        reference = reference or made
        rows.append(row)
    return rows


def table(rows):
    """The probe's rows as a Markdown table."""
    head = ('| store | written by | opens | every level exact | voxel size, origin | levels'
            ' | combine exact |')
    lines = [head, '|' + '---|' * 7]
    for r in rows:
        lines.append('| %s | %s | %s | %s | %s | %s | %s |' % (
            r.case, r.writer, r.opened, r.voxels, r.geometry, r.levels, r.combined))
    lines.append('%d of %d cases open with exact voxels, geometry and levels and combine'
                 ' exactly' % (sum(r.ok for r in rows), len(rows)))
    return '\n'.join(lines)


def main(folder):
    rows = probe(folder)
    print(table(rows))
    return rows

