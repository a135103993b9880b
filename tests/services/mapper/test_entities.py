"""Default mappings of the entities besides AR customers."""

from __future__ import annotations

from mapper.profile import Settings, TenantMap
from mapper.service import map_event, to_command, to_commands
from mlc_core.contracts import (
    DeadLetter,
    Entity,
    Topics,
    ZohoDeleteCommand,
    ZohoLookup,
    ZohoUpsertCommand,
)

from tests.services.mapper import rows
from tests.services.mapper.rows import event


def _letter(entity: Entity, record: dict[str, object]) -> DeadLetter:
    [(topic, out)] = map_event(event(entity, record))
    assert topic == Topics.DEAD_LETTERS and isinstance(out, DeadLetter), out
    return out


def test_contact_splits_name_and_links_to_its_account() -> None:
    [cmd] = to_commands(event(Entity.CUSTOMER_CONTACT, rows.contact_row()))
    assert cmd.module == "Contacts" and cmd.external_field == "Sage_Contact_Key"
    assert cmd.external_value == "01-ABF:ARTIE"
    assert cmd.record["First_Name"] == "Artie" and cmd.record["Last_Name"] == "Johnson"
    assert cmd.record["Phone"] == "(414) 555-4787 x210"
    assert cmd.record["Other_Phone"] == "(414) 555-0000"
    assert cmd.record["Email"] == "artie@abf.com" and cmd.record["Title"] == "Purchasing"
    assert cmd.record["Mailing_Zip"] == "53205" and cmd.record["Mailing_Country"] == "USA"
    assert "Account_Name" not in cmd.record  # the writer fills it from the lookup
    assert cmd.lookups == [
        ZohoLookup(
            path="Account_Name",
            module="Accounts",
            external_field="Sage_Customer_No",
            external_value="01-ABF",
        )
    ]


def test_contact_names_in_other_shapes() -> None:
    cases = {"Johnson, Artie": ("Artie", "Johnson"), "Cher": (None, "Cher")}
    cases["Mary Ann van Dyke"] = ("Mary Ann van", "Dyke")
    for name, (first, last) in cases.items():
        [cmd] = to_commands(event(Entity.CUSTOMER_CONTACT, rows.contact_row(ContactName=name)))
        assert cmd.record.get("First_Name") == first and cmd.record["Last_Name"] == last


def test_primary_contact_flag_when_the_customer_default_is_joined() -> None:
    primary = rows.contact_row(CustomerContactCode="ARTIE")
    other = rows.contact_row(CustomerContactCode="BOB")
    [cmd] = to_commands(event(Entity.CUSTOMER_CONTACT, primary))
    assert cmd.record["Sage_Is_Primary_Contact"] is True
    [cmd] = to_commands(event(Entity.CUSTOMER_CONTACT, other))
    assert cmd.record["Sage_Is_Primary_Contact"] is False


def test_primary_contact_flag_from_the_agent() -> None:
    def flag(**row: object) -> object:
        [cmd] = to_commands(event(Entity.CUSTOMER_CONTACT, rows.contact_row(**row)))
        return cmd.record.get("Sage_Is_Primary_Contact", "not set")

    assert flag(PrimaryContact="Y") is True and flag(PrimaryContact="n") is False
    assert flag() == "not set" and flag(PrimaryContact="") == "not set"
    # The agent's flag wins over an older agent's joined code.
    assert flag(PrimaryContact="N", CustomerContactCode="ARTIE") is False
    bad = _letter(Entity.CUSTOMER_CONTACT, rows.contact_row(PrimaryContact="maybe"))
    assert bad.field == "PrimaryContact" and "expected Y or N" in bad.error_message
    assert "01-ABF:ARTIE" in bad.error_message


def test_contact_with_bad_email_or_no_name_is_a_dead_letter() -> None:
    bad = _letter(Entity.CUSTOMER_CONTACT, rows.contact_row(EmailAddress="artie at abf"))
    assert bad.field == "EmailAddress" and "not an e-mail address" in bad.error_message
    nameless = _letter(Entity.CUSTOMER_CONTACT, rows.contact_row(ContactName=""))
    assert nameless.field == "ContactName" and "Last_Name" in nameless.error_message


