"""Axons of the synthetic geometry: smooth paths across the volume through synapse sites,
boutons with vesicles, synapses on spine heads and on dendrite shafts, and boutons
without a synapse.  A mixin of geometry.Geometry.  Pure: numpy, scipy.
"""

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from scipy.spatial import cKDTree

from .parameters import CLEARANCE, CONTACT, NEURITE
from .shapes import catmull_rom, perpendicular, unit


@dataclass(frozen=True)
class Synapse:
    """One synapse: kind 1 on a spine head, 2 on a dendrite shaft; presynapse and
    postsynapse are segment numbers (the bouton; the spine head or the shaft's patch);
    axon, dendrite, spinehead and neuron are the provisional object numbers of its
    partners (-1: none); contact is the point of contact in nm."""
    kind: int
    presynapse: int
    postsynapse: int
    axon: int
    dendrite: int
    spinehead: int
    neuron: int
    contact: np.ndarray


class Relabel(NamedTuple):
    """A ball (centre and radius in nm) in which segment from_segment becomes
    to_segment: the patch of dendrite shaft under a synapse."""
    centre: np.ndarray
    radius: float
    from_segment: int
    to_segment: int


class Vesicle(NamedTuple):
    """A synaptic vesicle: its centre (nm) and the cell of its bouton."""
    centre: np.ndarray
    cell: int


