"""The end of ``connectome meshes``' output folder: its objects left as two files each, or
gathered into shard files (formats/meshes/sharding.py), and then its ``info``.

``sharded`` None chooses from the number of objects: up to SHARD_ABOVE objects stay two
files each (2,001 files at most, read by any tool that reads the format), more are
sharded, with the sharding parameters Igneous chooses for that many objects (one shard
file up to about 700,000 objects).  Pure: numpy.
"""

import dataclasses
import os
import re

import numpy as np

from ..formats.meshes import shard_objects, sharding_for, write_info
from ..progress import Progress

# Objects above which a folder is sharded when the user does not say: two files per object
# become thousands of small files, slow to list, copy and upload (one request each), while
# a sharded object costs neuroglancer two small index reads more.
SHARD_ABOVE = 1000
_INDEX = re.compile(r'(\d+)\.index')


def finish_folder(folder, info, sharded=None, report=None, name='meshes'):
    """Shard the objects written in ``folder`` (a folder being made) if ``sharded`` (None:
    above SHARD_ABOVE objects), then write its ``info`` (formats/meshes MeshInfo, its
    sharding filled in); returns whether it was sharded.  ``name`` titles the progress."""
    ids = sorted(int(m.group(1)) for m in map(_INDEX.fullmatch, os.listdir(folder)) if m)
    if sharded is None:
        sharded = len(ids) > SHARD_ABOVE
    if sharded and ids:
        spec = sharding_for(len(ids))
        shards = len(np.unique(spec.locate(ids)[0]))
        progress = Progress('meshes %s: shards' % name, shards, 'shards',
                            report)
        shard_objects(folder, ids, spec, progress)
        progress.finish()
        info = dataclasses.replace(info, sharding=spec.to_dict())
    write_info(os.path.join(folder, 'info'), info)
    return bool(sharded and ids)
