"""Every public scenario (../shared/scenarios) passes on the embedded default."""

import pytest

from agent.evaluation.runner import run_paths
from tests.conftest import PUBLIC_SCENARIOS


@pytest.mark.skipif(
    not PUBLIC_SCENARIOS.is_dir(), reason="../shared/scenarios is not beside this checkout"
)
def test_public_scenarios_pass(engines, test_settings) -> None:
    report = run_paths(test_settings, [PUBLIC_SCENARIOS], engines=engines, echo=lambda _: None)
    failures = {r.id: r.failures for r in report.results if not r.passed}
    assert failures == {}
    assert report.summary()["escalation_recall"] == 1.0
