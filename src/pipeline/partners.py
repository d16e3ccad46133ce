"""Picking from the wiring (pipeline/wiring.py): which synapses a filter picks (of
these axons, onto these neurons, of these types) and the partner table of one object
(the axons presynaptic to neuron 3 with their synapse counts).  Pure: numpy.
"""

import numpy as np

from ..errors import InputError
from .wiring import CLASSES, NOUNS, POST, PRE, counted, object_values


def in_ranges(values, ranges):
    """Boolean mask: which ``values`` lie in one of the inclusive ``ranges`` [(first,
    last)] (any number of them, overlapping or not)."""
    values = np.asarray(values)
    if not ranges:
        return np.zeros(values.shape, bool)
    r = np.array(sorted(ranges), np.int64).reshape(-1, 2)
    # Merge overlapping ranges, so each value has one candidate: the last range starting
    # at or before it.
    ends = np.maximum.accumulate(r[:, 1])
    new = np.r_[True, r[1:, 0] > ends[:-1] + 1]
    starts = r[new, 0]
    stops = np.maximum.reduceat(r[:, 1], np.flatnonzero(new))
    k = np.searchsorted(starts, values, side='right') - 1
    return (k >= 0) & (values <= stops[np.maximum(k, 0)])


def select(wiring, of=None, onto=None, types=None):
    """Boolean mask of the synapses picked: ``of`` = (class, ranges) of their
    presynaptic side (axon), ``onto`` = (class, ranges) of their postsynaptic side
    (dendrite, spinehead, neuron), ``types`` = type names; None = any."""
    mask = np.ones(wiring.count, bool)
    for side, allowed in ((of, PRE), (onto, POST)):
        if side is None:
            continue
        name, ranges = side
        if name not in allowed:
            raise InputError('%s names the %s side; %s is %s' % (
                'of' if allowed[0] == 'axon' else 'onto',
                'presynaptic' if allowed[0] == 'axon' else 'postsynaptic', name,
                'postsynaptic (use onto)' if name in POST else
                'presynaptic (use of)' if name in PRE else 'not a partner class'))
        mask &= in_ranges(wiring.ids(name), ranges)
    if types:
        known = dict(wiring.category_names('type'))
        lower = {n.lower(): c for n, c in known.items()}
        unknown = [t for t in types if t.lower() not in lower]
        if unknown:
            raise InputError('no synapse type %s; the types are %s'
                             % (', '.join(unknown), ', '.join(known) or 'none'))
        mask &= np.isin(wiring.type, [lower[t.lower()] for t in types])
    return mask


class Partner:
    """One row of a partner table: the partner (class, id), its synapses with the
    object, its category (axon class ...) and, for a dendrite, its neuron."""

    def __init__(self, direction, name, id, synapses, category, neuron=0):
        self.direction, self.name, self.id = direction, name, int(id)
        self.synapses, self.category, self.neuron = int(synapses), category, int(neuron)

    def line(self):
        text = '%s %d  %s' % (NOUNS[self.name], self.id, counted(self.synapses, 'synapse'))
        if self.neuron:
            text += '  (neuron %d)' % self.neuron
        return text

    def __repr__(self):
        return 'Partner(%s %s %d: %d)' % (self.direction, self.name, self.id, self.synapses)


