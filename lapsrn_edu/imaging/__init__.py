"""Pixels: MATLAB-exact bicubic resize, colour conversion, Laplacian pyramids, PSNR/SSIM as the paper's code.

Imports: errors; outside the package: numpy, scipy, torch.
"""
