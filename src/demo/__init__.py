"""Synthetic connectome datasets with the shape of Motta et al. 2019 (mouse cortex layer 4):
EM image tiles, segmentation tiles, object files and the ground truth they follow from,
so that every command can be tried and tested without the 1 TB original.

The geometry (geometry.py, dendrites.py, axons.py) is one procedural description in nm
drawn from the seed; every tile is rasterised from it on its own (generator.py, image.py,
regions.py), several at once in threads, so the volume is never held in memory; the
files and their layout are in files.py.  Pure: numpy, scipy, h5py.
"""

import os

import numpy as np

from ..errors import InputError
from ..formats import locks
from .files import read_authors_truth, read_truth, tile_name
from .generator import DemoSummary, Generator
from .parameters import (CLASSES, FILE_STEMS, SIZES, VOXEL_SIZE, DatasetLayout, SizeParameters,
                         dataset_layout, size_parameters)

__all__ = ['CLASSES', 'FILE_STEMS', 'SIZES', 'VOXEL_SIZE', 'DatasetLayout', 'DemoSummary',
           'SizeParameters', 'dataset_layout', 'generate_dataset', 'read_authors_truth',
           'read_truth', 'tile_name']


def generate_dataset(folder, size='small', seed=0, report=None, replace=False):
    """Write a synthetic dataset into ``folder`` (layout in files.py).

    It is written into a temporary sibling folder that is renamed to ``folder`` at the
    end (formats/locks.py atomic_output), so an interrupted run leaves nothing under
    ``folder``.  An existing non-empty
    ``folder`` is an InputError unless ``replace``.  ``report(message, final)`` receives
    progress lines (see progress.Progress) and, last, the summary line.  Returns a
    DemoSummary (generator.py): folder, size, seed, tiles (files per kind), absent_tiles,
    regions, maximum_region_id, objects ({class: count}), synapses, glia_cells, bytes,
    seconds, message.
    """
    size_parameters(size)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError('seed must be an integer >= 0, not %r' % (seed,))
    folder = os.path.abspath(os.path.expanduser(os.fspath(folder)))
    check_destination(folder, replace)
    parent = os.path.dirname(folder)
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as e:
        raise InputError('cannot write in %s: %s' % (parent, e.strerror or e), parent)
    with locks.atomic_output(folder, 'connectome demo', replace, kind='folder',
                             report=report) as work:
        check_destination(folder, replace)
        summary = Generator(size, int(seed), report).run(work, folder)
    return summary


def check_destination(folder, replace):
    if os.path.exists(folder):
        if not os.path.isdir(folder):
            raise InputError('%s exists and is not a folder' % folder, folder)
        if os.listdir(folder) and not replace:
            raise InputError('folder %s exists and is not empty (use replace true to'
                             ' overwrite it)' % folder, folder)

