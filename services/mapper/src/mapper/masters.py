"""Master data: AR customers -> Accounts, customer contacts -> Contacts, AP vendors -> Vendors.

Each is a RecordMapping (mapper.fields), compiled with a tenant's map by mapper.engine.
"""

from __future__ import annotations

from mlc_core.contracts import Entity, ZohoLookup
from mlc_core.entities.sage import KEY_SEPARATOR

from mapper import values as v
from mapper.drafts import lookup
from mapper.fields import (
    Field,
    Prepared,
    RecordMapping,
    address,
    bound,
    column,
    computed,
    country_reader,
    key,
    money,
    street_reader,
    text,
)
from mapper.values import Row

STATUS_NAMES = {"A": "Active", "I": "Inactive", "T": "Temporary"}
STREET = ("AddressLine1", "AddressLine2", "AddressLine3")


def _address(prefix: str, zip_suffix: str = "Code") -> tuple[Field, ...]:
    """Sage keeps one address per customer (ship-to addresses live in SO_ShipToAddress)."""
    return address(prefix, "", zip_suffix)


def _phone(name: str, number_column: str, ext_column: str) -> Field:
    """'(414) 555-4787' + '12' -> '(414) 555-4787 x12'."""
    read = bound(v.phone, number_column, ext_column)
    return computed(name, f"{number_column}+{ext_column}", read)


def _status(column_name: str) -> Field:
    return computed("Sage_Status", column_name, bound(v.code, column_name, STATUS_NAMES))


def _salesperson(row: Row) -> str | None:
    number = v.text(row, "SalespersonNo")
    division = v.text(row, "SalespersonDivisionNo")
    return f"{division}-{number}" if division and number else number


def _primary_contact(row: Row, key: str, found: Prepared) -> list[ZohoLookup]:
    """The customer's default contact (AR_Customer.ContactCode), linked from the account.
    Not required: contacts follow their account, so on a first load it is linked on the
    customer's next change rather than holding the account back."""
    code = v.text(row, "ContactCode")
    if code is None:
        return []
    contact_key = f"{key}{KEY_SEPARATOR}{code}"
    return [lookup("Sage_Primary_Contact", "Contacts", contact_key, required=False)]


CUSTOMER = RecordMapping(
    "Accounts",
    (
        text("Account_Name", "CustomerName", required=True),
        key("Account_Number"),
        _phone("Phone", "TelephoneNo", "TelephoneExt"),
        text("Fax", "FaxNo"),
        text("Website", "URLAddress"),
        *_address("Billing"),
        *_address("Shipping"),
        text("Account_Type", "CustomerType"),
        key("Sage_Customer_No"),
        computed("Sage_Salesperson", "SalespersonDivisionNo+SalespersonNo", _salesperson),
        text("Sage_Terms_Code", "TermsCode"),
        column("Sage_Credit_Hold", v.flag, "CreditHold", text_value=False),
        money("Sage_Credit_Limit", "CreditLimit"),
        money("Sage_Current_Balance", "CurrentBalance"),
        *(money(f"Sage_Aging_{i}", f"AgingCategory{i}") for i in range(1, 5)),
        column("Sage_Last_Payment_Date", v.sage_date, "DateLastPayment"),
        money("Sage_Last_Payment_Amount", "LastPaymentAmt"),
        _status("CustomerStatus"),
        text("Sage_Inactive_Reason", "InactiveReasonCode"),
    ),
    links=_primary_contact,
)
"""AR_Customer -> Accounts. Inactive customers are marked (Sage_Status), never deleted."""


def split_name(name: str) -> tuple[str | None, str]:
    """'Artie Johnson' -> ('Artie', 'Johnson'); 'Johnson, Artie' -> ('Artie', 'Johnson');
    one word is the last name (Zoho requires Last_Name, First_Name is optional)."""
    if "," in name:
        last, _, first = name.partition(",")
        return (first.strip() or None), last.strip() or first.strip()
    first, _, last = name.rpartition(" ")
    return (first.strip() or None), last


def _first_name(row: Row) -> str | None:
    return split_name(v.required_text(row, "ContactName", "Last_Name"))[0]


def _last_name(row: Row) -> str:
    return split_name(v.required_text(row, "ContactName", "Last_Name"))[1]


PRIMARY_FLAG = "PrimaryContact"  # added to contact rows by the agent (docs/sage-entities.md)


def _is_primary(row: Row) -> bool | None:
    """Whether this contact is its customer's default contact (AR_Customer.ContactCode): the
    agent's `PrimaryContact` Y/N; from older agents, a joined `CustomerContactCode`. Neither
    in the row: not set, so Zoho keeps what it has."""
    if PRIMARY_FLAG in row:
        return v.flag(row, PRIMARY_FLAG)
    if "CustomerContactCode" not in row:
        return None
    primary = v.text(row, "CustomerContactCode")
    return primary is not None and primary == v.text(row, "ContactCode")


def _account_link(row: Row, key: str, found: Prepared) -> list[ZohoLookup]:
    account = v.division_key(row, "ARDivisionNo", "CustomerNo")
    return [lookup("Account_Name", "Accounts", account)]


CONTACT = RecordMapping(
    "Contacts",
    (
        computed("First_Name", "ContactName", _first_name),
        computed("Last_Name", "ContactName", _last_name),
        text("Salutation", "Salutation"),
        text("Title", "ContactTitle"),
        _phone("Phone", "TelephoneNo1", "TelephoneExt1"),
        _phone("Other_Phone", "TelephoneNo2", "TelephoneExt2"),
        text("Fax", "FaxNo"),
        column("Email", v.email, "EmailAddress"),
        *_address("Mailing", "Zip"),
        text("Description", "ContactNotes"),
        key("Sage_Contact_Key"),
        # An older agent sends no PrimaryContact: Zoho keeps what it has.
        Field(
            "Sage_Is_Primary_Contact",
            PRIMARY_FLAG,
            read=_is_primary,
            text_value=False,
            clears=False,
        ),
    ),
    links=_account_link,
)
"""AR_CustomerContact -> Contacts, linked to its account by the account's Sage key."""


VENDOR = RecordMapping(
    "Vendors",
    (
        text("Vendor_Name", "VendorName", required=True),
        column("Email", v.email, "EmailAddress"),
        _phone("Phone", "TelephoneNo", "TelephoneExt"),
        text("Website", "URLAddress"),
        text("Category", "VendorType"),
        computed("Street", "+".join(STREET), street_reader(STREET)),
        text("City", "City"),
        text("State", "State"),
        text("Zip_Code", "ZipCode"),
        computed("Country", "CountryCode", country_reader("CountryCode")),
        key("Sage_Vendor_No"),
        text("Sage_Terms_Code", "TermsCode"),
        _status("VendorStatus"),
        money("Sage_Balance_Due", "BalanceDue"),
        column("Sage_Last_Payment_Date", v.sage_date, "LastPaymentDate"),
    ),
)
"""AP_Vendor -> Vendors."""

MASTER_DATA: dict[Entity, RecordMapping] = {
    Entity.AR_CUSTOMER: CUSTOMER,
    Entity.CUSTOMER_CONTACT: CONTACT,
    Entity.AP_VENDOR: VENDOR,
}
