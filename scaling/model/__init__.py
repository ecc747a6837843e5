"""The decoder-only transformer (``transformer``), nanoGPT-style, with shape comments."""
