"""Pixels: MATLAB-exact bicubic resize, colour conversion, Laplacian pyramids, PSNR/SSIM as the paper's code.

The bottom of the package: imports nothing of it (numpy and torch only).
"""
