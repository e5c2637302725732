"""The layout's promise, checked on every run: imports only go down the layers (docs: README,
"Layout"), and the public schemas know nothing of the SQL."""

import ast
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

APP = REPO_ROOT / "app"
# What each package of app/ may import from app/ (besides itself). The bottom: errors, config,
# observability and domain import nothing of the layers above them.
ALLOWED = {
    "api": {"services", "models", "domain", "errors", "config", "observability", "db"},
    "services": {"stores", "db", "domain", "models", "errors", "config", "observability"},
    "stores": {"db", "domain", "errors"},
    "db": {"errors", "observability"},
    "models": {"domain", "errors"},
    "domain": set(),
    "observability": set(),
}


def imported_app_packages(path: Path) -> set[str]:
    """The top-level packages of app/ that a module imports (app.x.y -> x)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    modules: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.append(node.module)
        elif isinstance(node, ast.Import):
            modules.extend(alias.name for alias in node.names)
    return {module.split(".")[1] for module in modules if module.startswith("app.")}


def modules_of(package: str) -> list[Path]:
    return sorted((APP / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_only_go_down_the_layers(package: str) -> None:
    upward = {
        str(path.relative_to(REPO_ROOT)): sorted(imported - ALLOWED[package] - {package})
        for path in modules_of(package)
        if (imported := imported_app_packages(path)) - ALLOWED[package] - {package}
    }
    assert upward == {}


def test_api_reaches_the_database_only_to_hand_it_to_services() -> None:
    """Routers never run SQL: only the dependencies module knows the Database type."""
    users = [
        str(path.relative_to(REPO_ROOT))
        for path in modules_of("api")
        if "db" in imported_app_packages(path)
    ]
    assert users == ["app/api/deps.py"]


def test_the_checks_see_every_package_of_app() -> None:
    packages = {path.name for path in APP.iterdir() if (path / "__init__.py").exists()}
    assert packages - {"dashboard"} == set(ALLOWED)
    assert all(modules_of(package) for package in ALLOWED)
