"""``connectome ids`` at the real scale: 15,030,572 regions, about a million objects
whose region lists total 15 million ids.  Goal: read, build and write all arrays for one
class in under 5 s.

The object file is written once into bench-data/ in the fastest layouts a lab would
produce (HDF5 ragged ids + lengths, HDF5 per-region lookup) and, for comparison, CSV
region_id,object_id rows.  The segmentation is a small Chimera map whose
``maximum_segment_id`` says 15,030,572: building and writing an attribute array depends on
the number of regions, not on the voxels.  Each phase is timed separately: reading the
object file, building the int32 array (sorting, conflict check), writing it atomically
under /attributes (formats/hdf5edit.py: new bytes appended and fsynced, one page patched).

    python -m bench ids [--quick]
"""

import os
import shutil
import tempfile
import time

import h5py
import numpy as np

from . import DATA

REGIONS = 15_030_572
OBJECTS = 1_000_000
MEMBERSHIPS = 15_000_000
TARGET_S = 5.0


def object_files(folder, regions, objects, memberships):
    """(paths by layout, truth array): memberships drawn from 1..regions, each region in
    at most one object, object sizes skewed like axons (a few huge, most small)."""
    os.makedirs(folder, exist_ok=True)
    paths = {'hdf5 ragged': os.path.join(folder, 'ragged.hdf5'),
             'hdf5 lookup': os.path.join(folder, 'lookup.hdf5'),
             'csv pairs': os.path.join(folder, 'pairs.csv')}
    truth_path = os.path.join(folder, 'truth.npy')
    tag = os.path.join(folder, 'version-%d-%d-%d' % (regions, objects, memberships))
    if all(os.path.exists(p) for p in paths.values()) and os.path.exists(tag):
        return paths, np.load(truth_path)
    rng = np.random.default_rng(0)
    members = rng.permutation(np.arange(1, regions + 1))[:memberships]
    sizes = rng.pareto(1.2, objects) + 1
    lengths = np.floor(sizes / sizes.sum() * memberships).astype(np.int64)
    np.add.at(lengths, rng.integers(0, objects, memberships - lengths.sum()), 1)
    owner = np.repeat(np.arange(1, objects + 1), lengths)
    truth = np.zeros(regions + 1, np.int32)
    truth[members] = owner
    with h5py.File(paths['hdf5 ragged'], 'w') as f:
        f['region_ids'] = members.astype(np.uint32)
        f['lengths'] = lengths
    with h5py.File(paths['hdf5 lookup'], 'w') as f:
        f['object_id'] = truth
    with open(paths['csv pairs'], 'w') as f:
        f.write('region_id,object_id\n')
        block = 1_000_000
        for i in range(0, members.size, block):
            rows = np.stack([members[i:i + block], owner[i:i + block]], axis=1)
            f.write('\n'.join('%d,%d' % (a, b) for a, b in rows.tolist()))
            f.write('\n')
    np.save(truth_path, truth)
    open(tag, 'w').close()
    return paths, truth


def segmentation(path, maximum):
    from chimerax.connectome.formats.cmap import ChimeraMapWriter
    w = ChimeraMapWriter(path, (16, 16, 16), np.uint32)
    try:
        lv = w.levels[0]
        block = np.full(lv.chunk_shape, maximum, np.uint32)
        w.write_chunk(0, (0, 0, 0), lv.codec.encode(block))
        w.set_maximum_segment_id(maximum)
    finally:
        w.close()


def main(flags):
    from chimerax.connectome.pipeline import attributes
    from chimerax.connectome.formats.objectfiles import read_object_file
    quick = '--quick' in flags
    scale = 20 if quick else 1
    regions, objects, memberships = REGIONS // scale, OBJECTS // scale, MEMBERSHIPS // scale
    folder = os.path.join(DATA, 'ids-%d' % regions)
    t = time.monotonic()
    paths, truth = object_files(folder, regions, objects, memberships)
    print('object files: %d regions, %d objects, %d region ids (%s; ready in %.1f s)'
          % (regions, objects, memberships, folder, time.monotonic() - t))
    work = tempfile.mkdtemp(prefix='bench-ids-', dir=DATA)
    try:
        seg = os.path.join(work, 'seg.cmap')
        segmentation(seg, regions)
        for layout, path in paths.items():
            t0 = time.monotonic()
            table = read_object_file(path)
            t1 = time.monotonic()
            values, stats = attributes.build_attribute('axon', table.regions, table.objects,
                                                       table.count, regions)
            t2 = time.monotonic()
            attributes.write_attributes(seg, {'axon': values})
            t3 = time.monotonic()
            assert np.array_equal(values, truth), layout
            with h5py.File(seg, 'r') as f:
                assert np.array_equal(f['attributes/axon'][()], truth)
            total = t3 - t0
            print('%-12s read %5.2f s  build %5.2f s  write %5.2f s  total %5.2f s'
                  '  (%s; target %.0f s: %.2fx of it)'
                  % (layout, t1 - t0, t2 - t1, t3 - t2, total,
                     'met' if total <= TARGET_S else 'MISSED', TARGET_S, total / TARGET_S))
        print('file grew to %.1f MB after %d writes of a %.1f MB array (old arrays are not'
              ' reclaimed)' % (os.path.getsize(seg) / 1e6, len(paths), values.nbytes / 1e6))
    finally:
        shutil.rmtree(work, ignore_errors=True)
