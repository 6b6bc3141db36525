"""lapsrn-edu: learn, run and reproduce LapSRN (Lai et al., CVPR 2017)."""

__version__ = "0.1.0"
