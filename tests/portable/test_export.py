"""export: tiles to a neuroglancer precomputed volume or an OME-Zarr image, read back by
the field's own readers (CloudVolume, zarr-python; neuroglancer's Python package has no
volume reader) voxel for voxel against the .cmap combine makes of the same tiles, every
level, with the resolution and offset written; sharded scales; label safety of the
levels; bad input and interrupted runs leave nothing under the output name, and only a
store this bundle wrote is replaced."""

import json
import os

import h5py
import hdf5plugin  # noqa: F401  reads the Blosc chunks back
import numpy as np
import pytest
import zarr
from cloudvolume import CloudVolume

from chimerax.connectome.errors import InputError
from chimerax.connectome.formats import stores, tiles
from chimerax.connectome.formats.stores import write_tensorstore
from chimerax.connectome.pipeline import combine, export, storeids

import tilesets

SHAPE = (30, 44, 52)        # z,y,x
TILE = (16, 16, 24)
VOXEL = (4, 4, 8)           # x,y,z nm
STEPS = [(2, 2, 1), (4, 4, 2)]


def cmap_levels(path):
    """{step x,y,z: z,y,x array} of a .cmap."""
    with h5py.File(path, 'r') as f:
        g = f['/Chimera/image1']
        out = {}
        for d in g.values():
            step = tuple(int(s) for s in d.attrs.get('subsample_spacing', (1, 1, 1)))
            out[step] = d[...]
        return out, tuple(float(v) for v in g.attrs['origin'])


@pytest.fixture(scope='module')
def made(tmp_path_factory):
    """Tiles of a segmentation and of an image, each combined to a .cmap."""
    root = tmp_path_factory.mktemp('export')
    out = {}
    for kind, volume in (('labels', tilesets.labels(SHAPE, seed=5, cell=3)),
                         ('image', tilesets.image(SHAPE, seed=5))):
        tilesets.write_tiles(root / kind, volume, TILE, chunks=(8, 8, 8))
        with tiles.open_tiles(str(root / kind)) as t:
            combine.combine(t, str(root / (kind + '.cmap')), voxel_size=VOXEL,
                            subsamples=STEPS, chunk_side=16)
        out[kind] = (root / kind, cmap_levels(root / (kind + '.cmap')))
    return out


def run_export(folder, output, fmt, **kw):
    kw.setdefault('voxel_size', VOXEL)
    kw.setdefault('subsamples', STEPS)
    kw.setdefault('chunk_side', 16)
    with tiles.open_tiles(str(folder)) as t:
        return export.export(t, str(output), fmt, **kw)


@pytest.mark.parametrize('kind', ['labels', 'image'])
@pytest.mark.parametrize('sharded', ['false', 'true'])
def test_precomputed_reads_back_in_cloudvolume_as_the_cmap(made, tmp_path, kind, sharded):
    folder, (levels, origin) = made[kind]
    result = run_export(folder, tmp_path / 'p', 'precomputed', sharded=sharded,
                        memory_limit=0.05)
    info = json.loads((tmp_path / 'p' / 'info').read_text())
    assert info['type'] == ('segmentation' if kind == 'labels' else 'image')
    scales = info['scales']
    assert len(scales) == 3 == len(levels)
    assert all(('sharding' in s) == (sharded == 'true') for s in scales)
    assert {s['encoding'] for s in scales} == {'compressed_segmentation' if kind == 'labels'
                                               else 'raw'}
    for mip, step in enumerate([(1, 1, 1)] + STEPS):
        cv = CloudVolume('file://%s' % (tmp_path / 'p'), mip=mip, fill_missing=True)
        assert tuple(cv.resolution) == tuple(v * s for v, s in zip(VOXEL, step))
        assert tuple(cv.voxel_offset) == (0, 0, 0)
        a = np.asarray(cv[:, :, :])[..., 0].T
        assert a.dtype == levels[step].dtype
        assert np.array_equal(a, levels[step]), step
    assert result.sharded_levels == (3 if sharded == 'true' else 0)


