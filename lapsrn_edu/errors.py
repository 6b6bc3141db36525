"""The package's user errors: a closed set of exception types, all subclasses of :class:`UserError`.

A :class:`UserError` means the input was wrong (a missing file, a bad option, a model that does
not fit): the command line prints its message in one line and exits with status 2. Any other
exception is a bug in the package: the command line lets it show its traceback and asks for a
report.
"""


class UserError(Exception):
    """Something the user can fix; the message says what was wrong and what to do."""


class OptionError(UserError, ValueError):
    """An option with a value the package does not know (an engine, a budget, a field)."""
