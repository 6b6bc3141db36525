"""lapsrn-edu: learn, run and reproduce LapSRN (Lai et al., CVPR 2017).

The package is a house of rooms, each a subpackage; a room imports only the rooms listed before
it (and itself), never one after it. Read it bottom up:

``errors``, ``device``  the package's user errors (:class:`UserError`) and which device to use
``imaging``     pixels: MATLAB-exact bicubic resize, colour, Laplacian pyramids, PSNR/SSIM
``models``      the readable networks (LapSRN, MS-LapSRN, the ablations and baselines), their
                registry, the official weights, checkpoint files (written atomically, read safely)
``data``        datasets and the data root, verified downloads, training patches
``engine``      faster ways to compute what a model computes, behind one switch that lets an
                engine stand in only for an unedited model (inference, training, GPU patches)
``evaluation``  upscaling whole images, the paper's evaluation protocol, the model zoo, costs,
                fine detail beside PSNR
``training``    configuration and recipes, the loss, the step and epoch, the Trainer, export
``studies``     the paper's claims as experiments with a verdict, and their figures
``course``      the notebooks' exercises, widgets and plots, the course build (student and
                instructor: answer keys, lecturer's guide, pages) and publishing
``cli``         the ``lapsrn-edu`` command line, on top of everything

``tests/test_layers.py`` checks every import against this order.
"""

__version__ = "0.1.0"

# The rooms, bottom to top (the modules errors, device and cli sit at the package's top level).
ROOMS = (
    "errors",
    "device",
    "imaging",
    "models",
    "data",
    "engine",
    "evaluation",
    "training",
    "studies",
    "course",
    "cli",
)