def test_vendor_maps_to_vendors() -> None:
    [cmd] = to_commands(event(Entity.AP_VENDOR, rows.vendor_row()))
    assert (cmd.module, cmd.external_field, cmd.external_value) == (
        "Vendors",
        "Sage_Vendor_No",
        "01-0000100",
    )
    record = cmd.record
    assert record["Vendor_Name"] == "Acme Supplies" and record["Zip_Code"] == "60601"
    assert record["Sage_Status"] == "Active" and record["Sage_Balance_Due"] == 1200.5
    assert record["Sage_Last_Payment_Date"] == "2026-10-15" and record["Country"] == "USA"


def test_sales_order_upserts_products_first_and_computes_totals() -> None:
    lines = [rows.order_line("A-1", 2, 10.0), rows.order_line("B-2", 3, 10.0)]
    lines.append(rows.order_line("A-1", 1, 10.0, LineDiscountPercent=10, ExtensionAmt=None))
    commands = to_commands(event(Entity.SALES_ORDER, rows.order_row(lines)))
    products, order = commands[:-1], commands[-1]
    assert [(p.module, p.external_value) for p in products] == [
        ("Products", "A-1"),
        ("Products", "B-2"),
    ]
    assert products[0].record == {
        "Product_Name": "Item A-1",
        "Product_Code": "A-1",
        "Sage_Item_Code": "A-1",
    }
    assert order.module == "Sales_Orders" and order.external_value == "0000123"
    items = order.record["Ordered_Items"]
    assert [i["Quantity"] for i in items] == [2, 3, 1]
    assert items[2]["Discount"] == 1.0 and items[2]["List_Price"] == 10.0
    paths = [(lk.path, lk.external_value) for lk in order.lookups]
    assert paths == [
        ("Account_Name", "01-ABF"),
        ("Ordered_Items.0.Product_Name", "A-1"),
        ("Ordered_Items.1.Product_Name", "B-2"),
        ("Ordered_Items.2.Product_Name", "A-1"),
    ]
    # taxable 40 + non-taxable 10 + tax 2.5 + freight 7 - discount 5
    assert order.record["Sub_Total"] == 50.0 and order.record["Grand_Total"] == 54.5
    assert order.record["Tax"] == 2.5 and order.record["Adjustment"] == 7.0
    assert order.record["Status"] == "Open" and order.record["Sage_Order_Type"] == "Standard"
    assert order.record["Deal_Name"] is None  # no deal in Sage: the link is cleared


def _deal_links(cmd: ZohoUpsertCommand) -> list[tuple[str, str, str, bool]]:
    return [
        (lk.path, lk.external_field, lk.external_value, lk.required)
        for lk in cmd.lookups
        if lk.module == "Deals"
    ]


def test_order_status_codes_and_deal_link() -> None:
    """The deal is a link by its Zoho id, not required: the writer reads the deal and leaves
    the link out (with a warning) when Zoho has no such deal. An order moves no deal."""
    for code, name in (("N", "New"), ("O", "Open"), ("C", "Closed"), ("H", "On Hold")):
        record = rows.order_row(OrderStatus=code, CRMOpportunityID="5725767000000524157")
        *_, order = to_commands(event(Entity.SALES_ORDER, record))
        assert order.module == "Sales_Orders" and order.record["Status"] == name
        assert _deal_links(order) == [("Deal_Name", "id", "5725767000000524157", False)]
        assert order.record["Deal_Name"] is None and order.warnings == []


def test_a_deal_id_that_is_not_one_is_a_warning_and_the_order_is_written() -> None:
    for bad in ("OPP-1", "12 34", "deal\x00"):
        produced = map_event(event(Entity.SALES_ORDER, rows.order_row(CRMOpportunityID=bad)))
        assert all(topic == Topics.ZOHO_COMMANDS for topic, _ in produced)
        order = produced[-1][1]
        assert isinstance(order, ZohoUpsertCommand) and order.module == "Sales_Orders"
        assert _deal_links(order) == []
        [warning] = order.warnings
        assert "CRMOpportunityID" in warning and "written without its deal" in warning


