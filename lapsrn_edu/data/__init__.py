"""Images and data files: datasets and the data root, checksum-verified downloads, training patches.

Imports: errors, imaging, models (how many levels a scale has); outside the package: numpy, PIL,
pooch, requests, skimage, torch, tqdm.
"""
