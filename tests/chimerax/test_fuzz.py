"""A bounded, seeded fuzzer (about a minute): random byte damage and truncation of tiles
and of object files of every supported layout, lies in every HDF5 header field the fast
object-file reader decodes, and random option values within and outside their ranges,
each run through the real commands.  The rule: success with a correct result (for a
lying header: the data h5py reads), or a UserError naming the file; never another
exception (a traceback), a hang (the per-test timeout), a crash (it would end the test
process) or a changed input."""

import hashlib
import os
import shutil

import h5py
import hdf5plugin  # noqa: F401  (Blosc chunks of the outputs)
import numpy as np
import scipy.io

import h5lies
import segfixtures as sf
import tilesets

SHAPE = (16, 24, 32)
TILE = (8, 12, 16)
TRIALS = {'tiles': 400, 'objects': 300, 'options': 400}


def digest(path):
    h = hashlib.sha256()
    for root, _, files in sorted(os.walk(path)) if os.path.isdir(path) else [('', [], [path])]:
        for f in sorted(files):
            with open(os.path.join(root, f), 'rb') as fh:
                h.update(fh.read())
    return h.hexdigest()


def damage(path, rng):
    """Flip bytes, zero a span or truncate: one of them, at random places."""
    data = bytearray(open(path, 'rb').read())
    how = rng.integers(3)
    if how == 0:
        for at in rng.integers(0, len(data), rng.integers(1, 12)):
            data[at] ^= int(rng.integers(1, 256))
    elif how == 1:
        at = int(rng.integers(0, len(data)))
        data[at:at + int(rng.integers(1, 64))] = bytes(min(64, len(data) - at))
    else:
        data = data[:int(rng.integers(0, len(data)))]
    with open(path, 'wb') as f:
        f.write(bytes(data))


def outcome(run, command):
    """'ok' or 'refused'; any other exception fails the test with the command."""
    from chimerax.core.errors import UserError
    try:
        run(command, log=False)
        return 'ok'
    except UserError:
        return 'refused'
    except Exception as e:
        raise AssertionError('%s: %s: %s' % (command, type(e).__name__, e)) from e


def stored(path):
    with h5py.File(path, 'r') as f:
        return f['Chimera/image1/data_zyx'][()]


def test_damaged_tiles(session, run, tmp_path):
    volume = tilesets.labels(SHAPE, seed=8, cell=3)
    pristine = tmp_path / 'pristine'
    tilesets.write_tiles(pristine, volume, TILE, chunks=(4, 6, 8))
    rng = np.random.default_rng(1)
    seen = set()
    for trial in range(TRIALS['tiles']):
        tiles = tmp_path / ('t%d' % trial)
        shutil.copytree(pristine, tiles)
        victim = tiles / sorted(os.listdir(tiles))[int(rng.integers(len(os.listdir(tiles))))]
        damage(victim, rng)
        before = digest(tiles)
        out = tmp_path / ('o%d.cmap' % trial)
        result = outcome(run, 'connectome combine %s output %s missing zero open false'
                         % (tiles, out))
        seen.add(result)
        assert digest(tiles) == before, 'the tiles changed'
        if result == 'ok':
            # Deflate chunks carry a checksum: a damage that gets through is one that did
            # not touch anything read, and the result must be exact.
            assert np.array_equal(stored(out), volume), victim.name
            out.unlink()
        assert sorted(os.listdir(tmp_path)) == ['pristine', 't%d' % trial]   # nothing left
        shutil.rmtree(tiles)
    assert seen == {'ok', 'refused'}


