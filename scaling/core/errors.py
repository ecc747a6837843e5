"""User-facing errors.

A ``UserError`` is bad input (a config field, a path, a table column, a budget too small for a
model). Entry points catch it and print its message as one line, without a traceback, and exit
with status 2. The message names the field, says what is allowed and, where it can, how to fix it.
"""


class UserError(Exception):
    """Bad input from the user: printed as one line by the CLI, never with a traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(message.strip().replace("\n", " "))
