"""The engines: faster ways to compute exactly what the readable models compute.

- :mod:`.switch`: the one switch (``engine="auto" | "reference" | "fast"``) and the run-time check
  that a model is the package's own, unedited, before an engine may stand in for it;
- :mod:`.inference`: LapSRN and MS-LapSRN inference on the CPU, streamed in bands of rows;
- :mod:`.training`: a training copy of a model with faster CPU layers, sharing its parameters;
- :mod:`.allocator`: freed memory kept for reuse while a training runs (glibc);
- :mod:`.gpu_patches`: training patches cut on the GPU, the same as the CPU cuts.

The engines never import the code that runs them. Imports: errors, imaging, models, data; outside
the package: numpy, torch.
"""
