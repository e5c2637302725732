"""The docs and the code say the same thing: every file the docs name exists, the commands they
give run outside an activated virtual environment, the indexes migration 0004 drops are the
ones docs/performance.md names, the request log line is documented with every field it has,
and every answer in /docs comes with an example (docs/ingestion.md promises it)."""

import re

from app.config import Settings
from app.main import create_app
from tests.app_logs import REQUEST_LOGGER
from tests.conftest import REPO_ROOT, make_settings
from tests.helpers import UNUSED_DSN

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
REPO_PATH = re.compile(r"`((?:app|scripts|supabase|docs|tests)/[^`\s]*)`")
PLACEHOLDER = re.compile(r"[*<>{}]|NNNN")
COMPONENT = re.compile(r"#/components/schemas/(\w+)")
LOGGED_FIELDS = ("request_id", "method", "route", "status", "latency_ms", "key_id")


def test_every_repository_path_the_docs_name_exists() -> None:
    missing = [
        f"{doc.name}: {path}"
        for doc in DOCS
        for match in REPO_PATH.finditer(doc.read_text())
        if not PLACEHOLDER.search(path := match[1].rstrip("/.,"))
        and not (REPO_ROOT / path).exists()
    ]

    assert missing == []


def test_cli_commands_in_the_docs_name_the_virtual_environments_python() -> None:
    bare = [
        f"{doc.name}: {line.strip()}"
        for doc in DOCS
        for line in doc.read_text().splitlines()
        if re.search(r"(?<![/\w])python -m app\b", line) and "app/cli.py" not in line
    ]

    assert bare == []


def test_performance_doc_names_every_index_migration_0004_drops() -> None:
    migration = (REPO_ROOT / "supabase/migrations/0004_event_indexes.sql").read_text()
    dropped = re.findall(r"DROP INDEX IF EXISTS public\.(\w+);", migration)
    performance = (REPO_ROOT / "docs/performance.md").read_text()

    assert len(dropped) == 4
    for index in dropped:
        assert f"`{index}`" in performance, index


def test_the_documented_request_log_line_has_every_field_the_app_logs() -> None:
    operations = (REPO_ROOT / "docs/operations.md").read_text()
    ingestion = (REPO_ROOT / "docs/ingestion.md").read_text()
    [example] = re.findall(r'```json\n(\{"time".*?)```', operations, re.DOTALL)

    assert f'"logger": "{REQUEST_LOGGER}"' in example
    for field in LOGGED_FIELDS:
        assert f'"{field}"' in example, field
        assert f"`{field}`" in ingestion.split("## Observability")[1], field


def test_every_successful_answer_in_the_schema_has_an_example() -> None:
    schema = create_app(make_settings(UNUSED_DSN)).openapi()
    components = schema["components"]["schemas"]
    without = sorted(
        f"{method.upper()} {path}: {name}"
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        for status, answer in operation["responses"].items()
        if status.startswith("2")
        for content in answer.get("content", {}).values()
        for name in COMPONENT.findall(str(content.get("schema", {})))
        if "example" not in components[name] and "examples" not in components[name]
    )

    assert without == []


def test_the_readme_gives_every_settings_upper_bound() -> None:
    readme = " ".join((REPO_ROOT / "README.md").read_text().split())
    bounds = {
        name: bound.le
        for name, field in Settings.model_fields.items()
        for bound in field.metadata
        if getattr(bound, "le", None) is not None
    }
    [listed] = re.findall(r"Upper bounds \(.*?\): (.*?)\.(?: |$)", readme)
    documented = {
        name: float(value.replace(",", ""))
        for name, value in re.findall(r"`(\w+)` ([\d,.]+)", listed)
    }

    assert documented == {name: float(bound) for name, bound in bounds.items()}
