"""`pip install -e '.[bench]'` installs everything `python -m bench` imports."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _requirement_names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=\[ ;]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}


def _imports(tree: ast.AST) -> set[str]:
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and "import " in node.value:
            # A script the benchmark runs in a child process (the outbox's SMTP server).
            try:
                modules |= _imports(ast.parse(node.value))
            except SyntaxError:
                pass
    return modules


def _imported_modules(folder: Path) -> set[str]:
    return set().union(*(_imports(ast.parse(p.read_text(encoding="utf-8"))) for p in folder.glob("*.py")))


def test_the_bench_extra_installs_every_library_the_benchmark_imports():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    installed = _requirement_names(project["dependencies"]) | _requirement_names(project["optional-dependencies"]["bench"])
    distributions = packages_distributions()
    third_party = {m for m in _imported_modules(REPO / "bench")
                   if m not in sys.stdlib_module_names and m not in ("app", "bench")}
    # A library the core dependencies bring along (asyncpg with tortoise's extras, starlette) counts.
    missing = {m for m in third_party
               if not _requirement_names(distributions.get(m, [m])) & installed}
    assert not missing
