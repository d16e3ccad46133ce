"""Neurons and dendrites of the synthetic geometry: somata with nuclei and mitochondria,
branching tapering dendrites (also fragments entering from outside the volume), spines
with neck and head, and the synapse sites on spine heads that axons are routed through.
A mixin of geometry.Geometry.  Pure: numpy.
"""

from dataclasses import dataclass

import numpy as np

from .parameters import CONTACT, NEURITE
from .shapes import perpendicular, tilted, unit


@dataclass(frozen=True)
class Site:
    """A place on a spine head for a bouton, which an axon is routed through (axons.py):
    the bouton's centre and radius, the unit vector from the bouton to the head
    (contact), the head's segment, radius and cell, the provisional number of the head's
    dendrite, the obstacle groups the bouton may touch and the direction an axon passes
    in."""
    centre: np.ndarray
    r_bouton: float
    contact: np.ndarray
    head: int
    r_head: float
    cell: int
    dendrite: int
    groups: tuple
    direction: np.ndarray


class Dendrites:
    """Geometry.build's neurons, dendrite fragments and spines."""

    def add_neurons(self):
        rng, R = self.rng, self.parameters.soma_radius
        for n in range(self.parameters.neurons):
            centre = self.place_soma(R)
            cell = self.new_cell('neuron', NEURITE + rng.normal(0, 5))
            neuron = self.next_object('neuron')
            soma = self.new_segment('soma', cell, neuron=neuron)
            self.sphere(centre, R, soma)
            self.somata.append((centre, R, cell))
            self.nuclei.append((centre + rng.normal(0, 0.05 * R, 3), 0.55 * R, cell))
            for _ in range(rng.integers(3, 6)):
                d = unit(rng.normal(size=3))
                a = centre + d * rng.uniform(0.65, 0.8) * R
                self.mitochondria.append((a, a + perpendicular(d, rng) * rng.uniform(0.3, 0.5)
                                          * R, rng.uniform(0.06, 0.09) * R, cell))
            directions = self.spread_directions(rng.integers(3, 6), np.radians(55))
            radius = float(np.clip(0.26 * R, 110, 420))
            for d in directions:
                dendrite = self.next_object('dendrite')
                seg = self.new_segment('dendrite', cell, neuron=neuron, dendrite=dendrite)
                self.grow(cell, seg, centre + d * 0.75 * R, d, radius * rng.uniform(0.85, 1.1))
            self.obstacles.commit()

    def place_soma(self, R):
        for _ in range(2000):
            c = self.rng.uniform(self.lo + R + 60, self.hi - R - 60)
            if self.in_notch(c, R + 60):
                continue
            if all(np.linalg.norm(c - o) > r + R + 400 for o, r, _ in self.somata):
                return c
        raise RuntimeError('no room for a soma of radius %g nm' % R)

    def spread_directions(self, count, min_angle):
        dirs = []
        while len(dirs) < count:
            d = unit(self.rng.normal(size=3))
            if all(np.arccos(np.clip(d @ e, -1, 1)) > min_angle for e in dirs):
                dirs.append(d)
        return dirs

    def add_fragments(self):
        rng = self.rng
        for _ in range(self.parameters.dendrite_fragments):
            for _attempt in range(50):
                r0 = rng.uniform(100, 240)
                start, inward = self.face_point(r0 + 100)
                d = unit(inward + rng.normal(0, 0.45, 3))
                if self.obstacles.clear(start, r0) and self.soma_clear(start, r0):
                    break
            cell = self.new_cell('dendrite', NEURITE + rng.normal(0, 5))
            dendrite = self.next_object('dendrite')
            seg = self.new_segment('dendrite', cell, dendrite=dendrite)
            self.grow(cell, seg, start, d, r0)
            self.obstacles.commit()

    def grow(self, cell, seg, start, direction, radius):
        """A tapering, branching dendrite from ``start``: capsules of segment ``seg``."""
        rng = self.rng
        r_min = 70.0
        stack = [(np.asarray(start, float), unit(direction), radius, 0)]
        own_soma = [s for s in self.somata if s[2] == cell]
        while stack:
            p, d, r, depth = stack.pop()
            nodes = [(p, r)]
            for _step in range(400):
                length = float(np.clip(2.2 * r, 140, 420))
                r2 = max(r * np.exp(-length / 9000.0), r_min)
                for attempt in range(10):
                    d2 = unit(d + rng.normal(0, 0.16 if attempt == 0 else 0.6, 3))
                    q = p + length * d2
                    probe = np.array([q, (p + q) / 2])
                    # Away from its own soma: out of it, or at least leaving it.
                    leaving = all(np.linalg.norm(q - c) >= min(np.linalg.norm(p - c)
                                                               + 0.3 * length, sr + r2)
                                  for c, sr, _ in own_soma)
                    if (leaving and self.obstacles.clear(probe, r2, ignore=(cell,))
                            and self.soma_clear(probe, r2, ignore=(cell,))):
                        break
                else:
                    break
                self.capsule(p, q, r, r2, seg)
                n = max(2, int(length / max(r2, 60)))
                self.obstacles.add(p + (q - p) * np.linspace(0, 1, n)[:, None],
                                   np.linspace(r, r2, n), cell)
                self.add_shaft_mitochondrion(p, q, r2, cell)
                p, d, r = q, d2, r2
                nodes.append((p, r))
                if not self.inside(p, r + 150):
                    break
                if depth < 2 and r > 1.6 * r_min and rng.random() < 0.35 * length / 1000:
                    stack.append((p, tilted(d, rng.uniform(0.6, 1.1), rng), 0.75 * r,
                                  depth + 1))
                    r *= 0.85
            if len(nodes) > 1:
                self.branches.append((seg, cell, nodes))

    def add_shaft_mitochondrion(self, p, q, r, cell):
        if r < 110 or self.rng.random() > 0.35:
            return
        offset = perpendicular(unit(q - p), self.rng) * 0.3 * r
        self.mitochondria.append((p + offset, q + offset, float(np.clip(0.32 * r, 35, 110)),
                                  cell))

    def add_spines(self):
        """Spines along every dendrite, away from the somata.  Most heads get a synapse
        site: a place for a bouton touching the head, which an axon is routed through."""
        rng = self.rng
        self.sites = []
        for seg, cell, nodes in self.branches:
            info = self.segments[seg]
            soma = [(c, r) for c, r, sc in self.somata if sc == cell]
            next_site, walked = rng.uniform(150, 600), 0.0
            for (a, ra), (b, rb) in zip(nodes[:-1], nodes[1:]):
                length = np.linalg.norm(b - a)
                while walked + length >= next_site:
                    f = (next_site - walked) / length
                    p, r = a + f * (b - a), ra + f * (rb - ra)
                    next_site += rng.uniform(250, 600)
                    if (self.inside(p, 100) and rng.random() < 0.8
                            and all(np.linalg.norm(p - c) > sr + 500 for c, sr in soma)):
                        self.add_spine(p, unit(b - a), r, seg, cell, info)
                walked += length
        self.obstacles.commit()

    def add_spine(self, p, t, r, seg, cell, info):
        rng = self.rng
        for _ in range(5):
            w = tilted(t, rng.uniform(1.1, np.pi / 2), rng)
            r_head, r_neck = rng.uniform(95, 165), rng.uniform(36, 46)
            neck = rng.uniform(150, 550)
            head = p + w * (r + neck + r_head)
            n = max(3, int((neck + r) / 60))
            neck_points = p + w * 0.5 * r + w * (0.5 * r + neck) * np.linspace(0, 1, n)[:, None]
            points = np.vstack([neck_points, head])
            radii = np.r_[np.full(n, r_neck), r_head]
            if not (self.obstacles.clear(points, radii, ignore=(cell,), gap=15)
                    and self.soma_clear(points, radii, ignore=(cell,))):
                continue
            group = -len(self.segments)             # a spine keeps clear of other spines
            spinehead = self.next_object('spinehead')
            head_seg = self.new_segment('head', cell, neuron=info['neuron'],
                                        spinehead=spinehead)
            # kept for the authors' layout: spine head volume, second contacts
            self.segments[head_seg].update(centre=head, radius=r_head,
                                           dendrite_of=info['dendrite'])
            self.capsule(p + w * 0.5 * r, head, r_neck, r_neck, seg, sample=False)
            self.sphere(head, r_head, head_seg)
            self.obstacles.add(points, radii, group)
            if rng.random() < 0.75:
                self.add_site(head, r_head, w, head_seg, group, cell, info)
            return

    def add_site(self, head, r_head, w, head_seg, group, cell, info):
        rng = self.rng
        r_bouton = rng.uniform(120, 185)
        for _ in range(4):
            u = tilted(w, rng.uniform(0, 0.9), rng)
            centre = head + u * (r_head + r_bouton - CONTACT)
            if (self.inside(centre) and not self.in_notch(centre)
                    and self.obstacles.clear(centre, r_bouton, ignore=(cell, group), gap=15)
                    and self.soma_clear(centre, r_bouton)):
                break
        else:
            return
        site_group = -(10 ** 6) - len(self.sites)
        self.obstacles.add(centre, r_bouton, site_group)
        self.sites.append(Site(centre=centre, r_bouton=r_bouton, contact=-u, head=head_seg,
                               r_head=r_head, cell=cell, dendrite=info['dendrite'],
                               groups=(group, site_group), direction=perpendicular(u, rng)))
