from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from agent.knowledge.documents import KnowledgeDocument, KnowledgeDocumentError, load_documents

REQUIRED_TOPICS = {
    "payments",
    "promise-to-pay",
    "due-date-change",
    "deferral",
    "late-fees-and-waivers",
    "hardship-help",
    "disputes",
    "fraud-and-identity-theft",
    "legal-and-bankruptcy",
    "contact-preferences-and-hours",
    "privacy-and-data-use",
    "complaints",
    "ai-assistant",
    "faq",
}


def test_the_demo_lenders_documents_cover_every_required_topic(
    real_documents: list[KnowledgeDocument],
) -> None:
    ids = {d.doc_id for d in real_documents}
    assert ids >= REQUIRED_TOPICS
    for document in real_documents:
        assert document.title and document.version
        assert isinstance(document.effective_date, date)
        assert document.body.startswith(f"# {document.title}"), document.path


def test_documents_speak_of_harbor_and_never_of_collections_threats(
    real_documents: list[KnowledgeDocument],
) -> None:
    text = " ".join(d.body.lower() for d in real_documents)
    assert "harbor consumer finance" in text
    for word in ("debtor", "delinquent", "collection agency", "you must pay immediately"):
        assert word not in text


def test_a_valid_document_is_parsed(write_doc) -> None:
    path = write_doc("late-fees", "## Grace\nTen days of grace.", title="Late fees")
    (document,) = load_documents(path.parent)
    assert document.doc_id == "late-fees"
    assert document.title == "Late fees"
    assert document.version == "1.0"
    assert document.effective_date == date(2026, 1, 1)
    assert "Ten days of grace." in document.body
    assert document.path == path


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("# No front matter\n\nBody.\n", "no front matter"),
        ("---\nid: [unclosed\n---\n\nBody.\n", "not valid YAML"),
        ("---\n- a list\n---\n\nBody.\n", "must be a YAML mapping"),
        ("---\nid: x-doc\ntitle: X\n---\n\nBody.\n", "lacks version, effective_date"),
        (
            "---\nid: Bad_Id\ntitle: X\nversion: '1'\neffective_date: 2026-01-01\n---\n\nBody.\n",
            "'id'",
        ),
        (
            "---\nid: x-doc\ntitle: X\nversion: 1.0\neffective_date: 2026-01-01\n---\n\nBody.\n",
            "'version' must be a quoted string",
        ),
        (
            "---\nid: x-doc\ntitle: X\nversion: '1'\neffective_date: 01/02/2026\n---\n\nBody.\n",
            "'effective_date' must be a date",
        ),
        (
            "---\nid: x-doc\ntitle: ''\nversion: '1'\neffective_date: 2026-01-01\n---\n\nBody.\n",
            "'title' must be a non-empty string",
        ),
        (
            "---\nid: x-doc\ntitle: X\nversion: '1'\neffective_date: 2026-01-01\nowner: me\n"
            "---\n\nBody.\n",
            "unknown field(s) owner",
        ),
        (
            "---\nid: x-doc\ntitle: X\nversion: '1'\neffective_date: 2026-01-01\n---\n\n  \n",
            "no content",
        ),
        ("", "the file is empty"),
    ],
)
def test_a_malformed_document_is_refused_naming_the_file(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "broken.md"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(KnowledgeDocumentError) as caught:
        load_documents(tmp_path)
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)
    assert caught.value.paths == (path,)


def test_a_non_utf8_file_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.md"
    text = "---\nid: x-doc\ntitle: Frais\nversion: '1'\neffective_date: 2026-01-01\n---\n\nDéjà.\n"
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(KnowledgeDocumentError, match="not UTF-8") as caught:
        load_documents(tmp_path)
    assert str(path) in str(caught.value)


def test_every_problem_is_reported_at_once(write_doc, tmp_path: Path) -> None:
    good = write_doc("good-doc", "Fine.")
    (tmp_path / "knowledge" / "empty.md").write_text("", encoding="utf-8")
    (tmp_path / "knowledge" / "nofront.md").write_text("Just text.\n", encoding="utf-8")
    with pytest.raises(KnowledgeDocumentError) as caught:
        load_documents(good.parent)
    message = str(caught.value)
    assert message.startswith("2 problems")
    assert "empty.md" in message and "nofront.md" in message
    assert "good-doc.md" not in message


def test_duplicate_ids_name_both_files(write_doc) -> None:
    first = write_doc("same-id", "One.", filename="a.md")
    second = write_doc("same-id", "Two.", filename="b.md")
    with pytest.raises(KnowledgeDocumentError, match="also used by") as caught:
        load_documents(first.parent)
    assert set(caught.value.paths) == {first, second}


def test_an_empty_or_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeDocumentError, match="no Markdown documents"):
        load_documents(tmp_path)
    with pytest.raises(KnowledgeDocumentError, match="not found"):
        load_documents(tmp_path / "missing")
