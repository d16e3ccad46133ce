"""Numeric building blocks of the synthetic geometry and image: hashed noise that is the
same in every tile, signed distances to tapered capsules, random directions, splines.
Pure: numpy.
"""

import numpy as np


def hash_uniform(seed, salt, k, j, i):
    """Uniform [0, 1) numbers, one per integer triple (broadcast): the same in every tile."""
    with np.errstate(over='ignore'):
        x = (np.asarray(k, np.int64).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
             ^ np.asarray(j, np.int64).astype(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
             ^ np.asarray(i, np.int64).astype(np.uint64) * np.uint64(0x165667B19E3779F9)
             ^ np.uint64((seed * 0x27D4EB2F165667C5 + salt * 0x94D049BB133111EB)
                         & 0xFFFFFFFFFFFFFFFF))
        for shift, mult in ((30, 0xBF58476D1CE4E5B9), (27, 0x94D049BB133111EB)):
            x = x ^ (x >> np.uint64(shift))
            x = x * np.uint64(mult)
        x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def value_noise(seed, salt, spacing, xs, ys, zs):
    """Smooth noise in [0, 1] on the grid zs x ys x xs (nm): hashed values on a lattice of
    the given spacing, interpolated with smoothstep weights, separably."""
    axes = []
    for c in (xs, ys, zs):
        u = np.asarray(c, np.float64) / spacing
        i0 = np.floor(u).astype(np.int64)
        f = u - i0
        axes.append((i0, (f * f * (3 - 2 * f)).astype(np.float32), i0.min()))
    (ix, fx, x0), (iy, fy, y0), (iz, fz, z0) = axes
    k = np.arange(z0, iz.max() + 2)[:, None, None]
    j = np.arange(y0, iy.max() + 2)[None, :, None]
    i = np.arange(x0, ix.max() + 2)[None, None, :]
    v = hash_uniform(seed, salt, k, j, i).astype(np.float32)
    v = v[:, :, ix - x0] * (1 - fx) + v[:, :, ix - x0 + 1] * fx
    v = v[:, iy - y0] * (1 - fy)[:, None] + v[:, iy - y0 + 1] * fy[:, None]
    return v[iz - z0] * (1 - fz)[:, None, None] + v[iz - z0 + 1] * fz[:, None, None]


def capsule_distance(xs, ys, zs, a, b, ra, rb):
    """Signed distance (nm, negative inside) on the grid zs x ys x xs to a capsule from a
    to b whose radius goes linearly from ra to rb (a sphere when a == b)."""
    ax, ay, az = xs - a[0], ys - a[1], zs - a[2]
    p2 = (az * az)[:, None, None] + (ay * ay)[None, :, None] + (ax * ax)[None, None, :]
    ba = np.asarray(b, np.float64) - a
    length2 = float(ba @ ba)
    if length2 < 1e-6:
        return np.sqrt(p2) - np.float32(ra)
    w = ba / length2
    u = ((az * np.float32(w[2]))[:, None, None] + (ay * np.float32(w[1]))[None, :, None]
         + (ax * np.float32(w[0]))[None, None, :])
    t = np.clip(u, 0, 1)
    # |p - a - t(b - a)|^2 = |p - a|^2 - L^2 t (2u - t), u the unclipped projection
    d2 = p2 - np.float32(length2) * t * (2 * u - t)
    np.maximum(d2, 0, out=d2)
    d = np.sqrt(d2)
    if ra == rb:
        d -= np.float32(ra)
    else:
        d -= np.float32(ra) + np.float32(rb - ra) * t
    return d


def unit(v):
    v = np.asarray(v, np.float64)
    return v / np.linalg.norm(v)


def perpendicular(t, rng):
    """A random unit vector perpendicular to the unit vector t."""
    while True:
        v = rng.normal(size=3)
        v -= (v @ t) * t
        n = np.linalg.norm(v)
        if n > 1e-3:
            return v / n


def tilted(d, angle, rng):
    """A unit vector at ``angle`` radians from the unit vector d, in a random direction."""
    return unit(np.cos(angle) * d + np.sin(angle) * perpendicular(d, rng))


def catmull_rom(points, spacing):
    """Points about ``spacing`` apart on a Catmull-Rom spline through ``points``."""
    p = np.asarray(points, np.float64)
    p = np.vstack([2 * p[0] - p[1], p, 2 * p[-1] - p[-2]])
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        n = max(2, int(np.ceil(np.linalg.norm(p2 - p1) / spacing)))
        t = (np.arange(n) / n)[:, None]
        out.append(0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t ** 2
                          + (3 * p1 - p0 - 3 * p2 + p3) * t ** 3))
    out.append(p[-2][None])
    return np.vstack(out)


def clip_box(box_lo, box_hi, lo, hi):
    """The part of voxel box [box_lo, box_hi) (x,y,z) inside the work box [lo, hi): its
    start and stop relative to lo and the z,y,x slices of work arrays; None when the two
    do not overlap."""
    s = np.maximum(box_lo, lo) - lo
    e = np.minimum(box_hi, hi) - lo
    if np.any(s >= e):
        return None
    return s, e, (slice(s[2], e[2]), slice(s[1], e[1]), slice(s[0], e[0]))
