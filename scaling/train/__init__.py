"""Training one run: its plan from the FLOP budget (``plan``, torch-free), the trainer loop
(``trainer``), held-out evaluation (``evaluate``) and throughput calibration (``calibrate``).
"""
