"""Master data: AR customers -> Accounts, customer contacts -> Contacts, AP vendors -> Vendors.

Each is an EntitySpec, the field list a tenant's map is compiled with (mapper.plan).
"""

from __future__ import annotations

from functools import partial

from mlc_core.contracts import ZohoLookup
from mlc_core.entities.sage import KEY_SEPARATOR

from mapper import values as v
from mapper.construct import trusted
from mapper.drafts import EXTERNAL_FIELDS
from mapper.plan import EntitySpec, Field, column, computed, key, money, text
from mapper.values import Row

STATUS_NAMES = {"A": "Active", "I": "Inactive", "T": "Temporary"}
# A field made of several columns names them all when Zoho would refuse it.
STREET = "AddressLine1+AddressLine2+AddressLine3"


def _address(prefix: str, zip_suffix: str = "Code") -> tuple[Field, ...]:
    """Sage keeps one address per customer (ship-to addresses live in SO_ShipToAddress)."""
    return (
        computed(f"{prefix}_Street", STREET, _street),
        text(f"{prefix}_City", "City"),
        text(f"{prefix}_State", "State"),
        text(f"{prefix}_{zip_suffix}", "ZipCode"),
        computed(f"{prefix}_Country", "CountryCode", _country),
    )


# One reader object per column: a plan copies a repeated reader's value (mapper.plan).
_country = partial(v.country, column="CountryCode")


def _street(row: Row) -> str | None:
    return v.street(row, "AddressLine1", "AddressLine2", "AddressLine3")


def _phone(name: str, number_column: str, ext_column: str) -> Field:
    """'(414) 555-4787' + '12' -> '(414) 555-4787 x12'."""
    read = partial(v.phone, number_column=number_column, ext_column=ext_column)
    return computed(name, f"{number_column}+{ext_column}", read)


def _status(column_name: str) -> Field:
    return computed(
        "Sage_Status", column_name, partial(v.code, column=column_name, names=STATUS_NAMES)
    )


def _salesperson(row: Row) -> str | None:
    number = v.text(row, "SalespersonNo")
    division = v.text(row, "SalespersonDivisionNo")
    return f"{division}-{number}" if division and number else number


def link(path: str, module: str, key: str, *, required: bool = True) -> ZohoLookup:
    """drafts.lookup without validating its text again (a link per customer and contact)."""
    return trusted(
        ZohoLookup,
        path=path,
        module=module,
        external_field=EXTERNAL_FIELDS[module],
        external_value=key,
        required=required,
    )


def _primary_contact(row: Row, key: str) -> list[ZohoLookup]:
    """The customer's default contact (AR_Customer.ContactCode), linked from the account.
    Not required: contacts follow their account, so on a first load it is linked on the
    customer's next change rather than holding the account back."""
    code = v.text(row, "ContactCode")
    if code is None:
        return []
    contact_key = f"{key}{KEY_SEPARATOR}{code}"
    return [link("Sage_Primary_Contact", "Contacts", contact_key, required=False)]


CUSTOMER = EntitySpec(
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


def _account_link(row: Row, key: str) -> list[ZohoLookup]:
    account = v.division_key(row, "ARDivisionNo", "CustomerNo")
    return [link("Account_Name", "Accounts", account)]


CONTACT = EntitySpec(
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
        Field("Sage_Is_Primary_Contact", PRIMARY_FLAG, read=_is_primary, text_value=False),
    ),
    links=_account_link,
)
"""AR_CustomerContact -> Contacts, linked to its account by the account's Sage key."""


VENDOR = EntitySpec(
    "Vendors",
    (
        text("Vendor_Name", "VendorName", required=True),
        column("Email", v.email, "EmailAddress"),
        _phone("Phone", "TelephoneNo", "TelephoneExt"),
        text("Website", "URLAddress"),
        text("Category", "VendorType"),
        computed("Street", STREET, _street),
        text("City", "City"),
        text("State", "State"),
        text("Zip_Code", "ZipCode"),
        computed("Country", "CountryCode", _country),
        key("Sage_Vendor_No"),
        text("Sage_Terms_Code", "TermsCode"),
        _status("VendorStatus"),
        money("Sage_Balance_Due", "BalanceDue"),
        column("Sage_Last_Payment_Date", v.sage_date, "LastPaymentDate"),
    ),
    links=lambda row, source_key: [],
)
"""AP_Vendor -> Vendors."""
