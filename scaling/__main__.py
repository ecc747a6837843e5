"""``python -m scaling``: the analysis command line (the ``scaling`` console script)."""

from scaling.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