def test_invoicing_moves_the_deal_to_the_tenants_stage_with_the_amount() -> None:
    row = rows.invoice_row(CRMOpportunityID="5725767000000524157")
    *_, invoice, deal = to_commands(event(Entity.AR_INVOICE, row))
    assert _deal_links(invoice) == [("Deal_Name", "id", "5725767000000524157", False)]
    assert (deal.module, deal.external_field, deal.external_value) == (
        "Deals",
        "id",
        "5725767000000524157",
    )
    assert deal.record == {"Stage": "Closed Won", "Amount": invoice.record["Grand_Total"]}
    own = to_command(event(Entity.AR_INVOICE, row))  # the invoice's own command
    assert (own.module, own.external_value) == (invoice.module, invoice.external_value)
    tenant_map = TenantMap(settings=Settings(deal_stage="Invoiced"))
    staged = to_commands(event(Entity.AR_INVOICE, row), tenant_map)[-1]
    assert staged.record["Stage"] == "Invoiced"
    # an open invoice links its deal but does not move it: the history header does
    open_row = rows.open_invoice_row(CRMOpportunityID="5725767000000524157")
    assert [c.module for c in to_commands(event(Entity.AR_OPEN_INVOICE, open_row))][-1] == (
        "Invoices"
    )


def test_order_totals_from_lines_when_header_has_no_amounts() -> None:
    record = rows.order_row(TaxableAmt=None, NonTaxableAmt=None, DiscountAmt=0, FreightAmt=0)
    order = to_commands(event(Entity.SALES_ORDER, record))[-1]
    assert order.record["Sub_Total"] == 50.0 and order.record["Grand_Total"] == 52.5


def test_bad_order_lines_name_the_line_and_column() -> None:
    negative = rows.order_row([rows.order_line(), rows.order_line("X", -1, 5)])
    letter = _letter(Entity.SALES_ORDER, negative)
    assert (
        letter.field == "Lines[1].QuantityOrdered" and "negative quantity" in letter.error_message
    )
    no_item = _letter(Entity.SALES_ORDER, rows.order_row([rows.order_line(ItemCode=" ")]))
    assert no_item.field == "Lines[0].ItemCode"
    empty = _letter(Entity.SALES_ORDER, rows.order_row([]))
    assert empty.field == "Lines" and "Ordered_Items" in empty.error_message


def test_comment_lines_are_not_products_and_errors_name_sage_line_positions() -> None:
    lines = [rows.order_line(), rows.order_line("/C", 0, 0, ItemType="4")]
    commands = to_commands(event(Entity.SALES_ORDER, rows.order_row(lines)))
    assert [c.external_value for c in commands] == ["1001-HON", "0000123"]
    assert len(commands[-1].record["Ordered_Items"]) == 1
    lines.append(rows.order_line("Z", 1, -5.0, UnitPrice="x"))
    letter = _letter(Entity.SALES_ORDER, rows.order_row(lines))
    assert letter.field == "Lines[2].UnitPrice"  # its place in Sage's list, comment line counted


def test_ar_invoice_without_lines_gets_a_summary_line_and_deal_link() -> None:
    product, invoice, _deal = to_commands(event(Entity.AR_INVOICE, rows.invoice_row()))
    assert product.module == "Products" and product.external_value == "SAGE-AR-INVOICE"
    assert invoice.module == "Invoices" and invoice.external_field == "Sage_Invoice_No"
    assert invoice.external_value == "0100234:000000"
    record = invoice.record
    assert record["Subject"] == "Invoice 0100234"
    assert record["Invoice_Date"] == "2026-11-01" and record["Due_Date"] == "2026-12-01"
    assert record["Sage_Balance"] == 111.0 and record["Grand_Total"] == 111.0
    assert _deal_links(invoice) == [("Deal_Name", "id", "5725767000000524157", False)]
    assert record["Invoiced_Items"] == [
        {"Quantity": 1.0, "List_Price": 100.0, "Description": "Invoice total in Sage"}
    ]
    assert [lk.path for lk in invoice.lookups] == [
        "Account_Name",
        "Invoiced_Items.0.Product_Name",
        "Deal_Name",
    ]


def test_history_invoice_also_matches_the_record_its_open_invoice_created() -> None:
    invoice = to_command(event(Entity.AR_INVOICE, rows.invoice_row()))
    assert invoice.also_match == ["Sage_Open_Invoice_Key"]
    assert invoice.record["Sage_Open_Invoice_Key"] == "01-ABF:0100234:IN"
    reused = to_command(event(Entity.AR_INVOICE, rows.invoice_row(HeaderSeqNo="000001")))
    assert reused.also_match == [] and "Sage_Open_Invoice_Key" not in reused.record


