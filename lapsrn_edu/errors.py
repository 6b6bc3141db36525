"""The package's user errors: a closed set of exception types, all subclasses of :class:`UserError`.

A :class:`UserError` means the input was wrong (a missing file, a bad option, a model that does
not fit, a checkpoint that is not one): the command line prints its message in one line and exits
with status 2. Each also derives from the built-in type it refines (ValueError, FileNotFoundError,
OSError), so ``except ValueError`` keeps working in Python. Any other exception is a bug in the
package: the command line shows its traceback and asks for a report.
"""


def one_line(exc: BaseException, limit: int | None = None) -> str:
    """An error's message on one line (its whitespace collapsed; its type's name when it has none),
    cut at ``limit`` characters: how the command line, the exercise checks and the course build
    report an error, never as a traceback."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if limit is None or len(text) <= limit else text[:limit] + " ..."


class UserError(Exception):
    """Something the user can fix; the message says what was wrong and what to do."""


class OptionError(UserError, ValueError):
    """An option or argument with a value the package does not accept (an engine, a scale, a field)."""


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder the user named, or the package needs, is not there."""
