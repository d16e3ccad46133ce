"""Benchmark tiles as redundant as the authors' segmentation: dense neuropil, every voxel
in some region, regions the size of a real supervoxel segmentation, deflated 64^3 chunks.

The Motta et al. segmentation has ~15 million regions in 2.3e11 voxels, ~15,000 voxels a
region, in voxels of 11.24 x 11.24 x 28 nm, and its deflated tiles are ~30:1.  Here the
regions are the Voronoi cells of random seeds, one per 15,000 voxels, measured in nm (so
a region is ~33 voxels across in x and y and ~13 in z), with borders warped by a smooth
random displacement (6 x,y voxels rms along each axis, 8-voxel correlation) so they are not planes; that
gives a deflate ratio of ~29:1 (zlib level 4, as HDF5's gzip filter writes).  Computing
cells for 2e9 voxels would take far longer than the benchmarks, so one periodic block of
256^3 voxels is computed (~15 s, cached) and the volume is made of copies of it, each
copy with its own ids (ids = seed + copy * seeds): every 64^3 chunk is a piece of the
block with its own ids, and the copies meet without seams except that regions cut by
a copy's faces get two ids.  Written straight as HDF5 chunks (deflate filter, level 4,
no shuffle, as the authors' tiles) by worker threads.  The EM image tiles are uint8,
contiguous and uncompressed, as the authors' are: cell interiors of mid grey, darker
membranes at region borders, noise.

Deterministic: same seed, same bytes.  Cached under bench.DATA with a version tag.
"""

import json
import os
import shutil
import zlib
from concurrent.futures import ThreadPoolExecutor

import h5py
import numpy as np

from . import DATA

VERSION = 1
BLOCK = 256                     # side of the periodic block of regions
CHUNK = 64                      # tile chunk side, as the authors' tiles
VOXELS_PER_REGION = 15_000      # 2.3e11 voxels / ~15 million regions
VOXEL_NM = (28.0, 11.24, 11.24)  # z, y, x
WARP_VOXELS = 6.0               # border displacement, rms over all three axes together
WARP_SIGMA = 8.0                # its correlation length, x,y voxels
GZIP_LEVEL = 4


def region_block(seed=0):
    """The periodic 256^3 z,y,x block of region indices (0 .. seeds-1, uint32)."""
    from scipy import ndimage
    from scipy.spatial import cKDTree
    path = os.path.join(DATA, 'neuropil-block-v%d-%d.npy' % (VERSION, seed))
    if os.path.exists(path):
        return np.load(path)
    rng = np.random.default_rng(seed)
    n = BLOCK
    vs = np.array(VOXEL_NM)
    box = n * vs
    seeds = round(n ** 3 / VOXELS_PER_REGION)
    tree = cKDTree(rng.random((seeds, 3)) * box, boxsize=box)
    out = np.empty((n, n, n), np.uint32)
    grid = np.meshgrid(np.arange(n, dtype=np.float32), np.arange(n, dtype=np.float32),
                       indexing='ij')
    warp = []
    for a in range(3):
        f = rng.standard_normal((n, n, n)).astype(np.float32)
        f = ndimage.gaussian_filter(f, (WARP_SIGMA * vs[1] / vs[0], WARP_SIGMA, WARP_SIGMA),
                                    mode='wrap')
        # Displacements in nm, the same physical size along every axis.
        warp.append(f * np.float32(WARP_VOXELS * vs[1] / f.std()))
    for z in range(n):          # plane by plane: bounded memory
        q = np.empty((n, n, 3), np.float64)
        q[..., 0] = (z * vs[0] + warp[0][z]) % box[0]
        q[..., 1] = (grid[0] * vs[1] + warp[1][z]) % box[1]
        q[..., 2] = (grid[1] * vs[2] + warp[2][z]) % box[2]
        out[z] = tree.query(q.reshape(-1, 3), workers=-1)[1].reshape(n, n)
    os.makedirs(DATA, exist_ok=True)
    np.save(path + '.tmp.npy', out)
    os.replace(path + '.tmp.npy', path)
    return out


