"""`loan-agent chat`: the late-payment conversation of issue 4, typed in a terminal."""

from pathlib import Path

from click.testing import CliRunner
from sqlmodel import Session, select

from agent import cli
from agent.db.engine import create_db_engine
from agent.ledger.models import PromiseToPay
from agent.settings import Settings


def test_late_payment_conversation_in_the_terminal(tmp_path: Path, engines, monkeypatch) -> None:
    settings = Settings(
        data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'chat.db'}", demo=True
    )
    monkeypatch.setattr("agent.cli._settings", lambda: settings)
    monkeypatch.setattr("agent.terminal_chat.build_engines", lambda _settings: engines)
    typed = (
        "\n".join(
            [
                "hi, I missed my payment last month",
                "my date of birth is 04/12/1988 and my zip is 73301",
                "what's past due?",
                "I can pay the past due amount tomorrow",
                "yes please",
                "could I promise to pay in two months instead?",
                "quit",
            ]
        )
        + "\n"
    )
    result = CliRunner().invoke(cli.main, ["chat", "--customer", "C100"], input=typed)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "automated assistant" in out
    assert "verify your identity" in out
    assert "$165.00 is past due" in out
    assert "Shall I set that up?" in out
    assert "promise to pay $165.00" in out and "is recorded" in out
    assert "14 days" in out and ("hardship team" in out or "person" in out)
    engine = create_db_engine(settings.effective_database_url)
    with Session(engine) as session:
        promise = session.exec(select(PromiseToPay)).one()
    assert (promise.loan_id, str(promise.amount)) == ("L100", "165.00")
