"""Tokenizers: the protocol and bytes (``base``), byte-level BPE (``bpe``), pretrained by name
(``pretrained``). Training a BPE on a run's data is ``data.tokenizer``'s job.
"""
