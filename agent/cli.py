"""``loan-agent``: the command line of the product."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

import click

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _settings():
    from agent.settings import get_settings

    settings = get_settings()
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    return settings


@click.group()
def main() -> None:
    """Conversational post-loan servicing agent."""


@main.command()
def migrate() -> None:
    """Upgrade the database schema to the latest migration."""
    from agent.db.migrate import upgrade_to_head

    settings = _settings()
    upgrade_to_head(settings.effective_database_url)
    click.echo(f"database migrated: {settings.effective_database_url}")


@main.command()
@click.option(
    "--ledger-file",
    "--file",
    "ledger_file",
    type=click.Path(path_type=Path),
    default=None,
    help="A YAML file with a `ledger:` block (scenario format). Without it: the demo book, "
    "in demo mode (LOAN_AGENT_DEMO=1) only.",
)
@click.option(
    "--today",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Date the demo book is built around (default: today).",
)
def seed(ledger_file: Path | None, today) -> None:
    """Load a ledger file (or the demo book and demo staff logins in demo mode). Idempotent."""
    from agent.seeding import SeedError, seed_database

    settings = _settings()
    try:
        report = seed_database(
            settings, ledger_file=ledger_file, today=today.date() if today else None
        )
    except SeedError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(report)


@main.command()
@click.option("--host", default=None)
@click.option("--port", type=int, default=None)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Server processes sharing the port; more than one needs PostgreSQL and Redis.",
)
def serve(host: str | None, port: int | None, workers: int) -> None:
    """Migrate, seed the demo on first run (demo mode), ingest the knowledge base, serve."""
    import uvicorn

    from agent.db.engine import create_db_engine
    from agent.runtime import several_processes_problem
    from agent.seeding import UnsafeStart, prepare_for_serving, refuse_unsafe_start

    settings = _settings()
    if workers > 1 and (problem := several_processes_problem(settings)):
        raise click.ClickException(problem)
    try:
        refuse_unsafe_start(settings, create_db_engine(settings.effective_database_url))
    except UnsafeStart as exc:
        raise click.ClickException(str(exc)) from exc
    host = host or settings.host
    port = port or settings.port
    notes = prepare_for_serving(settings, ingest=False)  # the app ingests as it starts
    for line in notes:
        click.echo(line)
    site = "Demo lender site with the chat widget:" if settings.demo else "Chat widget site:"
    click.echo(f"\n  {site:<40}http://{host}:{port}/")
    click.echo(f"  {'Agent console (staff login):':<40}http://{host}:{port}/console")
    click.echo(f"  {'Supervisor view:':<40}http://{host}:{port}/supervisor\n")
    uvicorn.run(
        "web.app:create_app",
        factory=True,
        host=host,
        port=port,
        log_level=settings.log_level.lower(),
        workers=workers,
        proxy_headers=False,  # X-Forwarded-For is read by the app, from trusted proxies only
    )


@main.group()
def staff() -> None:
    """Staff accounts (the console and supervisor logins)."""


def _new_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().removesuffix("\n").removesuffix("\r")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@staff.command("create")
@click.option("--username", required=True)
@click.option("--name", "display_name", required=True, help="The name customers and staff see.")
@click.option("--role", type=click.Choice(["agent", "supervisor"]), required=True)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def staff_create(username: str, display_name: str, role: str, password_stdin: bool) -> None:
    """Create a staff account (password: at least 12 characters, asked twice)."""
    from agent.seeding import StaffAccountError, create_staff

    settings = _settings()
    try:
        create_staff(settings, username, display_name, role, _new_password(password_stdin))
    except StaffAccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"staff user {username.strip()!r} ({role}) created")


@staff.command("set-password")
@click.option("--username", required=True)
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from the first line of stdin."
)
def staff_set_password(username: str, password_stdin: bool) -> None:
    """Give a staff account a new password and sign it out everywhere."""
    from datetime import UTC, datetime

    from agent.seeding import StaffAccountError, set_staff_password

    settings = _settings()
    try:
        ended = set_staff_password(
            settings, username, _new_password(password_stdin), datetime.now(UTC)
        )
    except StaffAccountError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"password of {username!r} changed; {ended} session(s) signed out")


@staff.command("list")
def staff_list() -> None:
    """The staff accounts: username, role, name."""
    from agent.seeding import list_staff

    rows = list_staff(_settings())
    if not rows:
        click.echo("no staff accounts")
    for row in rows:
        click.echo(f"{row.username:<24} {row.role:<11} {row.display_name}")


@main.command()
@click.option("--customer", "customer_id", default=None, help="Customer id (e.g. C100).")
@click.option(
    "--verified/--unverified", default=False, help="Start as an authenticated (verified) session."
)
@click.option(
    "--now",
    "now_text",
    default=None,
    help="The conversation's clock, customer local time (e.g. 2026-03-10T14:00:00).",
)
def chat(customer_id: str | None, verified: bool, now_text: str | None) -> None:
    """Chat in the terminal against the demo book."""
    from agent.terminal_chat import run_chat

    run_chat(_settings(), customer_id, verified, now_text)


@main.command(name="eval")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--json",
    "json_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the results as JSON.",
)
@click.option("--strict", is_flag=True, help="Exit non-zero when any scenario fails.")
@click.option("--quiet", is_flag=True, help="Print only failures and the summary.")
def eval_command(
    paths: tuple[Path, ...], json_file: Path | None, strict: bool, quiet: bool
) -> None:
    """Run scenario files (SCENARIOS.md) and report what passed."""
    from agent.evaluation.runner import EvaluationError, run_paths

    settings = _settings()
    if not paths:
        raise click.UsageError("give at least one scenario file or folder")
    try:
        report = run_paths(settings, list(paths), echo=click.echo, quiet=quiet)
    except EvaluationError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if json_file:
        json_file.write_text(json.dumps(report.as_json(), indent=2))
    if strict and report.failed:
        sys.exit(1)


@main.command()
@click.option(
    "--turns",
    type=click.IntRange(min=1),
    default=None,
    help="Turns to time (default 300); with --conversations, messages per conversation "
    "(default 4).",
)
@click.option("--json", "json_file", type=click.Path(path_type=Path), default=None)
@click.option(
    "--conversations",
    type=click.IntRange(min=1),
    default=None,
    help="Load mode: this many real websocket conversations at once.",
)
@click.option(
    "--think",
    type=(click.FloatRange(min=0), click.FloatRange(min=0)),
    default=(10.0, 30.0),
    show_default=True,
    metavar="A B",
    help="Load mode: seconds a customer thinks after each reply, uniformly between A and B.",
)
@click.option(
    "--window",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    help="Load mode: seconds over which the conversations start (evenly).",
)
@click.option(
    "--escalating",
    type=click.FloatRange(0, 1),
    default=0.1,
    show_default=True,
    help="Load mode: share of conversations that end by asking for a person.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=60.0,
    show_default=True,
    help="Load mode: seconds to wait for a reply before a turn counts as timed out.",
)
@click.option("--seed", type=int, default=12, show_default=True, help="Load mode: random seed.")
@click.option(
    "--url",
    default=None,
    help="Load mode: an already running server (in demo mode) instead of starting one.",
)
@click.option(
    "--server-pid",
    type=int,
    default=None,
    help="Load mode with --url: the server's process id, to sample its memory and CPU.",
)
@click.option(
    "--floor", is_flag=True, help="Load mode: run against a bare echo of the protocol instead."
)
@click.option(
    "--compare-floor",
    is_flag=True,
    help="Load mode: run against the server, then the echo floor, and print the ratio.",
)
@click.option(
    "--turn-workers",
    type=click.IntRange(min=0, max=32),
    default=2,
    show_default=True,
    help="Load mode: LOAN_AGENT_TURN_WORKERS of the server it starts (`make run` uses 2).",
)
def bench(
    turns: int | None,
    json_file: Path | None,
    conversations: int | None,
    think: tuple[float, float],
    window: float,
    escalating: float,
    timeout: float,
    seed: int,
    url: str | None,
    server_pid: int | None,
    floor: bool,
    compare_floor: bool,
    turn_workers: int,
) -> None:
    """Per-turn latency of the embedded default (model loaded once, in process).

    With --conversations N: the load bench. N websocket clients speak web/PROTOCOL.md to
    a `loan-agent serve` it starts (fresh data dir, SQLite, demo mode; or --url), from
    several loopback addresses, and it reports turns/s, p50/p95/p99, failed turns by kind
    and the server's memory and CPU.
    """
    if conversations is None:
        if url or server_pid or floor or compare_floor:
            raise click.UsageError(
                "--url, --server-pid, --floor and --compare-floor need --conversations"
            )
        from agent.evaluation.bench import run_bench

        result = run_bench(_settings(), turns=turns or 300, echo=click.echo)
    else:
        from agent.evaluation.load_bench import run_load_bench
        from agent.evaluation.load_plan import LoadOptions
        from agent.evaluation.load_server import LoadBenchError

        options = LoadOptions(
            conversations=conversations,
            turns=turns or 4,
            think=(min(think), max(think)),
            start_window=window,
            escalating_share=escalating,
            turn_timeout=timeout,
            seed=seed,
        )
        try:
            result = run_load_bench(
                options,
                url,
                server_pid,
                floor=floor,
                compare_floor=compare_floor,
                echo=click.echo,
                turn_workers=turn_workers,
            )
        except LoadBenchError as exc:
            raise click.ClickException(str(exc)) from exc
    if json_file:
        json_file.write_text(json.dumps(result, indent=2))


@main.group()
def audit() -> None:
    """The hash-chained audit log."""


@audit.command("verify")
@click.option("--conversation", "conversation_id", default=None)
def audit_verify(conversation_id: str | None) -> None:
    """Re-hash the audit chain and report the first broken link, if any."""
    from sqlmodel import Session

    from agent.audit.log import verify_chain
    from agent.runtime import database_engine

    engine = database_engine(_settings())
    with Session(engine) as session:
        report = verify_chain(session, conversation_id)
    if report.ok:
        click.echo(f"audit chain OK ({report.events_checked} events checked)")
    else:
        click.echo(f"audit chain BROKEN at event {report.first_bad_id}: {report.problem}")
        sys.exit(1)


@main.command("adversarial")
@click.option("--json", "json_file", type=click.Path(path_type=Path), default=None)
def adversarial(json_file: Path | None) -> None:
    """Run the adversarial suite end to end: leaks and ledger writes must both be zero."""
    from agent.evaluation.adversarial import run_adversarial

    result = run_adversarial(_settings(), echo=click.echo)
    if json_file:
        json_file.write_text(json.dumps(result, indent=2))
    if result["leaks"] or result["ledger_writes"]:
        sys.exit(1)


def _add_knowledge_commands() -> None:
    from agent.knowledge.cli import ingest_command, retrieval_bench_command

    main.add_command(ingest_command)
    main.add_command(retrieval_bench_command)


_add_knowledge_commands()


def _add_guardrails_commands() -> None:
    from agent.guardrails.cli import guardrails_report

    main.add_command(guardrails_report)


_add_guardrails_commands()


@main.group("train")
def train_group() -> None:
    """Rebuild a trained model artifact from its data (deterministic, fixed seeds)."""


def _add_training_commands() -> None:
    from agent.engine.cli import nlu_report, train_intents

    train_group.add_command(train_intents)
    main.add_command(nlu_report)
    from agent.guardrails.cli import train_escalation

    train_group.add_command(train_escalation)
    from agent.learning.cli import add_language_commands  # train languages, language-report

    add_language_commands(main, train_group)


_add_training_commands()


if __name__ == "__main__":  # pragma: no cover
    main()