def test_sharded_levels_with_many_shards(made, tmp_path, monkeypatch):
    """Small shards (a small memory budget): several shard files per level, every chunk
    where it belongs, each shard written once (the traversal completes a shard before
    the next: shards are the chunks under one chunk of a level above)."""
    folder, (levels, _) = made['labels']
    commits = []
    commit = write_tensorstore.ChunkSink._commit
    monkeypatch.setattr(write_tensorstore.ChunkSink, '_commit',
                        lambda sink, shard: commits.append(1) or commit(sink, shard))
    # 16 to 31 chunks' worth a shard: a block of 2 x 2 x 2 chunks would interleave with
    # 3 others under a chunk of level 2; 1 x 2 x 2 (a chunk of level 1) does not.
    run_export(folder, tmp_path / 'p', 'precomputed', sharded='true', chunk_side=8,
               memory_limit=0.0012)
    info = json.loads((tmp_path / 'p' / 'info').read_text())
    assert info['scales'][0]['sharding']['shard_bits'] > 0
    assert info['scales'][0]['sharding']['preshift_bits'] + \
        info['scales'][0]['sharding']['minishard_bits'] > 0
    shards = [n for s in info['scales'] for n in os.listdir(tmp_path / 'p' / s['key'])]
    assert all(n.endswith('.shard') for n in shards)
    assert len([n for n in os.listdir(tmp_path / 'p' / info['scales'][0]['key'])]) > 1
    assert len(commits) == len(shards)
    cv = CloudVolume('file://%s' % (tmp_path / 'p'), mip=0)
    assert np.array_equal(np.asarray(cv[:, :, :])[..., 0].T, levels[(1, 1, 1)])


def test_shard_block_follows_the_compressed_morton_code():
    # Bits x0 y0 z0 x1 y1 (z has 1 bit only) x2 y2 x3.
    assert write_tensorstore.morton_bits((2, 8, 16)) == (1, 3, 4)
    assert write_tensorstore.shard_block((2, 8, 16), 3) == (2, 2, 2)
    assert write_tensorstore.shard_block((2, 8, 16), 5) == (2, 4, 4)
    assert write_tensorstore.shard_block((2, 8, 16), 7) == (2, 8, 8)
    assert write_tensorstore.shard_block((2, 8, 16), 99) == (2, 8, 16)


def test_precomputed_offset_and_origin(made, tmp_path):
    """A region's origin becomes voxel_offset (voxel indices kept); this bundle's reader
    opens the store as neuroglancer shows it, voxel corners at whole coordinates: half a
    voxel from the .cmap's origin; an origin between voxels is refused for precomputed."""
    folder, _ = made['labels']
    region = (8, 4, 2, 40, 39, 25)            # x,y,z inclusive
    run_export(folder, tmp_path / 'p', 'precomputed', region=region)
    with tiles.open_tiles(str(folder)) as t:
        combine.combine(t, str(tmp_path / 'r.cmap'), region=region, voxel_size=VOXEL,
                        subsamples=STEPS, chunk_side=16)
    levels, origin = cmap_levels(tmp_path / 'r.cmap')
    cv = CloudVolume('file://%s' % (tmp_path / 'p'))
    assert tuple(cv.voxel_offset) == (8, 4, 2)
    assert tuple(CloudVolume('file://%s' % (tmp_path / 'p'), mip=2).voxel_offset) == (2, 1, 1)
    assert np.array_equal(np.asarray(cv[8:41, 4:40, 2:26])[..., 0].T, levels[(1, 1, 1)])
    with stores.open_store(str(tmp_path / 'p')) as s:
        assert origin == (32.0, 16.0, 16.0)
        assert s.origin == tuple(o + v / 2 for o, v in zip(origin, VOXEL))
        assert np.array_equal(s.read(), levels[(1, 1, 1)])
    with pytest.raises(InputError, match='not a whole number of voxels'):
        run_export(folder, tmp_path / 'q', 'precomputed', origin=(1, 0, 0))
    assert not (tmp_path / 'q').exists()


