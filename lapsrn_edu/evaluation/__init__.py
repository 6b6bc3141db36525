"""Running a model: upscaling whole images, the paper's evaluation protocol, the model zoo, cost and timing.

Imports: errors, device, imaging, models, data, engine (only its switch); outside the package:
numpy, PIL, scipy, torch, tqdm.
"""
