"""The offline servicing model: intent matching on local embeddings, slot extraction,
dialogue policy and reply templates, behaving as a LangChain chat model."""