@pytest.mark.parametrize('kind', ['labels', 'image'])
def test_ome_zarr_reads_back_in_zarr_as_the_cmap(made, tmp_path, kind):
    folder, (levels, origin) = made[kind]
    run_export(folder, tmp_path / 'z', 'zarr', origin=(1.5, 2, 3))
    group = zarr.open_group(str(tmp_path / 'z'), mode='r')
    ms = group.attrs['multiscales'][0]
    assert ms['version'] == '0.4'
    assert [a['name'] for a in ms['axes']] == ['z', 'y', 'x']
    assert {a['unit'] for a in ms['axes']} == {'nanometer'}
    for k, step in enumerate([(1, 1, 1)] + STEPS):
        scale, shift = ms['datasets'][k]['coordinateTransformations']
        assert scale['scale'] == [v * s for v, s in zip(VOXEL[::-1], step[::-1])]
        # The centre of the level's first voxel: half a block past the origin.
        assert shift['translation'] == [o + (s - 1) * v / 2 for o, v, s in
                                        zip((3, 2, 1.5), VOXEL[::-1], step[::-1])]
        a = group[ms['datasets'][k]['path']][...]
        assert np.array_equal(a, levels[step]), step
    assert ('image-label' in group.attrs) == (kind == 'labels')
    with stores.open_store(str(tmp_path / 'z')) as s:
        assert s.origin == (1.5, 2, 3) and s.voxel_size == VOXEL
        assert [lv.factors for lv in s.levels] == [(1, 1, 1), (1, 2, 2), (2, 4, 4)]


def test_levels_are_label_safe(made, tmp_path):
    """Every id of every level is an id of the full resolution (mode, never a mean)."""
    folder, (levels, _) = made['labels']
    run_export(folder, tmp_path / 'p', 'precomputed')
    ids = set(np.unique(levels[(1, 1, 1)]))
    for mip in range(3):
        a = np.asarray(CloudVolume('file://%s' % (tmp_path / 'p'), mip=mip)[:, :, :])
        assert set(np.unique(a)) <= ids


def test_segment_properties_and_meshes(made, tmp_path):
    folder, _ = made['labels']
    meshes = tmp_path / 'm'
    meshes.mkdir()
    (meshes / 'info').write_text('{"@type": "neuroglancer_legacy_mesh"}')
    (tmp_path / 'bad').mkdir()
    (tmp_path / 'bad' / 'info').write_text('{"@type": "neuroglancer_multiscale_volume"}')
    with pytest.raises(InputError, match='not a folder of precomputed meshes'):
        run_export(folder, tmp_path / 'p', 'precomputed', meshes=str(tmp_path / 'bad'))
    (meshes / '7:0').write_text('{"fragments": []}')
    # Legacy meshes have no transform to move them the half voxel the store lies from
    # the .cmap (its origin 0 is a whole number of voxels): refused, nothing written.
    with pytest.raises(InputError, match='legacy meshes, which cannot be moved the half'
                       ' voxel'):
        run_export(folder, tmp_path / 'p', 'precomputed', meshes=str(meshes))
    assert not (tmp_path / 'p').exists()
    # Placed where a precomputed store's voxels lie already (half a voxel in), they are
    # copied as they are.
    run_export(folder, tmp_path / 'p', 'precomputed', meshes=str(meshes),
               origin=tuple(v / 2 for v in VOXEL),
               segment_properties=([7, 9], [('axon', 'number', [1, 2]),
                                            ('label', 'label', ['a', 'b'])]))
    info = json.loads((tmp_path / 'p' / 'info').read_text())
    assert info['mesh'] == 'mesh' and info['segment_properties'] == 'segment_properties'
    assert (tmp_path / 'p' / 'mesh' / '7:0').read_text() == '{"fragments": []}'
    props = json.loads((tmp_path / 'p' / 'segment_properties' / 'info').read_text())
    assert props['inline']['ids'] == ['7', '9']
    assert props['inline']['properties'][0] == {'id': 'axon', 'type': 'number',
                                                'data_type': 'float32', 'values': [1.0, 2.0]}
    cv = CloudVolume('file://%s' % (tmp_path / 'p'))
    assert cv.mesh.meta.mesh_path == 'mesh'


