"""Hydra launcher plugin of scaling-lab: a sweep's runs trained in packs (``scaling.cli.pack``)."""
