"""One definition per entity: its name (`Entity`, below), its Sage side (`sage.SAGE_TABLES`) and
its Zoho side (`zoho.ZOHO_TARGETS`, with the modules they name in `zoho.ZOHO_MODULES`). Every
other per-entity table in the services derives from these; what adding an entity takes is in
docs/architecture.md. This module imports nothing of the project, so contracts can use it.
"""

from __future__ import annotations

from enum import StrEnum


class Entity(StrEnum):
    """Sage 100 record kinds we sync (each has a SageTable and a ZohoTarget)."""

    AR_CUSTOMER = "ar_customer"
    CUSTOMER_CONTACT = "customer_contact"
    AP_VENDOR = "ap_vendor"
    AP_OPEN_INVOICE = "ap_open_invoice"
    GL_ACCOUNT = "gl_account"
    GL_ACCOUNT_GROUP = "gl_account_group"
    SALES_ORDER = "sales_order"
    AR_INVOICE = "ar_invoice"
    AR_OPEN_INVOICE = "ar_open_invoice"
