"""Scenario evaluation (``loan-agent eval``), the latency benchmark and the adversarial suite."""
