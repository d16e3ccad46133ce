"""File formats, pure (numpy, h5py, field codecs; never chimerax): the authors' HDF5 tiles
(tiles), the Chimera map writer (cmap), crash-safe edits of large HDF5 files (hdf5edit),
object files of every common layout (objectfiles) and a MATLAB v7.3 writer (matfile).
"""
