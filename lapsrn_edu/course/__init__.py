"""The course: notebooks' exercises, widgets and plots, the course build and publishing, its templates.

The top room under the command line: it may import every other room.
"""
