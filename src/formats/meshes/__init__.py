"""Neuroglancer's precomputed multi-resolution mesh format ("neuroglancer_multilod_draco").

A mesh folder holds ``info`` (JSON: the format, the vertex quantization, the 3x4 transform
from "stored model" coordinates to model coordinates in nm, the LOD scale multiplier) and,
per object ID, a manifest ``ID.index`` (the octree of fragments of each level of detail)
and ``ID`` (the Draco-encoded fragments, LOD 0 first), as google/neuroglancer's
``src/datasource/precomputed/meshes.md`` specifies, or, sharded, the objects gathered into a
few ``.shard`` files (``sharding.py``, ``sharded.md``).  ``layout.py`` holds the records and
the byte layout, ``write.py`` encodes, ``read.py`` decodes.  Pure: numpy, DracoPy.
"""

from .layout import MeshInfo, Manifest, Fragment, INFO_TYPE, default_output
from .read import MeshFolder, is_mesh_folder
from .sharding import ShardingSpec, sharding_for
from .write import encode_object, shard_objects, write_info

__all__ = ['MeshInfo', 'Manifest', 'Fragment', 'INFO_TYPE', 'MeshFolder', 'is_mesh_folder',
           'encode_object', 'write_info', 'shard_objects', 'ShardingSpec', 'sharding_for',
           'default_output']
