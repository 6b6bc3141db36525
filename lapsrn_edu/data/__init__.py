"""Images and data files: datasets and the data root, checksum-verified downloads, training patches.

Imports :mod:`lapsrn_edu.imaging` and :mod:`lapsrn_edu.models` (how many levels a scale has).
"""