def object_files(folder):
    """The same 30 objects in every layout connectome ids reads; {layout: path}."""
    from chimerax.connectome.formats import matfile
    rng = np.random.default_rng(2)
    regions = rng.permutation([sf.region_id(b) for b in range(len(sf.boxes()))])
    objects = [sorted(int(r) for r in o) for o in np.array_split(regions[:90], 30)]
    flat = np.concatenate(objects).astype(np.uint32)
    lengths = np.array([len(o) for o in objects], np.int64)
    paths = {}

    def path(name):
        paths[name.split('.')[0]] = str(folder / name)
        return paths[name.split('.')[0]]
    with h5py.File(path('ragged.h5'), 'w') as f:
        f['region_ids'] = flat
        f['lengths'] = lengths
    with h5py.File(path('group.h5'), 'w') as f:
        g = f.create_group('axons')
        for k, o in enumerate(objects, 1):
            g[str(k)] = np.array(o, np.uint32)
    lookup = np.zeros(max(regions) + 1, np.int32)
    for k, o in enumerate(objects, 1):
        lookup[o] = k
    with h5py.File(path('lookup.h5'), 'w') as f:
        f['object_id'] = lookup
    matfile.write_mat(path('cells73.mat'), {'axons': matfile.Cell(
        [np.array(o, float) for o in objects])})
    cell = np.empty((1, len(objects)), object)
    for k, o in enumerate(objects):
        cell[0, k] = np.array(o, float).reshape(-1, 1)
    scipy.io.savemat(path('cells5.mat'), {'axons': cell})
    with open(path('pairs.csv'), 'w') as f:
        f.write('region_id,object_id\n')
        f.writelines('%d,%d\n' % (r, k) for k, o in enumerate(objects, 1) for r in o)
    with open(path('lines.txt'), 'w') as f:
        f.write('region_ids\n')        # declares one object per line (two regions each)
        f.writelines(' '.join(map(str, o)) + '\n' for o in objects)
    np.save(path('pairs.npy'), np.array([(r, k) for k, o in enumerate(objects, 1) for r in o]))
    np.savez(path('ragged.npz'), region_ids=flat, lengths=lengths)
    return paths, lookup


def test_damaged_object_files(session, run, tmp_path):
    em, seg = sf.write_pair(tmp_path, attributes=())
    paths, lookup = object_files(tmp_path)
    for layout, p in paths.items():       # undamaged, every layout gives the same array
        run('connectome ids %s axon %s replace true' % (seg, p), log=False)
        with h5py.File(seg, 'r') as f:
            assert np.array_equal(f['attributes/axon'][()][:len(lookup)], lookup), layout
    rng = np.random.default_rng(3)
    seen = set()
    layouts = sorted(paths)
    for trial in range(TRIALS['objects']):
        layout = layouts[trial % len(layouts)]
        victim = tmp_path / ('damaged-' + os.path.basename(paths[layout]))
        shutil.copy(paths[layout], victim)
        damage(victim, rng)
        before, seg_before = digest(victim), digest(seg)
        result = outcome(run, 'connectome ids %s axon %s replace true' % (seg, victim))
        seen.add(result)
        assert digest(victim) == before, 'the object file changed'
        if result == 'refused':
            assert digest(seg) == seg_before, 'a refused run changed the segmentation'
        else:
            with h5py.File(seg, 'r') as f:
                axon = f['attributes/axon'][()]
                assert np.array_equal(f['Chimera/image1/data_zyx'][()], sf.volumes()[1])
            assert axon.dtype == np.int32 and axon.min() >= 0
        victim.unlink()
    assert seen == {'ok', 'refused'}


def lying_files(folder, objects):
    """The objects in the layouts whose members are HDF5 datasets: {layout: (path, the
    dataset of object 3, how messages name it)}."""
    from chimerax.connectome.formats import matfile
    out = {}
    path = str(folder / 'axons.hdf5')             # the authors' layout
    with h5py.File(path, 'w') as f:
        f.attrs['info'] = 'written by hand'
        for k, o in enumerate(objects, 1):
            f['/axons/agglomerate/%d' % k] = np.array(o, np.uint32)
    out['authors'] = (path, '/axons/agglomerate/3', '/axons/agglomerate/3')
    path = str(folder / 'group.h5')
    with h5py.File(path, 'w') as f:
        for k, o in enumerate(objects, 1):
            f['/axons/%d' % k] = np.array(o, np.uint32)
    out['group'] = (path, '/axons/3', '/axons/3')
    path = str(folder / 'cells73.mat')
    matfile.write_mat(path, {'axons': matfile.Cell([np.array(o, float) for o in objects])})
    with h5py.File(path, 'r') as f:
        out['cell array'] = (path, f[f['axons'][()].reshape(-1)[2]].name, 'axons{3}')
    return out


