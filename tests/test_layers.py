"""The package's map is its rule: every import points down the rooms that ``lapsrn_edu``'s
docstring lists (or stays in its room), and no module imports itself back through others,
counting the imports inside functions."""

import ast
from pathlib import Path

import lapsrn_edu

PACKAGE = Path(lapsrn_edu.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    """Every lapsrn_edu module that ``path`` imports, anywhere in it (absolute names)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "lapsrn_edu":
                continue
            for alias in node.names:  # "from . import zoo" imports a module
                candidate = f"{target}.{alias.name}"
                found.add(candidate if candidate in MODULES else target)
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "lapsrn_edu"}
    return {m for m in found if m != name}


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def room(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "lapsrn_edu"
    return "cli" if parts[1] == "__main__" else parts[1]  # python -m lapsrn_edu is the command line


def test_the_docstring_map_names_every_room_in_order():
    rooms = {room(m) for m in MODULES} - {"lapsrn_edu"}
    order = lapsrn_edu.ROOMS
    assert set(order) == rooms, f"rooms on disk {sorted(rooms)} but the map lists {order}"
    for name in order:
        assert f"``{name}``" in lapsrn_edu.__doc__


def test_every_import_points_down_the_map():
    rank = {name: i for i, name in enumerate(lapsrn_edu.ROOMS)}
    upward = []
    for module, path in MODULES.items():
        if room(module) == "lapsrn_edu":
            continue
        for target in imports_of(path):
            if room(target) == "lapsrn_edu":  # the package's own __init__ (its version)
                continue
            if rank[room(target)] > rank[room(module)]:
                upward.append(f"{module} imports {target}")
    assert not upward, "imports that run up the map:\n" + "\n".join(sorted(upward))


def test_no_module_imports_itself_back():
    graph = {
        m: {t for t in imports_of(p) if t in MODULES and not MODULES[t].name == "__init__.py"}
        for m, p in MODULES.items()
    }
    cycles = []

    def visit(node: str, path: list[str], seen: set[str]) -> None:
        for nxt in graph.get(node, ()):
            if nxt == path[0]:
                cycles.append(" -> ".join(path + [nxt]))
            elif nxt not in seen and nxt > path[0]:  # each cycle once, from its smallest module
                seen.add(nxt)
                visit(nxt, path + [nxt], seen)

    for start in sorted(graph):
        visit(start, [start], {start})
    assert not cycles, "import circles:\n" + "\n".join(cycles)


def test_every_name_a_lesson_takes_from_a_package_module_exists():
    """``studies.X`` in a lesson (``from lapsrn_edu import studies``) and ``module.X`` of every
    ``from lapsrn_edu... import module`` exist: a renamed or unexported name fails here, not in
    the course run."""
    import importlib
    import re

    sources = Path(__file__).resolve().parent.parent / "tools" / "notebooks"
    missing = []
    for source in sorted(sources.glob("*.md")):
        text = source.read_text(encoding="utf-8")
        for package, names in re.findall(r"^from (lapsrn_edu[\w.]*) import ([\w, ]+)$", text, flags=re.M):
            for name in (n.strip().split(" as ")[-1] for n in names.split(",")):
                original = next(
                    n.strip().split(" as ")[0] for n in names.split(",") if n.strip().split(" as ")[-1] == name
                )
                try:
                    module = importlib.import_module(f"{package}.{original}")
                except ImportError:
                    continue  # a function or class, not a module
                for attribute in set(re.findall(rf"(?<![\w.]){name}\.(\w+)", text)):
                    if not hasattr(module, attribute):
                        missing.append(f"{source.name}: {name}.{attribute}")
    assert not missing, "\n".join(missing)


def test_every_import_of_the_package_outside_it_resolves():
    """Benchmarks and tools import the package, sometimes in code they hand to a child process
    as a string: each ``from lapsrn_edu... import name`` there must name something that exists
    (a benchmark that dies on a moved module measures nothing)."""
    import importlib
    import re

    root = Path(__file__).resolve().parent.parent
    broken = []
    for script in sorted([*root.glob("benchmarks/*.py"), *root.glob("tools/*.py")]):
        text = script.read_text(encoding="utf-8")
        for package, names in re.findall(r"from (lapsrn_edu[\w.]*) import ([\w, ]+)", text):
            module = importlib.import_module(package)
            for name in (n.strip().split(" as ")[0] for n in names.split(",") if n.strip()):
                if not hasattr(module, name):
                    try:
                        importlib.import_module(f"{package}.{name}")
                    except ImportError:
                        broken.append(f"{script.relative_to(root)}: from {package} import {name}")
    assert not broken, "\n".join(broken)


def stated_imports(docstring: str) -> tuple[set[str], set[str]]:
    """The rooms and outside packages a room's docstring says it imports ("Imports: a, b (why);
    outside the package: x, y.")."""
    import re

    text = re.sub(r"\s+", " ", docstring)
    stated = re.search(r"Imports: (.*?); outside the package: (.*?)\.(?: |$)", text)
    assert stated, f"no 'Imports: ...; outside the package: ...' line in {docstring!r}"
    rooms, outside = stated.groups()

    def names(listed: str) -> set[str]:
        return {n.strip() for n in re.sub(r"\(.*?\)", "", listed).split(",")}  # parentheses say why, not what

    return names(rooms), names(outside)


def test_each_room_says_what_it_imports():
    """The 'Imports:' line of each room's docstring lists exactly the rooms its modules import and
    the packages from outside the standard library they import."""
    import importlib
    import sys

    actual_rooms: dict[str, set[str]] = {}
    actual_outside: dict[str, set[str]] = {}
    for module, path in MODULES.items():
        home = room(module)
        actual_rooms.setdefault(home, set()).update(
            room(t) for t in imports_of(path) if room(t) not in (home, "lapsrn_edu")
        )
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module]
                if (isinstance(node, ast.ImportFrom) and not node.level and node.module)
                else []
            )
            actual_outside.setdefault(home, set()).update(
                top
                for top in (n.split(".")[0] for n in names)
                if top not in sys.stdlib_module_names and top != "lapsrn_edu"
            )
    wrong = []
    for name in ("imaging", "models", "data", "engine", "evaluation", "training", "studies", "course"):
        doc = importlib.import_module(f"lapsrn_edu.{name}").__doc__
        assert doc is not None, f"lapsrn_edu.{name} has no docstring"
        rooms, outside = stated_imports(doc)
        if rooms != actual_rooms.get(name, set()) or outside != actual_outside.get(name, set()):
            wrong.append(
                f"{name}: says {sorted(rooms)} and {sorted(outside)}, imports "
                f"{sorted(actual_rooms.get(name, set()))} and {sorted(actual_outside.get(name, set()))}"
            )
    assert not wrong, "\n".join(wrong)
