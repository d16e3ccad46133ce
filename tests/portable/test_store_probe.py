"""The store probe (tests/common/storeprobe.py, issue 24): every writer and layout the
field publishes opens with exact voxels, geometry and levels, and combines exactly
(`python -m bench stores --probe` prints the same cases as a table)."""

import os

import pytest

import storeprobe


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
    """The .cmap levels of the probe's labels from the first case (a plain store)."""
    folder = tmp_path_factory.mktemp('probe')
    name = next(iter(storeprobe.CASES))
    row, levels = storeprobe.run_case(name, os.path.join(str(folder), 'reference'),
                                      storeprobe.labels(), None)
    assert row.ok, row
    return levels


@pytest.mark.parametrize('name', list(storeprobe.CASES)[1:])
def test_probe_case(reference, tmp_path, name):
    if 'Igneous' in name and not os.path.exists(storeprobe.IGNEOUS_PYTHON):
        pytest.skip('Igneous is not built (%s)' % storeprobe.IGNEOUS_PYTHON)
    row, _ = storeprobe.run_case(name, os.path.join(str(tmp_path), 'case'),
                                 storeprobe.labels(), reference)
    if row.opened.startswith('not installed'):
        # ome-zarr-py and funlib.persistence are not in every test environment (see
        # requirements/test.txt): their layouts are also written by zarr-python.
        pytest.skip('%s: %s' % (row.writer, row.opened))
    assert row.ok, row


def test_the_table_says_what_failed():
    rows = [storeprobe.Row('a', 'w', 'yes', 'yes', 'yes', 'yes', 'yes'),
            storeprobe.Row('b', 'w', 'yes', 'NO: a level reads other voxels', 'yes', 'yes',
                           'yes')]
    text = storeprobe.table(rows)
    assert '| b | w | yes | NO: a level reads other voxels |' in text
    assert text.endswith('1 of 2 cases open with exact voxels, geometry and levels and'
                         ' combine exactly')
