"""Chunked multiscale stores, read where they lie: neuroglancer precomputed, Zarr (with
OME-Zarr multiscales) and N5, local or remote, through tensorstore.

location.py says where a store is and which format it has; precomputed.py, zarr.py and
n5.py turn its metadata into a small immutable StoreSpec (spec.py), saying what is wrong
with it; opening.py opens a spec with tensorstore, and chunkfiles.py reads the precomputed
chunks tensorstore cannot (compressed chunk files, compresso, crackle); idmap.py holds
ids above 2^32 as compact values; store.py's ``open_store`` does all that and returns a
Store, a formats/source.py VolumeSource.  Pure: no ChimeraX.
"""

from .idmap import IdMap
from .location import FORMATS, Location, looks_like_store
from .spec import LevelSpec, StoreSpec
from .store import DEFAULT_CACHE_BYTES, Store, StoreLevel, open_store

__all__ = ['DEFAULT_CACHE_BYTES', 'FORMATS', 'IdMap', 'LevelSpec', 'Location', 'Store',
           'StoreLevel', 'StoreSpec', 'looks_like_store', 'open_store']