def test_lying_headers(session, run, tmp_path):
    from chimerax.core.errors import UserError
    em, seg = sf.write_pair(tmp_path, attributes=())
    regions = [sf.region_id(b) for b, _ in sf.boxes()]
    objects = [regions[3 * k:3 * k + 3] for k in range(5)]
    pristine = tmp_path / 'pristine'
    pristine.mkdir()
    files = lying_files(pristine, objects)
    with h5py.File(seg, 'r') as f:
        size = int(f['Chimera/image1'].attrs['maximum_segment_id']) + 1
    seen = set()
    for layout, (source, dataset, label) in files.items():
        for field, value in h5lies.LIES:
            victim = tmp_path / os.path.basename(source)
            shutil.copy(source, victim)
            h5lies.lie(str(victim), dataset, field, value)
            read = h5lies.h5py_reads(str(victim), dataset)
            before, seg_before = digest(victim), digest(seg)
            command = 'connectome ids %s axon %s replace true' % (seg, victim)
            what = '%s %s %s: h5py reads %r' % (layout, field, value, read)
            try:
                run(command, log=False)
            except UserError as e:
                seen.add('refused')
                assert victim.name in str(e), '%s: %s' % (what, e)
                if isinstance(read, Exception):
                    assert label in str(e), '%s: %s' % (what, e)
                assert digest(seg) == seg_before, what
            except Exception as e:
                raise AssertionError('%s: %s: %s' % (what, type(e).__name__, e)) from e
            else:
                seen.add('ok')
                assert not isinstance(read, Exception), what
                expected = np.zeros(size, np.int32)
                for k, o in enumerate(objects, 1):
                    expected[np.asarray(read, np.int64) if k == 3 else o] = k
                with h5py.File(seg, 'r') as f:
                    assert np.array_equal(f['attributes/axon'][()], expected), what
            assert digest(victim) == before, 'the object file changed'
            victim.unlink()
    assert seen == {'ok', 'refused'}


def random_value(rng, kind):
    pick = lambda values: values[int(rng.integers(len(values)))]  # noqa: E731
    numbers = ['-1', '0', '1e-9', '0.5', '1', '2', '11.24', '1e30', 'nan', 'inf', '-inf', 'x']
    if kind == 'float3':
        return ','.join(pick(numbers) for _ in range(int(rng.choice([1, 3, 3, 2]))))
    if kind == 'int3':
        return ','.join(pick(['-1', '0', '1', '2', '3', '4', '8', '100', 'a'])
                        for _ in range(int(rng.choice([1, 3, 3]))))
    if kind == 'region':
        return pick(['all', '0,0,0,31,23,15', '5,5,2,20,20,10', '0,0,0,40,30,20', '3,3,3,2,2,2',
                     '-1,0,0,5,5,5', '1,2,3'])
    if kind == 'level':
        return pick(['-1', '0', '5', '9', '10', 'one'])
    if kind == 'memory':
        return pick(['0', '0.0001', '0.001', '0.05', '1', '1000', 'nan'])
    if kind == 'threads':
        return pick(['0', '1', '2', '64', '-3'])
    if kind == 'method':
        return pick(['blosc:lz4hc', 'zlib', 'blosc:zstd', 'lzo', 'blosc'])
    if kind == 'bool':
        return pick(['true', 'false', 'maybe'])
    return pick(['auto', 'mode', 'mean', 'stride', 'median'])


OPTIONS = [('voxelSize', 'float3'), ('origin', 'float3'), ('subsamples', 'int3'),
           ('region', 'region'), ('compressLevel', 'level'), ('memoryLimit', 'memory'),
           ('threads', 'threads'), ('compressMethod', 'method'), ('compressShuffle', 'bool'),
           ('downsample', 'method3')]


def test_random_options(session, run, tmp_path):
    volume = tilesets.labels(SHAPE, seed=9, cell=3)
    tilesets.write_tiles(tmp_path / 't', volume, TILE, chunks=(4, 6, 8))
    before = digest(tmp_path / 't')
    rng = np.random.default_rng(4)
    seen = set()
    for trial in range(TRIALS['options']):
        chosen = [OPTIONS[i] for i in rng.choice(len(OPTIONS), int(rng.integers(1, 4)),
                                                 replace=False)]
        options = ' '.join('%s %s' % (name, random_value(rng, kind)) for name, kind in chosen)
        out = tmp_path / 'o.cmap'
        command = 'connectome combine %s output %s %s replace true open false' % (
            tmp_path / 't', out, options)
        result = outcome(run, command)
        seen.add(result)
        if result == 'ok':
            full = stored(out)
            words = options.split()
            if 'region' not in words or words[words.index('region') + 1] == 'all':
                assert np.array_equal(full, volume), command
            else:
                i0, j0, k0, i1, j1, k1 = map(int, words[words.index('region') + 1].split(','))
                assert np.array_equal(full, volume[k0:k1 + 1, j0:j1 + 1, i0:i1 + 1]), command
    assert digest(tmp_path / 't') == before
    assert seen == {'ok', 'refused'}
    assert sorted(os.listdir(tmp_path)) in (['o.cmap', 't'], ['t'])
