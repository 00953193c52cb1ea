"""`loan-agent bench`: times real turns of the demo book's conversations on a scratch
SQLite file, never the product database, and reports consistent percentiles."""

from __future__ import annotations

from pathlib import Path

from agent.evaluation.bench import CONVERSATIONS, run_bench
from agent.runtime import Engines
from agent.settings import Settings


def test_the_bench_times_turns_after_a_warm_up_pass(
    engines: Engines, test_settings: Settings, tmp_path: Path
) -> None:
    product_db = tmp_path / "product.db"
    settings = test_settings.model_copy(update={"database_url": f"sqlite:///{product_db}"})
    lines: list[str] = []
    result = run_bench(settings, turns=60, echo=lines.append, engines=engines)

    first_pass = sum(len(messages) for _, _, messages in CONVERSATIONS)
    assert result["turns"] >= 60 - first_pass > 0  # the warm-up pass is not reported
    assert 0 < result["p50_ms"] <= result["p95_ms"] <= result["p99_ms"]
    assert result["mean_ms"] > 0 and result["peak_rss_mb"] > 0
    assert result["database"] == "sqlite file + sqlite checkpointer"
    assert not product_db.exists()  # a scratch database, never the product's
    assert any(f"p95 {result['p95_ms']} ms" in line for line in lines)