class Axons:
    """Geometry.build's axons, boutons and synapses."""

    def add_axons(self):
        """Axons crossing the volume on smooth curved paths.  Most pass through one or two
        synapse sites, with a bouton there; the others pass near a dendrite."""
        rng = self.rng
        free = list(self.sites)
        rng.shuffle(free)
        for number in range(self.parameters.axons):
            radius = rng.uniform(40, 60)
            sites = []
            if free and number < 0.85 * self.parameters.axons:
                sites.append(free.pop())
                for n, other in enumerate(free):
                    ahead = (other.centre - sites[0].centre) @ sites[0].direction
                    if 600 < ahead < 3000 and rng.random() < 0.7:
                        sites.append(free.pop(n))
                        break
            path, pinned = self.axon_path(radius, sites)
            ignore = tuple(g for s in sites for g in s.groups)
            path = self.repel(path, radius, pinned, ignore)
            cell = self.new_cell('axon', NEURITE + rng.normal(0, 5))
            axon = self.next_object('axon')
            seg = self.new_segment('axon', cell, axon=axon)
            nodes = path[::6] if len(path) > 12 else path[[0, -1]]
            if not np.array_equal(nodes[-1], path[-1]):
                nodes = np.vstack([nodes, path[-1]])
            for a, b in zip(nodes[:-1], nodes[1:]):
                self.capsule(a, b, radius, radius, seg)
            self.obstacles.add(path, radius, cell)
            self.obstacles.commit()
            self.axons.append((seg, cell, path, radius))
            for site in sites:
                self.add_synapse(site, seg, cell)

    def axon_path(self, radius, sites):
        """Points 40 nm apart from a face of the volume to another, through the sites
        (along each site's direction); and which points must not move."""
        rng = self.rng
        if sites:
            through = []
            for site in sites:
                d = site.direction
                through += [site.centre - 150 * d, site.centre, site.centre + 150 * d]
            first, last = through[0], through[-1]
            d0, d1 = sites[0].direction, sites[-1].direction
            entry = first - d0 * (self.exit_distance(first, -d0) + 300)
            exit_ = last + d1 * (self.exit_distance(last, d1) + 300)
            bend = [(entry + first) / 2 + perpendicular(d0, rng) * rng.uniform(0, 600)]
            points = [entry] + bend + through + [exit_]
        else:
            entry, _ = self.face_point(300)
            exit_, _ = self.face_point(300)
            if np.linalg.norm(exit_ - entry) < 0.6 * np.linalg.norm(self.hi - self.lo):
                exit_ = self.lo + self.hi - entry + rng.normal(0, 400, 3)
            waypoints = []
            if self.branches and rng.random() < 0.6:
                # Pass close to a dendrite: room for a synapse on its shaft.
                seg, cell, nodes = self.branches[rng.integers(len(self.branches))]
                (a, ra), (b, _) = nodes[rng.integers(len(nodes) - 1)], nodes[-1]
                if self.inside(a):
                    t = unit(b - a) if np.linalg.norm(b - a) > 0 else unit(rng.normal(size=3))
                    waypoints.append(a + perpendicular(t, rng) * (ra + radius
                                                                   + rng.uniform(60, 200)))
            if rng.random() < 0.5:
                waypoints.append(rng.uniform(self.lo, self.hi))
            axis = exit_ - entry
            waypoints.sort(key=lambda w: (w - entry) @ axis)
            points = [entry] + waypoints + [exit_]
        path = catmull_rom(points, 40.0)
        pinned = np.zeros(len(path), bool)
        for site in sites:
            pinned |= np.linalg.norm(path - site.centre, axis=1) < 160
        return path, pinned

    def repel(self, path, radius, pinned, ignore):
        """Move an axon's path out of the cells laid out so far, keeping it smooth; pinned
        points stay."""
        path = path.copy()
        free = ~pinned
        free[[0, -1]] = False
        for it in range(14):
            move = self.obstacles.push(path, radius, ignore=ignore)
            for c, r, _cell in self.somata:
                v = path - c
                d = np.linalg.norm(v, axis=1)
                deficit = np.maximum(r + radius + CLEARANCE - d, 0)
                move += v / np.maximum(d, 1e-6)[:, None] * deficit[:, None]
            path[free] += 0.9 * move[free]
            if it < 10:
                for _ in range(2):
                    smooth = path.copy()
                    smooth[1:-1] = (path[:-2] + 2 * path[1:-1] + path[2:]) / 4
                    path[free] = smooth[free]
        return path

    def add_synapse(self, site, axon_seg, axon_cell):
        synapse = self.next_object('presynapse')
        self.next_object('postsynapse')
        self.segments[site.head]['postsynapse'] = synapse
        axon = self.segments[axon_seg]['axon']
        bouton = self.new_segment('bouton', axon_cell, axon=axon, presynapse=synapse)
        self.add_bouton(site.centre, site.r_bouton, bouton, axon_cell, site.contact)
        info = self.segments[site.head]
        self.synapses.append(Synapse(kind=1, presynapse=bouton, postsynapse=site.head,
                                     axon=axon, dendrite=site.dendrite,
                                     spinehead=info['spinehead'], neuron=info['neuron'],
                                     contact=site.centre + site.contact * site.r_bouton))
        self.densities.append((site.centre + site.contact * (site.r_bouton
                                                                   - CONTACT / 2),
                               site.contact, 0.7 * min(site.r_head, site.r_bouton),
                               site.cell))

    def add_bouton(self, centre, radius, seg, cell, contact_dir=None):
        rng = self.rng
        self.segments[seg].update(centre=np.asarray(centre, float), radius=float(radius))
        self.sphere(centre, radius, seg)
        self.obstacles.add(centre, radius, cell)
        self.boutons.setdefault(cell, []).append(centre)
        if contact_dir is None:
            return
        # Synaptic vesicles crowd the half of the bouton facing the contact.
        count = rng.integers(25, 50)
        v = rng.normal(size=(4 * count, 3))
        v /= np.linalg.norm(v, axis=1)[:, None]
        v *= (radius - 28) * rng.random(4 * count)[:, None] ** (1 / 3)
        v = v[v @ contact_dir > -0.2 * radius][:count]
        self.vesicles.extend(Vesicle(centre + x, cell) for x in v)
        if rng.random() < 0.4:
            m = centre - contact_dir * 0.5 * radius
            self.mitochondria.append((m, m, 0.3 * radius, cell))

    def add_shaft_synapses(self):
        rng = self.rng
        axis_points, axis_info = [], []
        for seg, cell, nodes in self.branches:
            for (a, ra), (b, rb) in zip(nodes[:-1], nodes[1:]):
                n = max(2, int(np.linalg.norm(b - a) / 50))
                f = np.linspace(0, 1, n, endpoint=False)
                axis_points.append(a + (b - a) * f[:, None])
                axis_info.extend((seg, cell, ra + x * (rb - ra)) for x in f)
        if not axis_points:
            return
        axis_points = np.vstack(axis_points)
        tree = cKDTree(axis_points)
        for aseg, acell, path, ar in self.axons:
            d, idx = tree.query(path)
            radius = np.array([axis_info[i][2] for i in idx])
            gap = d - radius
            close = (gap < 200) & (gap > ar)
            runs = np.split(np.arange(len(path)), np.flatnonzero(np.diff(close.astype(int))) + 1)
            for run in runs:
                if not close[run[0]] or rng.random() > 0.5:
                    continue
                i = run[np.argmin(gap[run])]
                q, axis_point = path[i], axis_points[idx[i]]
                seg, cell, r = axis_info[idx[i]]
                if not self.inside(q) or any(np.linalg.norm(q - o) < 700
                                             for o in self.boutons.get(acell, [])):
                    continue
                if any(np.linalg.norm(axis_point - c) < sr + 300 for c, sr, _ in self.somata):
                    continue
                w = unit(axis_point - q)
                r_bouton = rng.uniform(110, 170)
                shift = max(0.0, min(d[i] - r - r_bouton + CONTACT, r_bouton - ar - 10))
                r_bouton = d[i] - r - shift + CONTACT
                if not 90 <= r_bouton <= 220:
                    continue
                centre = q + w * shift
                if not (self.obstacles.clear(centre, r_bouton, ignore=(cell, acell), gap=10)
                        and self.soma_clear(centre, r_bouton)):
                    continue
                info = self.segments[seg]
                synapse = self.next_object('presynapse')
                self.next_object('postsynapse')
                contact = axis_point - w * r
                r_patch = min(0.85 * r_bouton, 0.9 * r)
                patch = self.new_segment('patch', cell, neuron=info['neuron'],
                                         dendrite=info['dendrite'], postsynapse=synapse)
                self.relabels.append(Relabel(contact, r_patch, seg, patch))
                self.add_sample(patch, contact + w * 0.45 * r_patch, 0.45 * r_patch)
                axon = self.segments[aseg]['axon']
                bouton_seg = self.new_segment('bouton', acell, axon=axon, presynapse=synapse)
                self.add_bouton(centre, r_bouton, bouton_seg, acell, contact_dir=w)
                self.synapses.append(Synapse(kind=2, presynapse=bouton_seg, postsynapse=patch,
                                             axon=axon, dendrite=info['dendrite'],
                                             spinehead=-1, neuron=info['neuron'],
                                             contact=contact))
                self.densities.append((contact + w * CONTACT / 2, w, 0.7 * r_patch, cell))
        self.obstacles.commit()

    def add_varicosities(self):
        """Boutons without a synapse here: swellings along the axons."""
        rng = self.rng
        for aseg, acell, path, ar in self.axons:
            for i in rng.integers(0, len(path), rng.integers(0, 3)):
                q = path[i]
                r = rng.uniform(90, 140)
                if (not self.inside(q) or any(np.linalg.norm(q - o) < 700
                                              for o in self.boutons.get(acell, []))
                        or not self.obstacles.clear(q, r, ignore=(acell,))
                        or not self.soma_clear(q, r)):
                    continue
                seg = self.new_segment('bouton', acell, axon=self.segments[aseg]['axon'])
                self.add_bouton(q, r, seg, acell)
        self.obstacles.commit()
