"""Throttling of staff logins: growing delays, counted atomically in the database.

A guess is counted BEFORE its password is checked. Admitting an attempt is one short
transaction that, for each key the attempt falls under, creates the key's row if missing
(``INSERT ... ON CONFLICT DO NOTHING``) and then runs one ``UPDATE ... SET failures =
failures + 1 ... WHERE blocked_until has passed RETURNING failures``. The update locks
the row (PostgreSQL) or the database (SQLite) until the transaction ends, and the
``WHERE`` is evaluated against the latest committed row, so parallel attempts — threads
or several server processes over one database — are admitted one by one and never more
than the rule allows. When the count reaches a rule's threshold the same transaction
sets ``blocked_until``; an attempt that finds a key blocked is refused, nothing counted
(the transaction is rolled back), and its password is never checked. A successful check
takes its own count back. Rows are locked in one fixed order (pair, address, account),
so two attempts cannot deadlock.

Three keys, because a hard per-account lock lets any stranger lock the supervisor out,
while a per-address limit alone lets an attacker with many addresses guess forever:

- ``pair`` (account, address): a person who mistypes gets 5 tries, then a delay of 30 s
  that doubles with each further failure, up to 15 minutes. A success clears it and
  marks the address as *known* for that account for 30 days.
- ``address`` (any account; IPv6 by /64): 20 failures, then the same growing delays. An
  attacker spraying many accounts from one address is slowed down; nobody else is.
- ``account`` (any address): 20 failures, then growing delays, for addresses that are
  not known for the account. Each (account, address) pair adds at most its first 5
  failures here, so guesses from one address, however many, never trigger it: it only
  engages when an account is attacked from several addresses, and then bounds the
  attacker's checks to about 20, plus one per delay.

So guesses from address A never stop the account's owner at address B (B's pair and
address are clean, and A alone cannot trip the account key), and their open sessions
are untouched (sessions are not logins). The one thing a distributed attack costs the
owner is that a login from an address they have never used is delayed while it lasts;
their known addresses keep working. Counts are forgotten after an hour without failures.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from agent.conversation.models import LoginThrottle


@dataclass(frozen=True)
class Rule:
    """``free`` failures without delay; after that each failure blocks the key for
    ``first_delay``, doubled per further failure, at most ``max_delay``."""

    free: int
    first_delay: timedelta
    max_delay: timedelta

    def delay_after(self, failures: int) -> timedelta | None:
        if failures < self.free:
            return None
        return min(self.first_delay * 2 ** min(failures - self.free, 20), self.max_delay)


PAIR = Rule(free=5, first_delay=timedelta(seconds=30), max_delay=timedelta(minutes=15))
ADDRESS = Rule(free=20, first_delay=timedelta(seconds=30), max_delay=timedelta(minutes=15))
ACCOUNT = Rule(free=20, first_delay=timedelta(seconds=30), max_delay=timedelta(minutes=15))
FORGET_AFTER = timedelta(hours=1)  # without a failure: the count starts again
KNOWN_FOR = timedelta(days=30)  # an address that logged in to an account is known this long

_T: Table = LoginThrottle.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Keys:
    pair: str
    address: str
    account: str


def keys_for(account: str, address: str) -> Keys:
    where = address_key(address)
    who = account.strip().casefold()
    return Keys(pair=f"pair:{where} {who}", address=f"address:{where}", account=f"account:{who}")


def address_key(address: str) -> str:
    """An address as throttled: IPv6 by its /64 (one subscriber's network), else as is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass(frozen=True)
class Admission:
    """Whether an attempt may check its password; when refused, for how long and by
    which key's throttle; when admitted, the keys it was counted under."""

    admitted: bool
    retry_after: float = 0.0
    scope: str | None = None
    counted: tuple[tuple[str, str, Rule], ...] = ()  # (scope, key, rule)


def admit(session: Session, account: str, address: str, now: datetime) -> Admission:
    """Count this attempt as a failure under each of its keys, atomically, unless one of
    them is blocked (then nothing is counted). Commits or rolls back its own transaction:
    call it with no transaction of the caller's open."""
    keys = keys_for(account, address)
    known = _known(session, keys.pair, now)
    pair_failures = _count(session, keys.pair, PAIR, now)
    if pair_failures is None:
        return _refused(session, "pair", keys.pair, now)
    if _count(session, keys.address, ADDRESS, now) is None:
        return _refused(session, "address", keys.address, now)
    counted = [("pair", keys.pair, PAIR), ("address", keys.address, ADDRESS)]
    if not known:
        if pair_failures <= PAIR.free:
            if _count(session, keys.account, ACCOUNT, now) is None:
                return _refused(session, "account", keys.account, now)
            counted.append(("account", keys.account, ACCOUNT))
        elif _blocked_for(session, keys.account, now) is not None:
            # This pair has added its share to the account's count already; the
            # account's block still applies to it.
            return _refused(session, "account", keys.account, now)
    session.commit()
    return Admission(True, counted=tuple(counted))


def succeeded(session: Session, admission: Admission, now: datetime) -> None:
    """The password was right: clear the pair, take the attempt back from the other
    counts, and remember the address as known for the account (in the caller's
    transaction)."""
    for scope, key, rule in admission.counted:
        if scope == "pair":
            values = {"failures": 0, "blocked_until": None, "succeeded_at": now}
        else:
            values = {
                "failures": case((_T.c.failures > 0, _T.c.failures - 1), else_=0),
                # Blocks follow from the count: below the threshold again, none is due.
                "blocked_until": case(
                    (_T.c.failures - 1 < rule.free, None), else_=_T.c.blocked_until
                ),
            }
        session.execute(update(_T).where(_T.c.key == key).values(**values))


def prune(session: Session, now: datetime) -> None:
    """Forget keys with nothing left to remember (in the caller's transaction)."""
    session.execute(
        delete(_T).where(
            or_(_T.c.blocked_until.is_(None), _T.c.blocked_until < now),
            or_(_T.c.last_failure_at.is_(None), _T.c.last_failure_at < now - FORGET_AFTER),
            or_(_T.c.succeeded_at.is_(None), _T.c.succeeded_at < now - KNOWN_FOR),
        )
    )


def _known(session: Session, pair_key: str, now: datetime) -> bool:
    succeeded_at = session.execute(
        select(_T.c.succeeded_at).where(_T.c.key == pair_key)
    ).scalar_one_or_none()
    return succeeded_at is not None and succeeded_at > now - KNOWN_FOR


def _count(session: Session, key: str, rule: Rule, now: datetime) -> int | None:
    """One more failure under ``key``; its new count, or None if the key is blocked."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    session.execute(
        insert(_T).values(key=key, failures=0).on_conflict_do_nothing(index_elements=["key"])
    )
    failures = session.execute(
        update(_T)
        .where(_T.c.key == key, or_(_T.c.blocked_until.is_(None), _T.c.blocked_until <= now))
        .values(
            failures=case((_T.c.last_failure_at < now - FORGET_AFTER, 1), else_=_T.c.failures + 1),
            last_failure_at=now,
        )
        .returning(_T.c.failures)
    ).scalar_one_or_none()
    if failures is None:
        return None
    delay = rule.delay_after(failures)
    if delay is not None:
        session.execute(update(_T).where(_T.c.key == key).values(blocked_until=now + delay))
    return failures


def account_throttled_for(session: Session, account: str, now: datetime) -> float | None:
    """Seconds logins to this account from addresses it has never used must still wait
    (guesses from many addresses), or None: what supervisors see on the team list."""
    return _blocked_for(session, f"account:{account.strip().casefold()}", now)


def _blocked_for(session: Session, key: str, now: datetime) -> float | None:
    until = session.execute(select(_T.c.blocked_until).where(_T.c.key == key)).scalar_one_or_none()
    if until is None or until <= now:
        return None
    return (until - now).total_seconds()


def _refused(session: Session, scope: str, key: str, now: datetime) -> Admission:
    wait = _blocked_for(session, key, now) or 1.0  # (a block that just ended: try again)
    session.rollback()
    return Admission(False, retry_after=float(max(math.ceil(wait), 1)), scope=scope)
