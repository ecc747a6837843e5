"""The run record around training: identity (``identity``), the run directory's files (``layout``,
``record``), writing while training (``hooks``), state of a sweep (``state``), locks, the wandb
mirror (``tracking``) and ``runner.execute``, what every launcher job calls.
"""
