"""HTTP and websocket routes: thin; the work is in the service and web/views."""
