"""Policy knowledge: local embeddings, ingestion of ``knowledge/`` into Chroma, cited retrieval."""
