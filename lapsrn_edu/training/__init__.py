"""Training: the configuration and recipes, the loss, the loop, the Trainer, publishing a run.

Imports everything below it (evaluation validates after each epoch).
"""
