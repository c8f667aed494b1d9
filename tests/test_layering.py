"""The import direction of shared/design/architecture.md, checked over every import statement.

For each package, the set of our packages its modules import (anywhere in a module: at the top, inside
functions, under TYPE_CHECKING) must lie within what the design allows. Arrows point down; nothing
imports upward, and nothing imports the command root `abordo`.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BELOW_FRONT_ENDS = {"assistant", "sql_tools", "db", "seed_data"}
ALLOWED: dict[str, set[str]] = {
    "db": set(),
    "sql_tools": {"db"},
    "seed_data": {"db"},
    "assistant": {"sql_tools", "db"},
    "ui": BELOW_FRONT_ENDS,
    "api": BELOW_FRONT_ENDS,
    "train": BELOW_FRONT_ENDS,
    "evaluation": BELOW_FRONT_ENDS,
    "abordo": {"ui", "api", "train", "evaluation", *BELOW_FRONT_ENDS},
}
OURS = set(ALLOWED)


def imported_packages(path: Path) -> dict[str, list[int]]:
    """Our top-level packages that one module imports -> the line numbers that import them."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: dict[str, list[int]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue     # relative imports stay inside their package
        for name in names:
            top = name.split(".")[0]
            if top in OURS:
                found.setdefault(top, []).append(node.lineno)
    return found


def upward_imports(package: str) -> list[str]:
    """'file:line imports X' for every import of `package` that the design does not allow."""
    allowed = ALLOWED[package] | {package}
    out = []
    for path in sorted((ROOT / package).rglob("*.py")):
        for top, lines in imported_packages(path).items():
            if top not in allowed:
                out += [f"{path.relative_to(ROOT)}:{line} imports {top}" for line in lines]
    return out


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_run_down_only(package):
    assert (ROOT / package / "__init__.py").is_file(), f"{package}/ is not a package"
    assert upward_imports(package) == [], f"{package} may import only {sorted(ALLOWED[package])}"


def test_every_package_has_a_rule():
    """A new top-level package gets a line in ALLOWED (and a place in the design) before it gets code."""
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "benchmarks"}
    assert packages == OURS


if __name__ == "__main__":       # a report: python tests/test_layering.py
    for package in sorted(ALLOWED):
        for line in upward_imports(package):
            print(line)
