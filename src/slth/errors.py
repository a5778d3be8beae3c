"""The one exception type for user mistakes, so the CLI can print it as one line."""


class InputError(ValueError):
    """Bad input: the message names the argument, the offending value and what is allowed."""
