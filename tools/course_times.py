"""Write the course's measured run times into the texts that state them.

A default-mode run of the course (``make``, on a quiet machine) writes ``build/run_times.json``;
a quick-mode run (``lapsrn-edu course --quick --out DIR``) writes ``DIR/run_times.json`` with
``"mode": "quick"``. Commit either into ``lapsrn_edu/course/run_times.json`` (``--take FILE``; a
default-mode file's times are the record's ``seconds``, a quick-mode file's go under its
``"quick"`` key; a file of a partial run, ``--only``, replaces just its lessons). Then this script
puts each lesson's default time into its header, lesson 00's course map and the lecturer's guide,
the total into lesson 00 and the README, and each lesson's quick-mode time into its header's
"quick mode: ..."; ``tests/test_notebooks.py`` fails when any of them disagrees with the file.
``--lessons 00,03`` writes only those lessons' files (the guide, the course map and the README
are always brought up to date); a file is written only where its text changes. Run ``make
notebooks`` afterwards to sync the notebooks with their sources.

Usage: python tools/course_times.py [--take RUN_TIMES.json ...] [--lessons NN,NN]
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
HEADER = re.compile(
    r"\*\*Expected run time\*\* on a (?:2-core )?laptop CPU: (?:under a minute|about \d+ "
    r"(?:minutes?|seconds)|RUNTIME\d\d)"
)
QUICK = re.compile(
    r"quick(\s+)mode: (?:under a minute|about \d+(?:\.\d+)? (?:minutes?|seconds)|not(?:\s+)measured(?:\s+)yet)"
)


def take(files: list[Path]) -> dict:
    """Merge measured runs into the committed record; a later file's lessons replace earlier ones."""
    record = json.loads(course.RUN_TIMES.read_text(encoding="utf-8")) if course.RUN_TIMES.is_file() else {"seconds": {}}
    for path in files:
        measured = json.loads(path.read_text(encoding="utf-8"))
        if measured["mode"] not in ("default", "quick") or not measured["ok"]:
            raise SystemExit(f"{path}: not a successful default-mode or quick-mode run")
        run = f"{measured['date']} ({', '.join(sorted(measured['seconds']))})"
        if measured["mode"] == "quick":
            quick = record.setdefault("quick", {"mode": "quick", "seconds": {}, "runs": []})
            quick["seconds"].update(measured["seconds"])
            quick["seconds"] = dict(sorted(quick["seconds"].items()))
            quick.update(machine=measured["machine"], ok=True, runs=quick.get("runs", []) + [run])
        else:
            record["seconds"].update(measured["seconds"])
            record.update(mode="default", machine=measured["machine"], ok=True)
            record["runs"] = record.get("runs", []) + [run]
    record.pop("date", None)
    course.RUN_TIMES.write_text(json.dumps(record, indent=1) + "\n", encoding="utf-8")
    return record


def write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` only where it changes the file."""
    if path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")
        print(f"updated {path.relative_to(course.REPO_ROOT)}")


def state(record: dict, lessons: set[str] | None = None) -> None:
    seconds = record["seconds"]
    quick = record.get("quick", {}).get("seconds", {})
    guide = answer_key.GUIDE.read_text(encoding="utf-8")
    welcome = SOURCES / "00_welcome.md"
    for source in sorted(SOURCES.glob("[0-9][0-9]_*.md")):
        stated = course.stated_run_time(seconds[source.stem])
        number = source.stem[:2]
        guide = re.sub(rf"^(\| {number} [^|]*\| )[^|]*( \|)", rf"\g<1>{stated}\g<2>", guide, count=1, flags=re.M)
        if lessons is not None and number not in lessons:
            continue
        text = source.read_text(encoding="utf-8")
        text, found = HEADER.subn(f"**Expected run time** on a 2-core laptop CPU: {stated}", text, count=1)
        if not found:
            raise SystemExit(f"{source.name}: no '**Expected run time** on a laptop CPU: ...' sentence to update")
        if source.stem in quick:
            text, found = QUICK.subn(rf"quick\g<1>mode: {course.stated_quick_time(quick[source.stem])}", text, count=1)
            if not found:
                raise SystemExit(f"{source.name}: no 'quick mode: about ...' in its header to update")
        write(source, text)
    write(answer_key.GUIDE, guide)
    course_map = welcome.read_text(encoding="utf-8")  # after the loop: lesson 00's header was rewritten in it
    for stem, spent in seconds.items():
        course_map = re.sub(
            rf"^(\| {stem[:2]} [^|]*\|[^|]*\| )[^|]*( \|)$",
            rf"\g<1>{course.stated_run_time(spent)}\g<2>",
            course_map,
            count=1,
            flags=re.M,
        )
    total = course.stated_run_time(sum(seconds.values()))
    course_map = re.sub(r"The whole course: [^,;]*? on a 2-core", f"The whole course: {total} on a 2-core", course_map)
    write(welcome, course_map)
    readme, found = re.subn(
        r"the\s+whole\s+course\s+takes\s+(?:about\s+\d+\s+minutes|-)",
        f"the whole course takes {total}",
        README.read_text(encoding="utf-8"),
        count=1,
    )
    if not found:
        raise SystemExit("README.md: no 'the whole course takes about N minutes' sentence to update")
    write(README, readme)
    print(f"{len(seconds)} lessons, {total} in all; quick mode measured for {len(quick)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--take", type=Path, nargs="*", default=[], help="run_times.json files of measured default- or quick-mode runs"
    )
    parser.add_argument(
        "--lessons", help="comma-separated lesson numbers whose files to write, e.g. 00,03 (default: all)"
    )
    args = parser.parse_args()
    record = take(args.take) if args.take else json.loads(course.RUN_TIMES.read_text(encoding="utf-8"))
    state(record, set(args.lessons.split(",")) if args.lessons else None)


if __name__ == "__main__":
    main()