def test_bad_output_leaves_nothing(made, tmp_path):
    folder, _ = made['labels']
    with pytest.raises(InputError, match='names a Chimera map'):
        run_export(folder, tmp_path / 'o.cmap', 'precomputed')
    (tmp_path / 'full').mkdir()
    (tmp_path / 'full' / 'x').write_text('mine')
    with pytest.raises(InputError, match='exists'):
        run_export(folder, tmp_path / 'full', 'zarr')
    # replace true must never remove the inputs with the folder it replaces.
    with pytest.raises(InputError, match='one of the inputs'):
        run_export(folder, folder, 'zarr', replace=True)
    assert len(os.listdir(folder)) == 18
    # Only a store this bundle wrote is replaced: not a user's folder, not another
    # program's store.
    with pytest.raises(InputError, match='a folder this bundle did not write'):
        run_export(folder, tmp_path / 'full', 'zarr', replace=True)
    (tmp_path / 'full' / 'info').write_text('{"@type": "neuroglancer_multiscale_volume"}')
    with pytest.raises(InputError, match='a folder this bundle did not write'):
        run_export(folder, tmp_path / 'full', 'precomputed', replace=True)
    assert sorted(os.listdir(tmp_path)) == ['full']
    assert sorted(os.listdir(tmp_path / 'full')) == ['info', 'x']


def test_interrupted_export_leaves_no_store(made, tmp_path):
    """Interrupted once chunks were written: no folder under the output name, no
    temporary folder left, and an old store it was to replace kept whole."""
    folder, _ = made['labels']
    run_export(folder, tmp_path / 'p', 'precomputed', subsamples='none')
    old = sorted(os.listdir(tmp_path / 'p'))
    old_info = (tmp_path / 'p' / 'info').read_text()
    seen = []

    def interrupt(message, final):
        partial = [n for n in os.listdir(tmp_path) if '.partial-' in n]
        if partial and os.listdir(tmp_path / partial[0]):
            seen.append(partial[0])
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_export(folder, tmp_path / 'p', 'precomputed', replace=True, report=interrupt,
                   chunk_side=8)
    assert seen
    assert sorted(os.listdir(tmp_path)) == ['p']
    assert sorted(os.listdir(tmp_path / 'p')) == old
    assert (tmp_path / 'p' / 'info').read_text() == old_info
    with pytest.raises(KeyboardInterrupt):
        run_export(folder, tmp_path / 'z', 'zarr', report=interrupt, chunk_side=8)
    assert sorted(os.listdir(tmp_path)) == ['p']


def test_store_to_store(made, tmp_path):
    """A store exported again (its voxel size and origin kept) has the same voxels."""
    folder, (levels, _) = made['labels']
    run_export(folder, tmp_path / 'z', 'zarr', origin=(8, 8, 16))
    with stores.open_store(str(tmp_path / 'z')) as s:
        export.export(s, str(tmp_path / 'p'), 'precomputed', voxel_size=s.voxel_size,
                      origin=s.origin, subsamples=STEPS, chunk_side=16)
    cv = CloudVolume('file://%s' % (tmp_path / 'p'))
    assert tuple(cv.voxel_offset) == (2, 2, 2)
    assert np.array_equal(np.asarray(cv[2:54, 2:46, 2:32])[..., 0].T, levels[(1, 1, 1)])


@pytest.mark.parametrize('options', [dict(), dict(compress_method='zlib'), dict(compress=False),
                                     dict(compress_method='blosc:zstd', compress_shuffle=True)])
def test_zarr_compressors_read_back_in_zarr(made, tmp_path, options):
    folder, (levels, _) = made['labels']
    run_export(folder, tmp_path / 'z', 'zarr', **options)
    group = zarr.open_group(str(tmp_path / 'z'), mode='r')
    for k, step in enumerate([(1, 1, 1)] + STEPS):
        assert np.array_equal(group[str(k)][...], levels[step]), step


