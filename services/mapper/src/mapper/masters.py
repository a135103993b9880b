"""Master data: AR customers -> Accounts, customer contacts -> Contacts, AP vendors -> Vendors."""

from __future__ import annotations

from mlc_core.contracts import ZohoLookup
from mlc_core.sage.entities import KEY_SEPARATOR

from mapper import values as v
from mapper.drafts import Draft, Options, lookup
from mapper.values import Row

STATUS_NAMES = {"A": "Active", "I": "Inactive", "T": "Temporary"}
# A field made of several columns names them all when Zoho would refuse it.
STREET = "AddressLine1+AddressLine2+AddressLine3"

ACCOUNT_SOURCES = {
    "Account_Name": "CustomerName",
    "Phone": "TelephoneNo+TelephoneExt",
    "Fax": "FaxNo",
    "Website": "URLAddress",
    "Billing_Street": STREET,
    "Billing_City": "City",
    "Billing_State": "State",
    "Billing_Code": "ZipCode",
    "Billing_Country": "CountryCode",
    "Shipping_Street": STREET,
    "Shipping_City": "City",
    "Shipping_State": "State",
    "Shipping_Code": "ZipCode",
    "Shipping_Country": "CountryCode",
    "Account_Type": "CustomerType",
    "Sage_Terms_Code": "TermsCode",
    "Sage_Inactive_Reason": "InactiveReasonCode",
}


def _address(row: Row, prefix: str, zip_suffix: str = "Code") -> dict[str, object]:
    return {
        f"{prefix}_Street": v.street(row, "AddressLine1", "AddressLine2", "AddressLine3"),
        f"{prefix}_City": v.text(row, "City"),
        f"{prefix}_State": v.text(row, "State"),
        f"{prefix}_{zip_suffix}": v.text(row, "ZipCode"),
        f"{prefix}_Country": v.country(row, "CountryCode"),
    }


def _billing_and_shipping(row: Row) -> dict[str, object]:
    """Sage keeps one address per customer (ship-to addresses live in SO_ShipToAddress)."""
    billing = _address(row, "Billing")
    return billing | {name.replace("Billing", "Shipping"): value for name, value in billing.items()}


def _salesperson(row: Row) -> str | None:
    number = v.text(row, "SalespersonNo")
    division = v.text(row, "SalespersonDivisionNo")
    return f"{division}-{number}" if division and number else number


def _credit(row: Row) -> dict[str, object]:
    aging = {f"Sage_Aging_{i}": v.money(row, f"AgingCategory{i}") for i in range(1, 5)}
    return {
        "Sage_Credit_Hold": v.flag(row, "CreditHold"),
        "Sage_Credit_Limit": v.money(row, "CreditLimit"),
        "Sage_Current_Balance": v.money(row, "CurrentBalance"),
        **aging,
        "Sage_Last_Payment_Date": v.sage_date(row, "DateLastPayment"),
        "Sage_Last_Payment_Amount": v.money(row, "LastPaymentAmt"),
    }


def customer(row: Row, key: str, options: Options) -> list[Draft]:
    """AR_Customer -> Accounts. Inactive customers are marked (Sage_Status), never deleted."""
    record = {
        "Account_Name": v.required_text(row, "CustomerName", "Account_Name"),
        "Account_Number": key,
        "Phone": v.phone(row, "TelephoneNo", "TelephoneExt"),
        "Fax": v.text(row, "FaxNo"),
        "Website": v.text(row, "URLAddress"),
        **_billing_and_shipping(row),
        "Account_Type": v.text(row, "CustomerType"),
        "Sage_Customer_No": key,
        "Sage_Salesperson": _salesperson(row),
        "Sage_Terms_Code": v.text(row, "TermsCode"),
        **_credit(row),
        "Sage_Status": v.code(row, "CustomerStatus", STATUS_NAMES),
        "Sage_Inactive_Reason": v.text(row, "InactiveReasonCode"),
    }
    return [Draft("Accounts", key, v.compact(record), ACCOUNT_SOURCES, _primary_contact(row, key))]


def _primary_contact(row: Row, key: str) -> list[ZohoLookup]:
    """The customer's default contact (AR_Customer.ContactCode), linked from the account.
    Not required: contacts follow their account, so on a first load it is linked on the
    customer's next change rather than holding the account back."""
    code = v.text(row, "ContactCode")
    if code is None:
        return []
    contact_key = f"{key}{KEY_SEPARATOR}{code}"
    return [lookup("Sage_Primary_Contact", "Contacts", contact_key, required=False)]


