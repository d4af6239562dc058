"""Every core dependency in pyproject.toml is one svckit imports: none is carried for nothing."""

from __future__ import annotations

import ast
import re
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported_top_level_modules(package: Path) -> set[str]:
    modules: set[str] = set()
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                modules.add(node.module.partition(".")[0])
    return modules


def test_every_core_dependency_is_imported_somewhere_in_svckit() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {
        _normalise(match.group(0))
        for requirement in project["dependencies"]
        if (match := re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement))
    }
    distributions = packages_distributions()
    imported = {
        _normalise(distribution)
        for module in _imported_top_level_modules(ROOT / "src" / "svckit")
        for distribution in distributions.get(module, [])
    }

    assert declared - imported == set(), "declared as core dependencies but never imported"
