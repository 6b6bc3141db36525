"""The course: notebooks' exercises, widgets and plots, the course build and publishing, its templates.

The top room under the command line. Imports: errors, imaging, models, data, engine (only its
switch), evaluation, training, studies (the study lessons' exercises read their results); outside
the package: IPython, ipywidgets, matplotlib, nbconvert, nbformat, nbgrader (only the assignment
export, from the grading extra), numpy, papermill, requests (pooch's, to tell offline from other
download errors), scipy, torch, traitlets.
"""