def test_zarr_label_chunks_default_to_blosc_zstd_level_2(made, tmp_path):
    """Labels: blosc:zstd level 2 without shuffle unless told (export.ZARR_LABEL_CODEC),
    a level given alone is zstd's; images keep the .cmap's blosc:lz4 level 5, shuffled."""
    folder, (levels, _) = made['labels']
    run_export(folder, tmp_path / 'z', 'zarr')
    compressor = json.loads((tmp_path / 'z' / '0' / '.zarray').read_text())['compressor']
    assert compressor == {'id': 'blosc', 'cname': 'zstd', 'clevel': 2, 'shuffle': 0,
                          'blocksize': 0}
    with stores.open_store(str(tmp_path / 'z')) as s:      # this bundle (tensorstore)
        assert np.array_equal(s.read(), levels[(1, 1, 1)])
    assert export.zarr_defaults(np.dtype(np.uint32), level=4) == ('blosc:zstd', 4, False)
    assert export.zarr_defaults(np.dtype(np.uint8)) == ('blosc:lz4', 5, True)
    assert export.zarr_defaults(np.dtype(np.uint64), 'blosc:lz4') == ('blosc:lz4', 5, False)


def test_zarr_chunks_are_the_cmap_chunks(made, tmp_path):
    """The .cmap's codec encodes the Zarr chunks: given the .cmap's compressor, a
    subsampled level's chunk bytes are the .cmap's (its full resolution is in thin chunks
    for viewing, formats/cmap.py; Zarr's in cubes, as the field reads them)."""
    folder, _ = made['labels']
    run_export(folder, tmp_path / 'z', 'zarr', compress_method='blosc:lz4hc')
    with h5py.File(folder.parent / 'labels.cmap', 'r') as f:
        (d,) = [d for d in f['/Chimera/image1'].values()
                if tuple(d.attrs.get('subsample_spacing', ())) == STEPS[0]]
        assert d.chunks == (16, 16, 16)
        stored = d.id.read_direct_chunk((0, 16, 16))[1]
    assert (tmp_path / 'z' / '1' / '0' / '1' / '1').read_bytes() == stored


def test_a_store_written_here_is_replaced(made, tmp_path):
    folder, (levels, _) = made['labels']
    run_export(folder, tmp_path / 'p', 'zarr', subsamples='none')
    run_export(folder, tmp_path / 'p', 'precomputed', replace=True)
    assert sorted(os.listdir(tmp_path)) == ['p']
    assert not (tmp_path / 'p' / '.zattrs').exists()
    cv = CloudVolume('file://%s' % (tmp_path / 'p'), mip=1)
    assert np.array_equal(np.asarray(cv[:, :, :])[..., 0].T, levels[STEPS[0]])


@pytest.mark.parametrize('fmt, sharded', [('precomputed', 'true'), ('zarr', 'auto')])
def test_memory_does_not_grow_with_the_volume(tmp_path, fmt, sharded):
    """As combine's: what the export holds at once (numpy's buffers, which tracemalloc
    sees; tensorstore's are bounded by the writes in flight and the open shards) is a
    few chunks per level, not more for a volume 4 times larger."""
    import tracemalloc
    volume = tilesets.labels((64, 256, 256), seed=2, cell=8)
    tilesets.write_tiles(tmp_path / 't', volume, (32, 64, 64), chunks=(16, 16, 16))
    peaks = []
    for region in ((0, 0, 0, 127, 127, 63), None):       # a quarter, then the whole
        with tiles.open_tiles(str(tmp_path / 't')) as ts:
            tracemalloc.start()
            export.export(ts, str(tmp_path / 'm'), fmt, region=region, replace=True,
                          chunk_side=16, subsamples=[(2, 2, 2)], sharded=sharded,
                          memory_limit=0.02)
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()
    assert peaks[1] < 2 * peaks[0] and peaks[1] < volume.nbytes / 16, peaks


