"""What Zoho accepts per module: mandatory fields and text lengths (zoho-crm.md §3.1, §4).

Zoho answers INVALID_DATA for a value longer than the field's maximum and MANDATORY_NOT_FOUND
for a missing mandatory field. Checking here turns those into mapping failures that name the
Sage column, before a Zoho call is spent. Lengths are Zoho's defaults for the standard fields
(the same numbers the Zoho emulator's catalog uses); custom single-line text fields are 255.
"""

from __future__ import annotations

import re

from mapper.values import EMAIL_PATTERN, PHONE_PATTERN

MAX_RECORDS_PER_CALL = 100
DEFAULT_TEXT_LENGTH = 255
TEXTAREA_LENGTH = 32000

_ADDRESS = {"Street": 250, "City": 100, "State": 100, "Code": 30, "Zip": 30, "Country": 100}


def _address(prefix: str) -> dict[str, int]:
    return {f"{prefix}_{part}": length for part, length in _ADDRESS.items()}


_INVENTORY = {
    "Subject": 250,
    "Status": 120,
    "Purchase_Order": 100,
    "Customer_No": 100,
    "Carrier": 120,
    **_address("Billing"),
    **_address("Shipping"),
}

TEXT_LENGTHS: dict[str, dict[str, int]] = {
    "Accounts": {
        "Account_Name": 200,
        "Account_Number": 40,
        "Phone": 30,
        "Fax": 30,
        "Account_Type": 120,
        "Sage_Customer_No": 40,
        **_address("Billing"),
        **_address("Shipping"),
    },
    "Contacts": {
        "First_Name": 40,
        "Last_Name": 80,
        "Email": 100,
        "Phone": 30,
        "Other_Phone": 30,
        "Mobile": 30,
        "Fax": 30,
        "Title": 100,
        "Salutation": 120,
        **_address("Mailing"),
    },
    "Vendors": {
        "Vendor_Name": 120,
        "Email": 100,
        "Phone": 30,
        "Category": 120,
        "Street": 250,
        "City": 100,
        "State": 100,
        "Zip_Code": 30,
        "Country": 100,
    },
    "Products": {"Product_Name": 200, "Product_Code": 40},
    "Sales_Orders": _INVENTORY,
    "Invoices": _INVENTORY,
}
CUSTOM_MODULE_NAME_LENGTH = 120
MANDATORY: dict[str, tuple[str, ...]] = {
    "Accounts": ("Account_Name",),
    "Contacts": ("Last_Name",),
    "Vendors": ("Vendor_Name",),
    "Products": ("Product_Name",),
    "Sales_Orders": ("Subject", "Ordered_Items"),
    "Invoices": ("Subject", "Invoiced_Items"),
}
LINE_ITEM_SUBFORMS = frozenset({"Ordered_Items", "Invoiced_Items"})
TEXTAREAS = frozenset({"Description", "Terms_and_Conditions"})
# Zoho checks the format of phone, website and e-mail fields (INVALID_DATA otherwise).
_WEBSITE = re.compile(r"^(?:https?://)?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::\d+)?(?:[/?#]\S*)?$")
FORMATS: dict[str, tuple[re.Pattern[str], str]] = {
    "Phone": (PHONE_PATTERN, "not a phone number"),
    "Other_Phone": (PHONE_PATTERN, "not a phone number"),
    "Mobile": (PHONE_PATTERN, "not a phone number"),
    "Website": (_WEBSITE, "not a web address"),
    "Email": (EMAIL_PATTERN, "not an e-mail address"),
}


def mandatory_fields(module: str) -> tuple[str, ...]:
    """Standard modules per the table; every custom module requires `Name`."""
    return MANDATORY.get(module, ("Name",))


def _lengths(module: str) -> dict[str, int]:
    lengths = dict.fromkeys(TEXTAREAS, TEXTAREA_LENGTH)
    if module not in TEXT_LENGTHS:
        lengths["Name"] = CUSTOM_MODULE_NAME_LENGTH
    return lengths | TEXT_LENGTHS.get(module, {})


_LENGTHS: dict[str, dict[str, int]] = {}


def _lengths_of(module: str) -> dict[str, int]:
    lengths = _LENGTHS.get(module)
    if lengths is None:
        lengths = _LENGTHS[module] = _lengths(module)
    return lengths


def max_length(module: str, field: str) -> int:
    return _lengths_of(module).get(field, DEFAULT_TEXT_LENGTH)
