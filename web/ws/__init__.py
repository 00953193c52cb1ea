"""The two sockets: the customer's chat (``/ws/chat``) and the staff console (``/ws/console``)."""