def test_float64_to_precomputed_refused_zarr_written(tmp_path):
    volume = np.random.default_rng(1).random((8, 16, 16))
    tilesets.write_tiles(tmp_path / 't', volume, (8, 16, 16))
    with pytest.raises(InputError, match='cannot hold float64 voxels'):
        run_export(tmp_path / 't', tmp_path / 'p', 'precomputed', subsamples='none')
    run_export(tmp_path / 't', tmp_path / 'z', 'zarr', subsamples='none')
    assert np.array_equal(zarr.open_group(str(tmp_path / 'z'), mode='r')['0'][...], volume)
    assert sorted(os.listdir(tmp_path)) == ['t', 'z']


def test_sharded_auto_shards_the_large_scales(made, tmp_path, monkeypatch):
    """sharded auto: a scale of more than SHARD_CHUNKS chunks is sharded, smaller ones
    keep a file per chunk."""
    folder, (levels, _) = made['labels']
    monkeypatch.setattr(export, 'SHARD_CHUNKS', 20)
    result = run_export(folder, tmp_path / 'p', 'precomputed', chunk_side=8)
    info = json.loads((tmp_path / 'p' / 'info').read_text())
    chunks = [np.prod([-(-n // c) for n, c in zip(s['size'], s['chunk_sizes'][0])])
              for s in info['scales']]
    assert [('sharding' in s) for s in info['scales']] == [n > 20 for n in chunks]
    assert result.sharded_levels == sum(n > 20 for n in chunks) >= 1
    assert not all('sharding' in s for s in info['scales'])
    for mip, step in enumerate([(1, 1, 1)] + STEPS):
        cv = CloudVolume('file://%s' % (tmp_path / 'p'), mip=mip, fill_missing=True)
        assert np.array_equal(np.asarray(cv[:, :, :])[..., 0].T, levels[step])


def test_objects_on_local_workers_as_here(made, tmp_path):
    """objects CLASS: the voxels are the class's object ids, the same on a cluster's
    workers (they reopen the tiles and the attribute file) as here; a region the
    attribute array does not reach is an error."""
    from chimerax.connectome.pipeline.attributefile import AttributeFile
    folder, (levels, _) = made['labels']
    regions = levels[(1, 1, 1)]
    seg = tmp_path / 'seg.cmap'
    with tiles.open_tiles(str(folder)) as t:
        combine.combine(t, str(seg), subsamples='none', chunk_side=16)
    neuron = (np.arange(int(regions.max()) + 1) % 7).astype(np.int32)
    AttributeFile(seg).write({'neuron': neuron}, metadata={'neuron': {'kind': 'id'}})
    with tiles.open_tiles(str(folder)) as t:
        export.export(storeids.object_volume(t, str(seg), 'neuron'), str(tmp_path / 'here'),
                      'zarr', subsamples=STEPS, chunk_side=16)
    with tiles.open_tiles(str(folder)) as t:
        export.export(storeids.object_volume(t, str(seg), 'neuron'), str(tmp_path / 'there'),
                      'zarr', subsamples=STEPS, chunk_side=16, scheduler='local 1')
    here = zarr.open_group(str(tmp_path / 'here'), mode='r')
    there = zarr.open_group(str(tmp_path / 'there'), mode='r')
    assert np.array_equal(here['0'][...], neuron[regions])
    for k in range(3):
        assert np.array_equal(here[str(k)][...], there[str(k)][...])
    AttributeFile(seg).write({'neuron': neuron[:10]}, metadata={'neuron': {'kind': 'id'}})
    with tiles.open_tiles(str(folder)) as t:
        with pytest.raises(InputError, match='has no entry in neuron'):
            export.export(storeids.object_volume(t, str(seg), 'neuron'), str(tmp_path / 'no'),
                          'zarr', subsamples='none', chunk_side=16)
    assert not (tmp_path / 'no').exists()


def test_a_killed_exports_leftover_is_cleared(made, tmp_path):
    """A run killed outright (SIGKILL) leaves its temporary folder; the next export to
    that output removes it, says so, and writes the store."""
    import leftovers
    folder, (levels, _) = made['labels']
    pid, partial = leftovers.killed_run(tmp_path / 'p', kind='folder')
    assert partial in os.listdir(tmp_path)
    lines = []
    run_export(folder, tmp_path / 'p', 'precomputed',
               report=lambda message, final: lines.append(message))
    assert any(m.startswith('Removed %s, left in %s by process %d' % (partial, tmp_path, pid))
               for m in lines)
    assert sorted(os.listdir(tmp_path)) == ['p']
    cv = CloudVolume('file://%s' % (tmp_path / 'p'))
    assert np.array_equal(np.asarray(cv[:, :, :])[..., 0].T, levels[(1, 1, 1)])


def test_segment_properties_of_attributes(tmp_path):
    """Object ids as uint32 numbers, complete numbers as float32, numbers some regions
    lack as text (JSON has no NaN, and the info file is strict JSON), categories as tags
    without spaces, in increasing order; only regions with a value are listed."""
    seg = tmp_path / 'seg.cmap'
    volume = tilesets.labels((8, 8, 8), seed=1, cell=4, max_id=9)
    tilesets.write_tiles(tmp_path / 't', volume, (8, 8, 8))
    with tiles.open_tiles(str(tmp_path / 't')) as t:
        combine.combine(t, str(seg), subsamples='none')
    from chimerax.connectome.pipeline.attributefile import AttributeFile
    nan = float('nan')
    AttributeFile(seg).write(
        {'axon': np.array([0, 4, 0, 4, 7, 0], np.int32),
         'size': np.array([nan, 1.5, nan, 2.0, 3.0, nan], np.float32),
         'width': np.array([0, 1, 2, 3, 4, 5], np.float32),
         'axonclass': np.array([0, 1, 0, 2, 1, 0], np.int32)},
        metadata={'axon': {'kind': 'id'}, 'size': {'kind': 'number'},
                  'width': {'kind': 'number'},
                  'axonclass': {'kind': 'category', 'objects': 'axon',
                                'category_names': ['thalamo cortical', 'other'],
                                'category_codes': [1, 2], 'category_objects': [2, 1]}})
    ids, properties = storeids.segment_properties(str(seg))
    assert list(ids) == [1, 2, 3, 4, 5]
    by_name = {name: (kind, values) for name, kind, values in properties}
    assert by_name['axon'][0] == 'number' and list(by_name['axon'][1]) == [4, 0, 4, 7, 0]
    assert by_name['axon'][1].dtype == np.uint32
    assert by_name['size'] == ('string', ['1.5', '', '2', '3', ''])
    assert by_name['width'][0] == 'number' and by_name['width'][1].dtype == np.float32
    assert by_name['tags'] == ('tags', (['axonclass:thalamo_cortical', 'axonclass:other'],
                                        [[0], [], [1], [0], []]))
    run_export(tmp_path / 't', tmp_path / 'p', 'precomputed', subsamples='none',
               segment_properties=(ids, properties))
    text = (tmp_path / 'p' / 'segment_properties' / 'info').read_text()
    assert 'NaN' not in text
    props = json.loads(text)['inline']['properties']
    assert {p['id']: p['type'] for p in props} == {'axon': 'number', 'size': 'string',
                                                   'width': 'number', 'tags': 'tags'}


def test_voxel_offset_keeps_voxel_indices_and_precomputed_origins():
    """A whole-voxel origin keeps its index and is shifted half a voxel (neuroglancer's
    corners); a precomputed store's own origin (half a voxel more) is placed exactly;
    anything else is refused."""
    assert export.voxel_offset((16, 8, 120), (8, 8, 40), 'o') == ((2, 1, 3), (4, 4, 20))
    assert export.voxel_offset((20, 12, 140), (8, 8, 40), 'o') == ((2, 1, 3), (0, 0, 0))
    assert export.voxel_offset((16, 12, 120), (8, 8, 40), 'o') == ((2, 1, 3), (4, 0, 20))
    with pytest.raises(InputError, match='not a whole number of voxels'):
        export.voxel_offset((17, 8, 120), (8, 8, 40), 'o')
