"""Splitting policy documents into cited chunks with content-hash ids.

Documents are split at their headings (``MarkdownHeaderTextSplitter``), then long
sections by size (``RecursiveCharacterTextSplitter``). A chunk's id is derived from
its content and citation (document id, title, version, section path, text), so an
unchanged chunk keeps its id across ingestions and is never embedded twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from langchain_text_splitters import MarkdownHeaderTextSplitter, RecursiveCharacterTextSplitter

from agent.knowledge.documents import KnowledgeDocument

CHUNK_SIZE = 900  # characters: comfortably under MiniLM's 256-token window
CHUNK_OVERLAP = 120
SECTION_SEPARATOR = " > "
_HEADERS = [("#", "h1"), ("##", "h2"), ("###", "h3")]
_TRAILING_SPACES = re.compile(r"[ \t]+\n")


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    title: str
    section: str
    version: str
    effective_date: str
    source: str
    text: str

    @property
    def content_hash(self) -> str:
        return self.chunk_id.rsplit(":", 1)[1]

    def embedding_text(self) -> str:
        """What is embedded: the section path gives a short chunk its context."""
        return embedding_text(self.section, self.text)

    def metadata(self) -> dict[str, str]:
        return {
            "doc_id": self.doc_id,
            "title": self.title,
            "section": self.section,
            "version": self.version,
            "effective_date": self.effective_date,
            "source": self.source,
            "content_hash": self.content_hash,
        }


def embedding_text(section: str, text: str) -> str:
    return f"{section}\n\n{text}"


def content_hash(doc_id: str, title: str, version: str, section: str, text: str) -> str:
    payload = json.dumps([doc_id, title, version, section, text], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def _section_path(document: KnowledgeDocument, headers: dict[str, str]) -> str:
    parts = [headers[key] for _, key in _HEADERS if headers.get(key)]
    if not parts or parts[0] != document.title:
        parts.insert(0, document.title)
    return SECTION_SEPARATOR.join(parts)


def chunk_document(
    document: KnowledgeDocument,
    chunk_size: int = CHUNK_SIZE,
    chunk_overlap: int = CHUNK_OVERLAP,
) -> list[Chunk]:
    by_heading = MarkdownHeaderTextSplitter(headers_to_split_on=_HEADERS, strip_headers=True)
    by_size = RecursiveCharacterTextSplitter(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
    chunks: dict[str, Chunk] = {}
    for section_doc in by_heading.split_text(document.body):
        section = _section_path(document, section_doc.metadata)
        for piece in by_size.split_text(section_doc.page_content):
            text = _TRAILING_SPACES.sub("\n", piece).strip()
            if not text:
                continue
            digest = content_hash(document.doc_id, document.title, document.version, section, text)
            chunk_id = f"{document.doc_id}:{digest}"
            chunks.setdefault(  # the same text twice in one section is kept once
                chunk_id,
                Chunk(
                    chunk_id=chunk_id,
                    doc_id=document.doc_id,
                    title=document.title,
                    section=section,
                    version=document.version,
                    effective_date=document.effective_date.isoformat(),
                    source=document.path.name,
                    text=text,
                ),
            )
    return list(chunks.values())


def chunk_documents(documents: Iterable[KnowledgeDocument]) -> list[Chunk]:
    return [chunk for document in documents for chunk in chunk_document(document)]
