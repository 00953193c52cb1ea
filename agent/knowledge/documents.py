"""Policy documents in ``knowledge/``: Markdown files with YAML front matter.

Each file starts with a front matter block::

    ---
    id: late-fees-and-waivers
    title: Late fees and fee waivers
    version: "1.0"
    effective_date: 2026-01-01
    ---

``load_documents`` validates every file of a directory before returning any of them,
so that ingestion never writes a half-valid knowledge base.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import yaml

REQUIRED_FIELDS = ("id", "title", "version", "effective_date")
OPTIONAL_FIELDS = ("summary",)
DOC_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


class KnowledgeDocumentError(ValueError):
    """One or more policy documents cannot be used; the message names each file."""

    def __init__(self, message: str, paths: Iterable[Path] = ()) -> None:
        super().__init__(message)
        self.paths: tuple[Path, ...] = tuple(paths)


@dataclass(frozen=True)
class KnowledgeDocument:
    doc_id: str
    title: str
    version: str
    effective_date: date
    body: str
    path: Path
    summary: str | None = None


def _problem(path: Path, reason: str) -> KnowledgeDocumentError:
    return KnowledgeDocumentError(f"{path}: {reason}", [path])


def _version(value: object, path: Path) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _problem(path, "front matter 'version' must be a quoted string such as \"1.0\"")
    text = str(value).strip()
    if not text:
        raise _problem(path, "front matter 'version' is empty")
    return text


def _effective_date(value: object, path: Path) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _problem(path, "front matter 'effective_date' must be a date written YYYY-MM-DD")


def _text_field(meta: dict, name: str, path: Path) -> str:
    value = meta[name]
    if not isinstance(value, str) or not value.strip():
        raise _problem(path, f"front matter '{name}' must be a non-empty string")
    return value.strip()


def parse_document(text: str, path: Path) -> KnowledgeDocument:
    """Parse one document's text; raise :class:`KnowledgeDocumentError` naming ``path``."""
    text = text.removeprefix("\ufeff")
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise _problem(path, "no front matter: the file must start with a '---' YAML block")
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise _problem(path, f"front matter is not valid YAML: {exc}") from exc
    if not isinstance(meta, dict):
        raise _problem(path, "front matter must be a YAML mapping")
    missing = [name for name in REQUIRED_FIELDS if name not in meta]
    if missing:
        raise _problem(path, f"front matter lacks {', '.join(missing)}")
    unknown = sorted(set(meta) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        raise _problem(path, f"front matter has unknown field(s) {', '.join(map(str, unknown))}")

    doc_id = meta["id"]
    if not isinstance(doc_id, str) or not DOC_ID_PATTERN.match(doc_id):
        raise _problem(path, f"front matter 'id' {doc_id!r} must be lowercase letters, digits, '-'")
    summary = meta.get("summary")
    if summary is not None and not isinstance(summary, str):
        raise _problem(path, "front matter 'summary' must be a string")
    body = text[match.end() :].strip()
    if not body:
        raise _problem(path, "the document has no content after its front matter")
    return KnowledgeDocument(
        doc_id=doc_id,
        title=_text_field(meta, "title", path),
        version=_version(meta["version"], path),
        effective_date=_effective_date(meta["effective_date"], path),
        body=body,
        path=path,
        summary=summary,
    )


def read_document(path: Path) -> KnowledgeDocument:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise _problem(path, f"cannot be read: {exc.strerror or exc}") from exc
    if not raw.strip():
        raise _problem(path, "the file is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _problem(path, f"is not UTF-8 text (byte {exc.start})") from exc
    return parse_document(text, path)


def load_documents(directory: Path) -> list[KnowledgeDocument]:
    """Every ``*.md`` document under ``directory``, all validated, sorted by id.

    Raises one :class:`KnowledgeDocumentError` listing every problem found (bad files,
    duplicate ids, an empty or missing directory); nothing is returned in that case.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise KnowledgeDocumentError(f"{directory}: knowledge directory not found", [directory])
    paths = sorted(p for p in directory.rglob("*.md") if p.is_file())
    if not paths:
        raise KnowledgeDocumentError(f"{directory}: no Markdown documents found", [directory])

    documents: list[KnowledgeDocument] = []
    problems: list[KnowledgeDocumentError] = []
    for path in paths:
        try:
            documents.append(read_document(path))
        except KnowledgeDocumentError as exc:
            problems.append(exc)
    seen: dict[str, Path] = {}
    for document in documents:
        first = seen.get(document.doc_id)
        if first is not None:
            problems.append(
                KnowledgeDocumentError(
                    f"{document.path}: id '{document.doc_id}' is also used by {first}",
                    [document.path, first],
                )
            )
        else:
            seen[document.doc_id] = document.path
    if problems:
        message = "\n".join(str(p) for p in problems)
        if len(problems) > 1:
            message = f"{len(problems)} problems in the knowledge documents:\n{message}"
        raise KnowledgeDocumentError(message, [path for p in problems for path in p.paths])
    return sorted(documents, key=lambda d: d.doc_id)
