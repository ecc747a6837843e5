"""Data: sources (installed docs, local files, HF hub), frontier generators with verifiers,
rendering to tokens with loss masks, packing, repetition and mixtures."""