def test_open_invoice_is_the_same_zoho_invoice_with_balance_and_status() -> None:
    product, invoice = to_commands(event(Entity.AR_OPEN_INVOICE, rows.open_invoice_row()))
    assert product.external_value == "SAGE-AR-INVOICE"
    assert invoice.module == "Invoices" and invoice.external_field == "Sage_Open_Invoice_Key"
    assert invoice.external_value == "01-ABF:0100234:IN" and invoice.also_match == []
    history = to_command(event(Entity.AR_INVOICE, rows.invoice_row()))
    assert invoice.external_value == history.record["Sage_Open_Invoice_Key"]
    record = invoice.record
    assert "Sage_Invoice_No" not in record  # history's key: only history knows HeaderSeqNo
    assert record["Subject"] == history.record["Subject"] == "Invoice 0100234"
    assert record["Sage_Balance"] == 61.0 and record["Sage_Invoice_Status"] == "Open"
    assert record["Due_Date"] == "2026-12-01" and record["Grand_Total"] == 111.0
    paid = to_command(event(Entity.AR_OPEN_INVOICE, rows.open_invoice_row(Balance=0)))
    assert paid.record["Sage_Balance"] == 0 and paid.record["Sage_Invoice_Status"] == "Paid"


def test_open_invoice_leaving_sage_closes_the_zoho_invoice_even_in_delete_mode() -> None:
    tenant_map = TenantMap(settings=Settings(deletes="delete"))
    [(_, command)] = map_event(rows.deleted(Entity.AR_OPEN_INVOICE), tenant_map)
    assert isinstance(command, ZohoDeleteCommand)
    assert command.mode == "deactivate" and command.module == "Invoices"
    assert command.external_field == "Sage_Open_Invoice_Key"
    assert command.deactivate == {"Sage_Balance": 0.0, "Sage_Invoice_Status": "Closed"}
    [(_, history)] = map_event(rows.deleted(Entity.AR_INVOICE), tenant_map)
    assert isinstance(history, ZohoDeleteCommand) and history.mode == "delete"


def test_ap_invoice_is_reference_data_linked_to_its_vendor() -> None:
    [cmd] = to_commands(event(Entity.AP_OPEN_INVOICE, rows.ap_invoice_row()))
    assert cmd.module == "Sage_AP_Invoices" and cmd.external_field == "Sage_AP_Invoice_Key"
    assert cmd.record["Name"] == "01-0000100 INV-9" and cmd.record["Balance"] == 250.0
    [link] = cmd.lookups
    assert (link.path, link.module, link.external_value) == ("Vendor", "Vendors", "01-0000100")


def test_gl_account_and_group_carry_the_hierarchy() -> None:
    [account] = to_commands(event(Entity.GL_ACCOUNT, rows.gl_account_row()))
    assert account.module == "Sage_GL_Accounts"
    assert account.record["Name"] == "400-00-00 Sales - Furniture"
    assert account.record["Account_Type"] == "11 Net revenue"
    assert account.record["Main_Account"] == "400" and account.record["Status"] == "Active"
    [link] = account.lookups
    assert (link.module, link.external_value, link.required) == (
        "Sage_GL_Account_Groups",
        "SALES",
        False,
    )
    [group] = to_commands(event(Entity.GL_ACCOUNT_GROUP, rows.gl_group_row()))
    assert group.module == "Sage_GL_Account_Groups" and group.external_value == "SALES"
    assert group.record["Name"] == "SALES Sales revenue"


def test_delete_deactivates_by_default() -> None:
    [(topic, cmd)] = map_event(rows.deleted(Entity.AR_CUSTOMER))
    assert topic == Topics.ZOHO_COMMANDS and isinstance(cmd, ZohoDeleteCommand)
    assert (cmd.module, cmd.external_field, cmd.external_value) == (
        "Accounts",
        "Sage_Customer_No",
        "01-ABF",
    )
    assert cmd.mode == "deactivate" and cmd.deactivate == {"Sage_Status": "Deleted in Sage"}
    assert cmd.source_version > "20261126 14.502780"  # passes the writer's stale guard
