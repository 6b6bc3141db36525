"""Write the course's measured run times into the texts that state them.

A default-mode run of the course (``make``, on a quiet machine) writes ``build/run_times.json``.
Commit it as ``lapsrn_edu/course/run_times.json`` (``--take build/run_times.json``; a second file
of a partial run, ``--only``, replaces just its lessons), then this script puts each lesson's time
into its header, lesson 00's course map and the lecturer's guide, and the total into lesson 00 and
the README; ``tests/test_notebooks.py`` fails when any of them disagrees with the file. Run
``make notebooks`` afterwards to sync the notebooks with their sources.

Usage: python tools/course_times.py [--take RUN_TIMES.json ...]
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from lapsrn_edu.course import answer_key
from lapsrn_edu.course import build as course

SOURCES = course.REPO_ROOT / "tools" / "notebooks"
README = course.REPO_ROOT / "README.md"
HEADER = re.compile(r"\*\*Expected run time\*\* on a (?:2-core )?laptop CPU: (?:under a minute|about \d+ (?:minutes?|seconds)|RUNTIME\d\d)")


def take(files: list[Path]) -> dict:
    """Merge measured runs into the committed record; a later file's lessons replace earlier ones."""
    record = json.loads(course.RUN_TIMES.read_text(encoding="utf-8")) if course.RUN_TIMES.is_file() else {"seconds": {}}
    runs = []
    for path in files:
        measured = json.loads(path.read_text(encoding="utf-8"))
        if measured["mode"] != "default" or not measured["ok"]:
            raise SystemExit(f"{path}: not a successful default-mode run")
        record["seconds"].update(measured["seconds"])
        runs.append(f"{measured['date']} ({', '.join(sorted(measured['seconds']))})")
        record.update(mode="default", machine=measured["machine"], ok=True)
    record["runs"] = record.get("runs", []) + runs
    record.pop("date", None)
    course.RUN_TIMES.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record


def state(record: dict) -> None:
    seconds = record["seconds"]
    guide = answer_key.GUIDE.read_text(encoding="utf-8")
    welcome = SOURCES / "00_welcome.md"
    for source in sorted(SOURCES.glob("[0-9][0-9]_*.md")):
        stated = course.stated_run_time(seconds[source.stem])
        text = source.read_text(encoding="utf-8")
        text, found = HEADER.subn(f"**Expected run time** on a 2-core laptop CPU: {stated}", text, count=1)
        if not found:
            raise SystemExit(f"{source.name}: no '**Expected run time** on a laptop CPU: ...' sentence to update")
        source.write_text(text, encoding="utf-8")
        number = source.stem[:2]
        guide = re.sub(rf"^(\| {number} [^|]*\| )[^|]*( \|)", rf"\g<1>{stated}\g<2>", guide, count=1, flags=re.M)
    answer_key.GUIDE.write_text(guide, encoding="utf-8")
    course_map = welcome.read_text(encoding="utf-8")  # after the loop: lesson 00's header was rewritten in it
    for stem, spent in seconds.items():
        course_map = re.sub(rf"^(\| {stem[:2]} [^|]*\|[^|]*\| )[^|]*( \|)$", rf"\g<1>{course.stated_run_time(spent)}\g<2>",
                            course_map, count=1, flags=re.M)
    total = course.stated_run_time(sum(seconds.values()))
    course_map = re.sub(r"The whole course: [^,;]*? on a 2-core", f"The whole course: {total} on a 2-core", course_map)
    welcome.write_text(course_map, encoding="utf-8")
    README.write_text(re.sub(r"the whole course takes (?:about \d+ minutes|-)", f"the whole course takes {total}",
                             README.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"{len(seconds)} lessons, {total} in all")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--take", type=Path, nargs="*", default=[], help="run_times.json files of measured default-mode runs")
    args = parser.parse_args()
    record = take(args.take) if args.take else json.loads(course.RUN_TIMES.read_text(encoding="utf-8"))
    state(record)


if __name__ == "__main__":
    main()
