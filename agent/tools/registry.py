"""The ledger tools as LangChain tools: the context comes from the runtime, never the model."""

from __future__ import annotations

from langchain.tools import ToolRuntime, tool
from langchain_core.tools import BaseTool

from agent.tools import ledger_tools as lt
from agent.tools.context import ConversationContext

Runtime = ToolRuntime[ConversationContext]


@tool
def identify_customer(
    runtime: Runtime, loan_number: str | None = None, phone: str | None = None
) -> str:
    """For an anonymous chat: note the loan number or the phone number the customer gives.
    Never reveals whether it exists. Then ask for date of birth and ZIP code."""
    return lt.identify_customer(runtime.context, loan_number, phone)


@tool
def verify_identity(runtime: Runtime, date_of_birth: str, postal_code: str) -> str:
    """Verify the customer with the date of birth (YYYY-MM-DD) and 5-digit ZIP code on file.
    Required before anything about an account is disclosed or changed."""
    return lt.verify_identity(runtime.context, date_of_birth, postal_code)


@tool
def get_account_summary(runtime: Runtime, loan_id: str | None = None) -> str:
    """Past-due amount, days past due, next due date and amount, payoff today and fees for
    the verified customer's loans (all of them when loan_id is omitted)."""
    return lt.get_account_summary(runtime.context, loan_id)


@tool
def get_payment_history(runtime: Runtime, loan_id: str | None = None) -> str:
    """Recent installments and payments of one of the verified customer's loans."""
    return lt.get_payment_history(runtime.context, loan_id)


@tool
def create_payment_link(runtime: Runtime, amount: str, loan_id: str | None = None) -> str:
    """Create a one-time secure payment link (valid 24 hours) for an amount in dollars.
    Never take card or bank numbers in chat."""
    return lt.create_payment_link(runtime.context, amount, loan_id)


@tool
def promise_to_pay(
    runtime: Runtime, amount: str, date: str, loan_id: str | None = None, confirm: bool = False
) -> str:
    """Promise to pay `amount` on `date` (YYYY-MM-DD). First call with confirm=false and ask
    the customer; call again with confirm=true only after the customer says yes."""
    return lt.promise_to_pay(runtime.context, amount, date, loan_id, confirm)


@tool
def change_due_date(
    runtime: Runtime, day_of_month: int, loan_id: str | None = None, confirm: bool = False
) -> str:
    """Change the monthly due day (1-28). Propose with confirm=false, then confirm=true after
    the customer says yes."""
    return lt.change_due_date(runtime.context, day_of_month, loan_id, confirm)


@tool
def request_deferral(runtime: Runtime, loan_id: str | None = None, confirm: bool = False) -> str:
    """Defer one installment to the end of the term (no fee) when eligible. Propose with
    confirm=false, then confirm=true after the customer says yes."""
    return lt.request_deferral(runtime.context, loan_id, confirm)


@tool
def waive_late_fee(runtime: Runtime, loan_id: str | None = None, confirm: bool = False) -> str:
    """Waive one late fee (one per loan in any 12 months). Propose with confirm=false, then
    confirm=true after the customer says yes."""
    return lt.waive_late_fee(runtime.context, loan_id, confirm)


@tool
def update_contact_preferences(
    runtime: Runtime,
    sms: bool | None = None,
    email: bool | None = None,
    calls: bool | None = None,
    do_not_contact: bool | None = None,
    contact_hours: str | None = None,
) -> str:
    """Opt out of (false) or into (true) SMS, e-mail or calls, set contact hours
    ("09:00-17:00"), or record a request to stop all contact (do_not_contact=true)."""
    return lt.update_contact_preferences(
        runtime.context, sms, email, calls, do_not_contact, contact_hours
    )


@tool
def search_policy(runtime: Runtime, query: str) -> str:
    """Search the lender's policy documents. Quote only what is found and name the document."""
    return lt.search_policy(runtime.context, query)


@tool
def escalate_to_human(runtime: Runtime, reason: str, summary: str = "") -> str:
    """Hand the conversation to a person. reason: hardship, dispute, fraud, legal,
    vulnerability, complaint or human_request."""
    return lt.escalate_to_human(runtime.context, reason, summary)


def servicing_tools() -> list[BaseTool]:
    return [
        identify_customer,
        verify_identity,
        get_account_summary,
        get_payment_history,
        create_payment_link,
        promise_to_pay,
        change_due_date,
        request_deferral,
        waive_late_fee,
        update_contact_preferences,
        search_policy,
        escalate_to_human,
    ]