CONTACT_SOURCES = {
    "First_Name": "ContactName",
    "Last_Name": "ContactName",
    "Title": "ContactTitle",
    "Salutation": "Salutation",
    "Phone": "TelephoneNo1+TelephoneExt1",
    "Other_Phone": "TelephoneNo2+TelephoneExt2",
    "Fax": "FaxNo",
    "Email": "EmailAddress",
    "Description": "ContactNotes",
    "Mailing_Street": STREET,
    "Mailing_City": "City",
    "Mailing_State": "State",
    "Mailing_Zip": "ZipCode",
    "Mailing_Country": "CountryCode",
}


def split_name(name: str) -> tuple[str | None, str]:
    """'Artie Johnson' -> ('Artie', 'Johnson'); 'Johnson, Artie' -> ('Artie', 'Johnson');
    one word is the last name (Zoho requires Last_Name, First_Name is optional)."""
    if "," in name:
        last, _, first = name.partition(",")
        return (first.strip() or None), last.strip() or first.strip()
    first, _, last = name.rpartition(" ")
    return (first.strip() or None), last


def _is_primary(row: Row) -> bool | None:
    """The customer's default contact is AR_Customer.ContactCode. When the agent joins it into
    contact rows as `CustomerContactCode`, the contact carries the flag too; otherwise only
    the account's Sage_Primary_Contact link says which contact it is."""
    if "CustomerContactCode" not in row:
        return None
    primary = v.text(row, "CustomerContactCode")
    return primary is not None and primary == v.text(row, "ContactCode")


def contact(row: Row, key: str, options: Options) -> list[Draft]:
    """AR_CustomerContact -> Contacts, linked to its account by the account's Sage key."""
    first, last = split_name(v.required_text(row, "ContactName", "Last_Name"))
    record = {
        "First_Name": first,
        "Last_Name": last,
        "Salutation": v.text(row, "Salutation"),
        "Title": v.text(row, "ContactTitle"),
        "Phone": v.phone(row, "TelephoneNo1", "TelephoneExt1"),
        "Other_Phone": v.phone(row, "TelephoneNo2", "TelephoneExt2"),
        "Fax": v.text(row, "FaxNo"),
        "Email": v.email(row, "EmailAddress"),
        **_address(row, "Mailing", "Zip"),
        "Description": v.text(row, "ContactNotes"),
        "Sage_Contact_Key": key,
        "Sage_Is_Primary_Contact": _is_primary(row),
    }
    account = v.division_key(row, "ARDivisionNo", "CustomerNo")
    links = [lookup("Account_Name", "Accounts", account)]
    return [Draft("Contacts", key, v.compact(record), CONTACT_SOURCES, links)]


VENDOR_SOURCES = {
    "Vendor_Name": "VendorName",
    "Email": "EmailAddress",
    "Phone": "TelephoneNo+TelephoneExt",
    "Website": "URLAddress",
    "Category": "VendorType",
    "Street": STREET,
    "City": "City",
    "State": "State",
    "Zip_Code": "ZipCode",
    "Country": "CountryCode",
    "Sage_Terms_Code": "TermsCode",
}


def vendor(row: Row, key: str, options: Options) -> list[Draft]:
    """AP_Vendor -> Vendors."""
    record = {
        "Vendor_Name": v.required_text(row, "VendorName", "Vendor_Name"),
        "Email": v.email(row, "EmailAddress"),
        "Phone": v.phone(row, "TelephoneNo", "TelephoneExt"),
        "Website": v.text(row, "URLAddress"),
        "Category": v.text(row, "VendorType"),
        "Street": v.street(row, "AddressLine1", "AddressLine2", "AddressLine3"),
        "City": v.text(row, "City"),
        "State": v.text(row, "State"),
        "Zip_Code": v.text(row, "ZipCode"),
        "Country": v.country(row, "CountryCode"),
        "Sage_Vendor_No": key,
        "Sage_Terms_Code": v.text(row, "TermsCode"),
        "Sage_Status": v.code(row, "VendorStatus", STATUS_NAMES),
        "Sage_Balance_Due": v.money(row, "BalanceDue"),
        "Sage_Last_Payment_Date": v.sage_date(row, "LastPaymentDate"),
    }
    return [Draft("Vendors", key, v.compact(record), VENDOR_SOURCES)]
