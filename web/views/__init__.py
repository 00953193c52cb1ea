"""Read models for the staff pages: plain dicts built from the core's tables."""
