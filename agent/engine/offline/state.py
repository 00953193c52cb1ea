"""The offline engine's dialogue state, as typed data you can print.

A :class:`Task` is one thing the customer asked for (its kind, the loan, its slots and
where it stands); :class:`DialogueState` is what the engine remembers between two turns
(what it asked, the task waiting for the answer, tasks waiting for verification, the
loans it offered to choose from, what it last read out). Both serialise to plain JSON
(``model_dump(mode="json")``) because the state rides on the reply's
``additional_kwargs`` in the LangGraph checkpoint, and both load the older dict shapes
(``{"intent": ..., "slots": {...}}``, top-level ``loans``/``balances``/``past_due``):
a missing key is a default, an unknown one is ignored.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator


class TaskStatus(StrEnum):
    NEW = "new"  # read from this message, nothing asked yet
    AWAITING_SLOT = "awaiting_slot"  # we asked for an amount, a date, a day...
    AWAITING_LOAN = "awaiting_loan"  # we asked which loan
    AWAITING_VERIFICATION = "awaiting_verification"
    PROPOSED = "proposed"  # a write proposed, waiting for a yes
    OFFERED = "offered"  # offered after another task ("shall I send a link for it?")
    DONE = "done"


class Slots(BaseModel):
    """What a task is about. Amounts and dates are typed; the JSON form is plain
    strings (``"110.00"``, ``"2026-03-13"``)."""

    model_config = ConfigDict(extra="ignore")

    amount: Decimal | None = None
    amount_keyword: str | None = None  # past_due | next_due | payoff | remainder
    paid_now: Decimal | None = None  # "$50 now and the rest Friday": the part paid now
    date: dt.date | None = None  # a promise's date
    day: int | None = None  # a due-date change's day of the month
    changes: dict[str, bool | str] | None = None  # contact preferences
    loan_id: str | None = None
    reason: str | None = None  # an escalation's reason
    beyond_promise_window: bool = False

    @field_validator("amount", "paid_now", mode="before")
    @classmethod
    def _amount(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.replace("$", "").replace(",", "").strip()
            return value or None
        return value

    def filled(self) -> dict[str, Any]:
        """The slots that hold a value, as plain JSON values."""
        return {
            k: v
            for k, v in self.model_dump(mode="json").items()
            if v not in (None, {}, "", [], False)
        }

    def without(self, *names: str) -> Slots:
        return self.model_copy(update={name: _SLOT_DEFAULTS[name] for name in names})


_SLOT_DEFAULTS = {name: f.default for name, f in Slots.model_fields.items()}
# Slots that replace each other: a new amount replaces a named one and back.
EXCLUSIVE = {"amount": "amount_keyword", "amount_keyword": "amount"}


class Task(BaseModel):
    """One request in progress: ``kind`` is the intent ("promise_to_pay", "balance"...)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    kind: str = Field(validation_alias=AliasChoices("kind", "intent"))
    slots: Slots = Field(default_factory=Slots)
    status: TaskStatus = TaskStatus.NEW
    cue: bool = False  # a pattern written for the intent matched (not only the embeddings)
    score: float | None = None
    similarity: float | None = None
    then: Task | None = None  # offered once this one is done

    @field_validator("slots", mode="before")
    @classmethod
    def _slots(cls, value: Any) -> Any:
        return {} if value is None else value

    @property
    def loan_id(self) -> str | None:
        return self.slots.loan_id

    def with_slots(self, **values: Any) -> Task:
        """A copy with these slot values; a new amount replaces a named one and back."""
        slots = self.slots.model_dump()
        for key, value in values.items():
            if key in EXCLUSIVE:
                slots[EXCLUSIVE[key]] = None
            slots[key] = value
        return self.model_copy(update={"slots": Slots.model_validate(slots)})

    def without(self, *names: str) -> Task:
        """A copy with these slots emptied (a refused amount or date is asked again)."""
        return self.model_copy(update={"slots": self.slots.without(*names)})

    def on_loan(self, loan_id: str) -> Task:
        return self.with_slots(loan_id=loan_id)

    def at(self, status: TaskStatus) -> Task:
        return self.model_copy(update={"status": status})

    def describe(self) -> str:
        slots = ", ".join(f"{k}={v}" for k, v in self.slots.filled().items())
        text = f"{self.kind}({slots}) [{self.status.value}]"
        return f"{text} then {self.then.describe()}" if self.then else text


class LoanChoice(BaseModel):
    """The loans we asked the customer to choose from, with what lets them answer "the
    smaller one" (payoff today per loan) or "the one that's behind" (past due)."""

    model_config = ConfigDict(extra="ignore")

    loans: list[str] = Field(default_factory=list)
    balances: dict[str, str] = Field(default_factory=dict)
    past_due: dict[str, str] = Field(default_factory=dict)


