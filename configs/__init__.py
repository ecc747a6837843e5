"""scaling-lab's Hydra configs, shipped in the package as ``scaling.configs`` (``scaling/configs``
links here) and loaded through Hydra's ``pkg://scaling.configs`` search path."""
