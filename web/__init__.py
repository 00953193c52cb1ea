"""The web layer: the customer chat widget, the staff console and supervisor pages, and
the demo payment page, served by one FastAPI app (see ``web.app.create_app``)."""