class LastRead(BaseModel):
    """What we last read out, so that "and the other one?" asks it about the other loan."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    kind: str = Field(validation_alias=AliasChoices("kind", "intent"))
    loans: list[str] = Field(default_factory=list)


class IdentityPartial(BaseModel):
    model_config = ConfigDict(extra="ignore")

    dob: str | None = None
    zip: str | None = None


class DialogueState(BaseModel):
    """What the engine remembers from its last reply.

    ``awaiting``: what the reply asked for — ``verification``, ``identifier``,
    ``loan_choice``, ``confirmation`` (a proposal waits for a yes), ``slot:<name>``,
    ``offer_human``, ``offer_hardship``, ``offer_link`` — or None.
    ``task``: the task that waits for that answer; ``pending_tasks``: tasks waiting for
    verification or for the choice of a loan.
    """

    model_config = ConfigDict(extra="ignore")

    awaiting: str | None = None
    task: Task | None = None
    pending_tasks: list[Task] = Field(default_factory=list)
    identity_partial: IdentityPartial = Field(default_factory=IdentityPartial)
    loan_choice: LoanChoice | None = None
    last_read: LastRead | None = None
    not_understood: int = 0
    offer_summary: str = ""

    @model_validator(mode="before")
    @classmethod
    def _old_shape(cls, value: Any) -> Any:
        """State written before this model: the loan choice's keys sat at the top."""
        if not isinstance(value, dict):
            return value
        if "loan_choice" not in value and value.get("loans"):
            value = {
                **value,
                "loan_choice": {
                    "loans": value.get("loans") or [],
                    "balances": value.get("balances") or {},
                    "past_due": value.get("past_due") or {},
                },
            }
        for key in ("identity_partial", "pending_tasks"):
            if value.get(key) is None and key in value:
                value = {k: v for k, v in value.items() if k != key}
        return value

    @classmethod
    def load(cls, raw: Any) -> DialogueState:
        """The state from a reply's ``additional_kwargs`` (a dict, old or new shape); a
        state that cannot be read is no state (the conversation goes on from scratch)."""
        if isinstance(raw, DialogueState):
            return raw
        try:
            return cls.model_validate(raw or {})
        except ValueError:
            return cls()

    def dump(self) -> dict[str, Any]:
        """Plain JSON, only what differs from the defaults."""
        return self.model_dump(mode="json", exclude_defaults=True)

    @property
    def asked_slot(self) -> str | None:
        """The slot we asked for ("amount", "date"...), if we asked for one."""
        if self.awaiting and self.awaiting.startswith("slot:"):
            return self.awaiting.removeprefix("slot:")
        return None

    def waits_for_task(self) -> bool:
        """A task waits for a yes or a slot (what a digression must not drop)."""
        return self.task is not None and (
            self.awaiting == "confirmation" or self.asked_slot is not None
        )

    def merged(self, other: DialogueState) -> DialogueState:
        """This state with the fields ``other`` set explicitly (one reply, several tasks)."""
        return self.model_copy(update={k: getattr(other, k) for k in other.model_fields_set})

    def describe(self) -> str:
        lines = [f"awaiting: {self.awaiting or '-'}"]
        if self.task:
            lines.append(f"task: {self.task.describe()}")
        for task in self.pending_tasks:
            lines.append(f"pending: {task.describe()}")
        if self.loan_choice:
            lines.append(f"loan choice: {', '.join(self.loan_choice.loans)}")
        if self.identity_partial.dob or self.identity_partial.zip:
            lines.append(f"identity so far: {self.identity_partial.model_dump(exclude_none=True)}")
        if self.last_read:
            lines.append(f"last read: {self.last_read.kind} {', '.join(self.last_read.loans)}")
        if self.not_understood:
            lines.append(f"not understood: {self.not_understood} in a row")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.describe()


def waiting(awaiting: str, task: Task, **fields: Any) -> DialogueState:
    """The state of a reply that asks for something about ``task``."""
    if awaiting == "confirmation":
        status = TaskStatus.PROPOSED
    elif awaiting == "offer_link":
        status = TaskStatus.OFFERED
    elif awaiting.startswith("slot:"):
        status = TaskStatus.AWAITING_SLOT
    else:
        status = task.status
    return DialogueState(awaiting=awaiting, task=task.at(status), **fields)


def tasks_from_plan(raw: list[dict[str, Any]] | list[Task]) -> list[Task]:
    return [t if isinstance(t, Task) else Task.model_validate(t) for t in raw]
