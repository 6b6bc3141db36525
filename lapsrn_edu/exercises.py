"""Exercise checks for the course notebooks: a verdict in words, never a traceback.

Every exercise in a notebook is three cells: the exercise (a function whose body raises
``NotImplementedError`` with a TODO), its solution (hidden; it replaces the student's function
only when the notebook's ``SOLUTIONS`` parameter is True), and a check::

    check("Exercise 2.1", lambda: assert_close(bilinear_1d(2), [0.25, 0.75, 0.75, 0.25]), strict=SOLUTIONS)

With ``strict`` (the executed copies, where the solutions are in place) a failing check raises,
so CI notices when a solution and its check drift apart.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


class ExerciseFailed(AssertionError):
    """A solution that does not pass its own check (raised only in strict mode)."""


def check(name: str, test: Callable[[], object], strict: bool = False) -> None:
    """Run ``test``; print whether the exercise is done, wrong (and why), or not attempted yet."""
    try:
        test()
    except NotImplementedError as exc:
        message = f"{name}: not attempted yet ({exc}). Fill in the TODO, or set SOLUTIONS = True in the parameters cell."
        if strict:
            raise ExerciseFailed(message) from exc
        print(message)
        return
    except AssertionError as exc:
        message = f"{name}: not quite. {exc}"
        if strict:
            raise ExerciseFailed(message) from exc
        print(message)
        return
    print(f"{name}: correct!")


def assert_close(actual: object, expected: object, what: str = "your result", rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Assert two arrays (or numbers, or tensors) agree, with a message a student can act on."""
    a = np.asarray(actual.detach().cpu() if hasattr(actual, "detach") else actual, dtype=np.float64)
    e = np.asarray(expected.detach().cpu() if hasattr(expected, "detach") else expected, dtype=np.float64)
    if a.shape != e.shape:
        raise AssertionError(f"{what} has shape {a.shape}, expected {e.shape}")
    if not np.allclose(a, e, rtol=rtol, atol=atol):
        worst = float(np.max(np.abs(a - e)))
        raise AssertionError(f"{what} differs from the expected values (largest difference {worst:.3g})")