class PartnerTable:
    """The partners of one object: ``rows`` (Partner, by direction, category, most
    synapses first), ``totals`` {direction: (synapses, partners)} before minSynapses,
    ``mask`` {direction: the synapses with it}."""

    def __init__(self, name, id, rows, totals, masks, min_synapses, notes):
        self.name, self.id, self.rows, self.totals = name, id, rows, totals
        self.masks, self.min_synapses, self.notes = masks, min_synapses, notes

    def partner_ids(self, direction=None):
        """{partner class: sorted ids} of the rows (of one direction)."""
        out = {}
        for r in self.rows:
            if direction is None or r.direction == direction:
                out.setdefault(r.name, []).append(r.id)
        return {k: sorted(v) for k, v in out.items()}

    def lines(self):
        """The table as log lines: a heading, per direction and category a line with its
        counts, then one line per partner."""
        what = '%s %d' % (NOUNS[self.name], self.id)
        out = []
        for direction, (synapses, partners) in self.totals.items():
            noun = 'inputs' if direction == 'in' else 'outputs'
            rows = [r for r in self.rows if r.direction == direction]
            if not synapses:
                out.append('%s: no %s' % (what, noun) + (
                    ' (%s)' % self.notes[direction] if direction in self.notes else ''))
                continue
            kind = rows[0].name if rows else ('axon' if direction == 'in' else 'dendrite')
            head = '%s %s: %s %s %s' % (
                what, noun, counted(synapses, 'synapse'),
                'from' if direction == 'in' else 'onto', counted(partners, NOUNS[kind]))
            if self.min_synapses > 1:
                head += ', %d with at least %d synapses' % (len(rows), self.min_synapses)
            out.append(head)
            groups = []
            for r in rows:
                if not groups or groups[-1][0] != r.category:
                    groups.append((r.category, []))
                groups[-1][1].append(r)
            for category, members in groups:
                if category is not None:
                    total = sum(m.synapses for m in members)
                    out.append('  %s: %s, %s'
                               % (category, counted(len(members), NOUNS[members[0].name]),
                                  counted(total, 'synapse')))
                out.extend('    ' + m.line() for m in members)
        return out


def partners(wiring, name, object_id, direction='both', min_synapses=1):
    """The PartnerTable of object ``object_id`` of class ``name``: 'in' = the axons
    presynaptic to it (a dendrite, spine head or neuron), 'out' = the dendrites an axon
    is presynaptic to; each partner with its number of synapses."""
    if name not in CLASSES:
        raise InputError('partners of %r: give a class of %s' % (name, ', '.join(CLASSES)))
    directions = ('in', 'out') if direction == 'both' else (direction,)
    rows, totals, masks, notes = [], {}, {}, {}
    for d in directions:
        if d == 'in':
            if name in PRE:
                totals[d], masks[d] = (0, 0), np.zeros(wiring.count, bool)
                notes[d] = 'in the authors\' synapses an axon is presynaptic only'
                continue
            mask = wiring.ids(name) == object_id
            partner = 'axon'
        else:
            if name in POST:
                totals[d], masks[d] = (0, 0), np.zeros(wiring.count, bool)
                notes[d] = 'the authors\' synapses do not say which axon is a %s\'s' \
                    % NOUNS[name]
                continue
            mask = wiring.ids(name) == object_id
            partner = 'dendrite'
        ids = wiring.ids(partner)[mask]
        unknown = int(np.count_nonzero(ids == 0))
        if unknown:
            notes[d] = '%d synapses with no %s' % (unknown, partner)
        found, counts = np.unique(ids[ids > 0], return_counts=True)
        totals[d] = (int(counts.sum()), int(found.size))
        keep = counts >= min_synapses
        found, counts = found[keep], counts[keep]
        masks[d] = mask & np.isin(wiring.ids(partner), found)
        category, codes = wiring.object_class(partner, found)
        names = dict((c, n) for n, c in wiring.category_names(category)) if category else {}
        neurons = (object_values(wiring.dendrite_neuron, found) if partner == 'dendrite'
                   else np.zeros(found.size, np.int32))
        # By category (in code order, none last), then most synapses, then id.
        order = np.lexsort((found, -counts, np.where(codes > 0, codes, 1 << 30)))
        for k in order.tolist():
            label = names.get(int(codes[k]), 'no class') if category else None
            rows.append(Partner(d, partner, found[k], counts[k], label, neurons[k]))
    return PartnerTable(name, int(object_id), rows, totals, masks, min_synapses, notes)
