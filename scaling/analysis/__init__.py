"""From run records to answers, without torch or Hydra: the tidy table (``results``), tables of
runs in and laws out (``tables``), fits per data type (``pipeline``), validity gates, the typed
verdict and its sentences, exchange rates, levers, figures and the report.
"""
