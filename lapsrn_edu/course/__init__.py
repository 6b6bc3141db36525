"""The course: notebooks' exercises, widgets and plots, the course build and publishing, its templates.

The top room under the command line. Imports: errors, imaging, models, data, engine (only its
switch), evaluation, training; outside the package: IPython, ipywidgets, matplotlib, nbconvert,
nbformat, numpy, papermill, scipy, torch, traitlets.
"""
