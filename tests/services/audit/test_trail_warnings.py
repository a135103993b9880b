"""The audit trail's one-line summaries show what was written without (a deal): pure."""

from __future__ import annotations

from audit.trail import describe


def test_a_commands_and_an_outcomes_warnings_are_in_their_summaries() -> None:
    warning = "CRMOpportunityID: not a Zoho deal id (digits): 'OPP-7'; written without its deal"
    command = {"module": "Invoices", "external_field": "Sage_Invoice_No", "trigger": []}
    kind, summary = describe(
        "zoho.upsert.requested", command | {"warnings": [warning]}, failing=False
    )
    assert kind == "command" and summary.endswith(f"; warning: {warning}")
    ok = {"status": "succeeded", "action": "update", "zoho_id": "42", "warnings": [warning]}
    kind, summary = describe("zoho.write.outcome", ok, failing=False)
    assert kind == "written" and "id 42" in summary and "warning: CRMOpportunityID" in summary
    refused = {
        "status": "succeeded",
        "module": "Deals",
        "external_value": "4242",
        "warnings": ["x"],
    }
    _, summary = describe("zoho.write.outcome", refused, failing=False)
    assert summary.startswith("Zoho Deals 4242 not written") and summary.endswith("warning: x")
    _, plain = describe(
        "zoho.write.outcome", {"status": "succeeded", "zoho_id": "1"}, failing=False
    )
    assert "warning" not in plain
