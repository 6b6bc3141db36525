"""Training: the configuration and recipes, the loss, the loop, the Trainer, publishing a run.

Imports: errors, device, models, data, engine (the switch, the allocator, GPU patches), evaluation
(validation after each epoch); outside the package: numpy, torch, tqdm.
"""
