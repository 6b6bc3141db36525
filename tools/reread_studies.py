"""Re-read every committed study under the package's rule, without retraining.

The per-seed Set5 and Set14 scores saved in ``data/studies/*.json`` are all the rule needs
(:func:`lapsrn_edu.studies.results.read`); this rewrites each file's ``decisions`` and ``verdict``
and prints every decision's sentence. ``tests/test_studies.py`` fails when a committed file's
decisions differ from what the rule gives, so run this after changing the rule or adding a result.

Usage: python tools/reread_studies.py [FOLDER]
"""

from __future__ import annotations

import sys
from pathlib import Path

from lapsrn_edu.studies.results import COMMITTED, committed_results, read


def main() -> None:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else COMMITTED
    results = committed_results(folder)
    for result in results:
        read(result, results)
        result.save(folder / result.file_name)
        print(f"{result.file_name}: {result.verdict}")
        for d in result.decisions:
            print("  " + d.sentence())


if __name__ == "__main__":
    main()
