"""The floor plan holds: each layer imports only from the layers below it (see the README's layout).

Read from the source (every ``import`` and ``from ... import``, also inside functions), so a lazy import
cannot sneak a dependency past the rule.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: Layer -> the project packages it must never import.
FORBIDDEN = {
    "catalog": {"quality", "anonymisation", "stages", "assets", "pipelines"},
    "anonymisation": {"catalog", "quality", "stages", "assets", "pipelines"},
    "quality": {"anonymisation", "stages", "assets", "pipelines"},
    "stages": {"assets", "pipelines"},
    "assets": {"pipelines"},
}


def imports(package: str) -> list[tuple[str, str]]:
    """Return ``(file, imported module)`` for every absolute import in a package's modules."""
    found = []
    for path in sorted((REPO / package).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(REPO)), alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((str(path.relative_to(REPO)), node.module))
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(package):
    offenders = [
        f"{file} imports {module}" for file, module in imports(package) if module.split(".")[0] in FORBIDDEN[package]
    ]
    assert offenders == []


def test_every_package_of_the_project_has_a_rule_or_is_the_top():
    packages = {p.name for p in REPO.iterdir() if (p / "__init__.py").is_file() and p.name != "tests"}
    assert packages == set(FORBIDDEN) | {"pipelines"}


#: The only modules below ``pipelines/`` that read the environment: the settings, and the fetcher for the
#: credential variables a source's spec names itself.
ENVIRONMENT_READERS = {"catalog/settings.py", "catalog/fetch.py"}


def test_only_the_settings_module_reads_the_environment():
    readers = set()
    for package in sorted(FORBIDDEN):
        for path in (REPO / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "putenv"):
                    readers.add(str(path.relative_to(REPO)))
    assert readers == ENVIRONMENT_READERS
