"""The base layer: typed run config, user errors, FLOP and parameter conventions, prices, file I/O
and hub probing. Imports nothing else of the package, neither torch nor Hydra.
"""