def _chunk(block, seeds, copies, start):
    """Labels of the 64^3 chunk at z,y,x voxel ``start`` of the volume."""
    copy = tuple(s // BLOCK for s in start)
    index = (copy[0] * copies[1] + copy[1]) * copies[2] + copy[2]
    z, y, x = (s % BLOCK for s in start)
    piece = block[z:z + CHUNK, y:y + CHUNK, x:x + CHUNK]
    return piece + np.uint32(1 + index * seeds)


def _image(labels, start):
    """EM-like uint8 of a label chunk: membranes where the region changes, noise."""
    border = np.zeros(labels.shape, bool)
    for a in range(3):
        lo = [slice(None)] * 3
        hi = [slice(None)] * 3
        lo[a], hi[a] = slice(1, None), slice(None, -1)
        border[tuple(lo)] |= labels[tuple(lo)] != labels[tuple(hi)]
    rng = np.random.default_rng(list(start))
    g = rng.normal(150, 18, labels.shape)
    g[border] -= 80
    return np.clip(g, 0, 255).astype(np.uint8)


def tile_set(grid, tile, seed=0, image=False):
    """Folder of a tile set of ``grid`` (x,y,z) tiles of ``tile``^3 voxels (a multiple
    of 64), made once.  Returns (folder, facts)."""
    kind = 'image' if image else 'segmentation'
    name = 'neuropil-v%d-%s-%dx%dx%d-%d' % ((VERSION, kind) + tuple(grid) + (tile,))
    folder = os.path.join(DATA, name)
    record = folder + '.json'
    if os.path.exists(record):
        with open(record) as f:
            return folder, json.load(f)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    block = region_block(seed)
    seeds = int(block.max()) + 1
    shape = (grid[2] * tile, grid[1] * tile, grid[0] * tile)           # z,y,x
    copies = tuple(-(-n // BLOCK) for n in shape)
    raw = stored = 0
    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        for tx in range(grid[0]):
            for ty in range(grid[1]):
                for tz in range(grid[2]):
                    path = os.path.join(folder, 'x%dy%dz%d.hdf5' % (tx, ty, tz))
                    n_raw, n_stored = _write_tile(pool, path, (tz, ty, tx), tile, block,
                                                  seeds, copies, image)
                    raw += n_raw
                    stored += n_stored
    facts = {'grid': list(grid), 'tile': tile, 'shape': list(shape), 'kind': kind,
             'regions': int(np.prod(copies)) * seeds, 'voxels_per_region':
             float(np.prod(shape)) / (np.prod(copies) * seeds),
             'raw_bytes': raw, 'stored_bytes': stored, 'gzip_level': GZIP_LEVEL,
             'ratio': raw / stored}
    with open(record, 'w') as f:
        json.dump(facts, f)
    return folder, facts


def _write_tile(pool, path, position, tile, block, seeds, copies, image):
    origin = tuple(p * tile for p in position)
    starts = [(origin[0] + z, origin[1] + y, origin[2] + x) for z in range(0, tile, CHUNK)
              for y in range(0, tile, CHUNK) for x in range(0, tile, CHUNK)]
    tmp = path + '.part'
    with h5py.File(tmp, 'w') as f:
        if image:
            d = f.create_dataset('data', (tile,) * 3, np.uint8)
            for s, a in zip(starts, pool.map(
                    lambda s: _image(_chunk(block, seeds, copies, s), s), starts)):
                d[tuple(slice(b - o, b - o + CHUNK) for b, o in zip(s, origin))] = a
            raw = stored = tile ** 3
        else:
            d = f.create_dataset('data', (tile,) * 3, np.uint32, chunks=(CHUNK,) * 3,
                                 compression='gzip', compression_opts=GZIP_LEVEL)
            raw = stored = 0

            def encode(s):
                return zlib.compress(_chunk(block, seeds, copies, s), GZIP_LEVEL)
            # In slices of the tile so only a few hundred chunks wait at once.
            for i in range(0, len(starts), 256):
                part = starts[i:i + 256]
                for s, data in zip(part, pool.map(encode, part)):
                    d.id.write_direct_chunk(tuple(b - o for b, o in zip(s, origin)), data)
                    raw += CHUNK ** 3 * 4
                    stored += len(data)
    os.replace(tmp, path)
    return raw, stored
