from __future__ import annotations

import dataclasses

from agent.knowledge.chunking import CHUNK_SIZE, chunk_document, chunk_documents
from agent.knowledge.documents import KnowledgeDocument, load_documents


def _doc(write_doc, body: str, **front: str) -> KnowledgeDocument:
    (document,) = load_documents(write_doc("fees", body, title="Fees", **front).parent)
    return document


def test_chunks_follow_headings_and_carry_their_citation(write_doc) -> None:
    document = _doc(
        write_doc,
        """
        Intro line.

        ## Late fee
        A late fee applies.

        ### Waivers
        Ask us about a waiver.
        """,
        version='"2.1"',
    )
    chunks = chunk_document(document)
    assert [c.section for c in chunks] == ["Fees", "Fees > Late fee", "Fees > Late fee > Waivers"]
    assert [c.text for c in chunks] == [
        "Intro line.",
        "A late fee applies.",
        "Ask us about a waiver.",
    ]
    for chunk in chunks:
        assert chunk.doc_id == "fees" and chunk.title == "Fees" and chunk.version == "2.1"
        assert chunk.chunk_id.startswith("fees:")
        assert chunk.metadata()["section"] == chunk.section
        assert chunk.embedding_text().startswith(chunk.section)


def test_chunk_ids_depend_only_on_content_and_citation(write_doc) -> None:
    body = "## A\nFirst section.\n\n## B\nSecond section."
    before = chunk_document(_doc(write_doc, body))
    again = chunk_document(_doc(write_doc, body))
    assert [c.chunk_id for c in before] == [c.chunk_id for c in again]

    edited = chunk_document(_doc(write_doc, body.replace("Second", "Changed")))
    assert edited[0].chunk_id == before[0].chunk_id
    assert edited[1].chunk_id != before[1].chunk_id

    new_version = chunk_document(_doc(write_doc, body, version='"2"'))
    assert not {c.chunk_id for c in new_version} & {c.chunk_id for c in before}


def test_a_long_section_is_split_by_size(write_doc) -> None:
    sentences = " ".join(f"Sentence number {i} explains a rule." for i in range(120))
    chunks = chunk_document(_doc(write_doc, f"## Long\n{sentences}"))
    assert len(chunks) > 3
    assert all(len(c.text) <= CHUNK_SIZE for c in chunks)
    assert {c.section for c in chunks} == {"Fees > Long"}
    assert len({c.chunk_id for c in chunks}) == len(chunks)


def test_identical_text_in_one_section_is_kept_once(write_doc) -> None:
    document = _doc(write_doc, "## A\nSame.")
    twice = dataclasses.replace(document, body="# Fees\n\n## A\nSame.\n\n## A\nSame.")
    assert len(chunk_document(twice)) == 1


def test_the_real_corpus_chunks_are_small_enough_to_embed_whole(real_documents) -> None:
    chunks = chunk_documents(real_documents)
    assert len(chunks) >= 3 * len(real_documents)
    assert all(0 < len(c.text) <= CHUNK_SIZE for c in chunks)
    assert len({c.chunk_id for c in chunks}) == len(chunks)
