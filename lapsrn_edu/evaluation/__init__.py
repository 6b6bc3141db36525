"""Running a model: upscaling whole images, the paper's evaluation protocol, the model zoo, cost and timing.

Imports the models, the data and the engines (through :mod:`lapsrn_edu.engine.switch`).
"""
