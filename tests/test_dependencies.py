"""The direction of dependencies (../shared/spec/ARCHITECTURE.md), read from every
module's imports with ``ast``: a module-level import and one inside a function count
alike."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
AGENT = ROOT / "agent"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    """(line, imported module) for every import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:  # "from agent.engine import offline"
                yield node.lineno, f"{module}.{alias.name}"


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _sources(under: Path) -> list[Path]:
    return sorted(p for p in under.rglob("*.py") if "__pycache__" not in p.parts)


# (who: a package under agent/, or "agent" for all of it; what it must not import; why)
RULES: list[tuple[str, tuple[str, ...], str]] = [
    (
        "agent.language",
        (
            "agent.engine",
            "agent.tools",
            "agent.guardrails",
            "agent.conversation",
            "agent.ledger",
            "agent.knowledge",
            "agent.audit",
            "agent.evaluation",
            "agent.drafting",
            "agent.learning",
            "agent.db",
            "agent.runtime",
            "agent.settings",
            "agent.cli",
            "web",
            "fastapi",
            "langchain",
            "langchain_core",
            "langgraph",
            "sqlmodel",
            "sqlalchemy",
        ),
        "agent/language imports nothing above agent/policy",
    ),
    (
        "agent.policy",
        ("sqlmodel", "sqlalchemy", "langchain", "langchain_core", "langgraph", "agent.db"),
        "agent/policy is pure: no database, no LangChain",
    ),
    ("agent.engine", ("agent.conversation",), "the engine imports nothing from the conversation"),
    ("agent", ("web", "fastapi", "starlette"), "nothing in agent/ imports web/ or FastAPI"),
]


def _violations(package: str, forbidden: tuple[str, ...]) -> list[str]:
    under = AGENT.joinpath(*package.split(".")[1:])
    found = []
    for path in _sources(under):
        for line, module in _imports(path):
            if any(_within(module, banned) for banned in forbidden):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return sorted(set(found))


@pytest.mark.parametrize(("package", "forbidden", "why"), RULES, ids=[r[0] for r in RULES])
def test_direction_of_dependencies(package: str, forbidden: tuple[str, ...], why: str) -> None:
    found = _violations(package, forbidden)
    assert not found, f"{why}:\n  " + "\n  ".join(found)


def test_only_the_engine_reaches_into_the_offline_engine() -> None:
    found = []
    for path in _sources(AGENT):
        if _within(_module_name(path), "agent.engine"):
            continue
        for line, module in _imports(path):
            if _within(module, "agent.engine.offline"):
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not found, "nothing outside agent/engine imports agent.engine.offline:\n  " + (
        "\n  ".join(sorted(set(found)))
    )


def test_the_checker_sees_imports() -> None:
    """The rules above would pass vacuously if the parser saw nothing."""
    imports = {m for _, m in _imports(AGENT / "engine" / "offline" / "understanding.py")}
    assert "agent.language.dates" in imports
    assert "agent.engine.offline.intents.IntentMatcher" in imports
    relative = ROOT / "agent" / "language" / "__init__.py"
    assert _module_name(relative) == "agent.language"
