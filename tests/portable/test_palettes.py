"""The pure colour choice of pipeline/classes.py (issue 25): one palette per meaning, so
that a scene showing object classes, axon classes, dendrite classes and synapse types at
once (``connectome partners ... show``) never gives two meanings one colour or two
colours that look alike.  Axon classes and dendrite classes shared ColorBrewer set1, and
the `shaft` synapse khaki looked like the neuron's yellow surface."""

import itertools

import numpy as np
import pytest

from chimerax.connectome.pipeline import classes


def meanings():
    """{meaning: its colours}: the object classes', each attribute's categories' and the
    grey of no category."""
    found = {'object classes': tuple(classes.CLASS_COLORS.values()),
             'no category': (classes.NO_CATEGORY,)}
    found.update(classes.CATEGORY_COLORS)
    return found


def test_cie_lab_of_known_colours():
    assert np.allclose(classes.lab((255, 255, 255)), (100, 0, 0), atol=0.02)
    assert np.allclose(classes.lab((0, 0, 0)), (0, 0, 0), atol=0.01)
    # sRGB red, D65 (the usual reference value).
    assert np.allclose(classes.lab((255, 0, 0)), (53.24, 80.09, 67.20), atol=0.05)
    assert classes.color_distance('red', '#ff0000') == 0
    assert classes.color_distance('yellow', 'blue') > 200


def test_no_two_colours_of_any_meanings_look_alike():
    """Every colour of every palette against every other, within and between meanings:
    at least MIN_DISTANCE apart (CIE76: 2.3 is just noticeable; set1's red and the
    dendrites' red were 11 apart, khaki and yellow 45 but both light yellows)."""
    colors = [(m, c) for m, cs in meanings().items() for c in cs]
    assert len({c for _, c in colors}) == len(colors)
    closest = min((classes.color_distance(a, b), ma, a, mb, b)
                  for (ma, a), (mb, b) in itertools.combinations(colors, 2))
    assert closest[0] >= classes.MIN_DISTANCE, closest


def test_the_demo_categories_fit_their_palettes():
    """The authors' classes and types (demo/authors.py) each get a colour of their own."""
    from chimerax.connectome.demo import authors
    for attribute, names in (('axonclass', authors.AXON_CLASSES),
                             ('dendriteclass', authors.DENDRITE_CLASSES),
                             (classes.SYNAPSE_TYPE, authors.SYNAPSE_TYPES)):
        colors = classes.category_colors(attribute, len(names))
        assert len(set(colors)) == len(names), attribute


def test_category_colors_repeat_their_palette_and_only_their_own():
    palette = classes.CATEGORY_COLORS['axonclass']
    assert classes.category_colors('axonclass', len(palette) + 2) == \
        list(palette) + list(palette[:2])
    assert classes.category_colors('axonclass', 0) == []
    assert classes.category_colors('cellcolor', 3) is None      # set1, in session/


@pytest.mark.parametrize('attribute,color', [
    ('axonclass', 'lime'), ('dendriteclass', 'red'), ('axon', 'lime'),
    ('spinehead', 'blue'), (classes.SYNAPSE_TYPE, classes.NO_CATEGORY),
    ('cellcolor', classes.NO_CATEGORY), (None, classes.NO_CATEGORY)])
def test_no_category_is_the_class_colour(attribute, color):
    """An axon of no axon class is drawn as an axon (the same meaning, the same colour),
    a synapse of no type in the grey no palette has."""
    assert classes.no_category_color(attribute) == color
