"""Seedable generator of a whole company around its customers: contacts, vendors and their open
invoices, a chart of accounts, sales orders with lines, AR invoice history and open AR invoices.

Proportions follow a mid-size distributor: 1-2 contacts per customer, one vendor per 20
customers, one open sales order per 4 customers, one invoice per 2 customers. Invoices of the
last 60 days are still in AR_OpenInvoice (some paid, at Balance 0, awaiting the purge), and one
customer in 20 owes a finance charge that exists only there.
"""

from __future__ import annotations

import datetime as dt
import random

from sage100_emulator import sample_data as sd
from sage100_emulator.clock import format_date
from sage100_emulator.columns import Row

GL_GROUPS: tuple[tuple[str, str, str, str], ...] = (
    # AccountGroup, AccountGroupDesc, AccountCategory, AccountType
    ("CASH", "Cash and Equivalents", "A", "01"),
    ("RECEIVABLES", "Accounts Receivable", "A", "02"),
    ("INVENTORY", "Inventory", "A", "04"),
    ("PAYABLES", "Accounts Payable", "L", "07"),
    ("EQUITY", "Owners Equity", "C", "09"),
    ("REVENUE", "Sales Revenue", "I", "11"),
    ("COGS", "Cost of Goods Sold", "E", "12"),
    ("OPEX", "Operating Expenses", "E", "13"),
)
GL_MAIN: tuple[tuple[str, str, str], ...] = (
    ("1000", "Cash in Bank - Operating", "CASH"),
    ("1010", "Petty Cash", "CASH"),
    ("1200", "Accounts Receivable", "RECEIVABLES"),
    ("1300", "Inventory - Finished Goods", "INVENTORY"),
    ("2000", "Accounts Payable", "PAYABLES"),
    ("3000", "Common Stock", "EQUITY"),
    ("3100", "Retained Earnings", "EQUITY"),
    ("4000", "Sales - Products", "REVENUE"),
    ("4100", "Sales - Freight", "REVENUE"),
    ("5000", "Cost of Goods Sold", "COGS"),
    ("6000", "Salaries and Wages", "OPEX"),
    ("6100", "Rent", "OPEX"),
    ("6200", "Utilities", "OPEX"),
    ("6300", "Office Supplies", "OPEX"),
)
ITEMS: tuple[tuple[str, str, float], ...] = (
    ("BRG-6204-2RS", "Ball Bearing 6204 2RS", 4.35),
    ("FST-HX-0516", "Hex Bolt 5/16 x 2 Zinc", 0.18),
    ("SAF-GLV-NIT-L", "Nitrile Gloves Large (100)", 11.90),
    ("JAN-TWL-ROLL", "Paper Towel Roll 800ft", 6.25),
    ("ELC-WIRE-12G", "12 AWG THHN Wire 500ft", 86.00),
    ("HYD-HOSE-38", "Hydraulic Hose 3/8in per ft", 3.10),
    ("PKG-TAPE-48", "Packing Tape 48mm x 100m", 2.45),
    ("LGT-LED-T8", "LED Tube T8 4ft", 7.80),
)
VENDOR_TRADES = ("Supply", "Manufacturing", "Logistics", "Wholesale", "Industries")


class CompanyGenerator:
    def __init__(self, seed: int, today: dt.date) -> None:
        self._rng = random.Random(seed)
        self._today = today

    def _date(self, max_days_ago: int) -> str:
        return format_date(self._today - dt.timedelta(days=self._rng.randint(0, max_days_ago)))

    def contacts(self, customers: list[Row]) -> list[Row]:
        rows: list[Row] = []
        for customer in customers:
            codes = [str(customer.get("ContactCode") or "MAIN")]
            if self._rng.random() < 0.5:
                codes.append("AP")
            for code in codes:
                rows.append(self._contact(customer, code))
        return rows

    def _contact(self, customer: Row, code: str) -> Row:
        first, last = self._rng.choice(sd.CONTACT_FIRST), self._rng.choice(sd.CONTACT_LAST)
        domain = str(customer.get("EmailAddress", "@example.com")).split("@")[-1]
        return {
            "ARDivisionNo": customer["ARDivisionNo"],
            "CustomerNo": customer["CustomerNo"],
            "ContactCode": code[:10],
            "ContactName": f"{first} {last}",
            "AddressLine1": customer.get("AddressLine1", ""),
            "City": customer.get("City", ""),
            "State": customer.get("State", ""),
            "ZipCode": customer.get("ZipCode", ""),
            "CountryCode": "USA",
            "Salutation": self._rng.choice(("Mr.", "Ms.", "")),
            "ContactTitle": "AP Clerk" if code == "AP" else "Purchasing Mgr",
            "TelephoneNo1": customer.get("TelephoneNo", ""),
            "EmailAddress": f"{first[0]}{last}@{domain}".lower().replace("'", "")[:50],
        }

    def vendors(self, count: int, division: str) -> list[Row]:
        rows: list[Row] = []
        for number in range(1, count + 1):
            city, state, zip_code, area = self._rng.choice(sd.CITIES)
            name = f"{self._rng.choice(sd.NAME_PREFIXES)} {self._rng.choice(VENDOR_TRADES)}"
            rows.append(
                {
                    "APDivisionNo": division,
                    "VendorNo": f"{number * 10:07d}",
                    "VendorName": name[:30],
                    "AddressLine1": f"{self._rng.randint(10, 9899)} {self._rng.choice(sd.STREETS)}",
                    "City": city,
                    "State": state,
                    "ZipCode": zip_code,
                    "CountryCode": "USA",
                    "TelephoneNo": f"({area}) {self._rng.randint(201, 989)}-{number % 10000:04d}",
                    "TermsCode": "01",
                    "TaxpayerIDSocialSecurityNo": f"{self._rng.randint(10**8, 10**9 - 1)}",
                    "BalanceDue": round(self._rng.uniform(0, 25000), 2),
                }
            )
        return rows

    def ap_invoices(self, vendors: list[Row]) -> list[Row]:
        rows: list[Row] = []
        for vendor in vendors:
            for n in range(self._rng.randint(0, 4)):
                amount = round(self._rng.uniform(50, 20000), 2)
                rows.append(
                    {
                        "APDivisionNo": vendor["APDivisionNo"],
                        "VendorNo": vendor["VendorNo"],
                        "InvoiceNo": f"V{self._rng.randint(10000, 99999)}{n}",
                        "HeaderSeqNo": "000000",
                        "InvoiceDate": self._date(60),
                        "InvoiceDueDate": self._date(10),
                        "TermsCode": "01",
                        "InvoiceAmt": amount,
                        "Balance": amount if self._rng.random() < 0.7 else 0.0,
                    }
                )
        return rows

    def gl_groups(self) -> list[Row]:
        return [
            {"AccountGroup": g, "AccountGroupDesc": d, "AccountCategory": c, "AccountType": t}
            for g, d, c, t in GL_GROUPS
        ]

    def gl_accounts(self, company_code: str) -> list[Row]:
        types = {group: account_type for group, _, _, account_type in GL_GROUPS}
        rows: list[Row] = []
        for index, (main, desc, group) in enumerate(GL_MAIN, start=1):
            for sub in ("00", "01"):
                rows.append(
                    {
                        "AccountKey": f"{index * 10 + int(sub):09d}",
                        "AccountDesc": desc if sub == "00" else f"{desc} - Branch",
                        "Account": f"{main}-{sub}",
                        "RawAccount": f"{main}{sub}",
                        "MainAccountCode": main,
                        "AccountType": types[group],
                        "AccountGroup": group,
                        "CompanyCode": company_code,
                    }
                )
        return rows

    def sales_orders(self, customers: list[Row], count: int) -> tuple[list[Row], list[Row]]:
        headers: list[Row] = []
        lines: list[Row] = []
        for number, customer in enumerate(self._rng.sample(customers, count), start=1):
            order_no = f"{number:07d}"
            order_lines = self._lines(order_no)
            lines.extend(order_lines)
            headers.append(
                {
                    "SalesOrderNo": order_no,
                    "OrderDate": self._date(30),
                    "OrderStatus": self._rng.choice(("N", "O", "O", "O", "H")),
                    "ARDivisionNo": customer["ARDivisionNo"],
                    "CustomerNo": customer["CustomerNo"],
                    "BillToName": customer.get("CustomerName", ""),
                    "CustomerPONo": f"PO{self._rng.randint(1000, 99999)}",
                    "WarehouseCode": "000",
                    "TermsCode": customer.get("TermsCode", "00"),
                    "SalespersonDivisionNo": customer["ARDivisionNo"],
                    "SalespersonNo": customer.get("SalespersonNo", ""),
                    "TaxableAmt": round(
                        sum(float(line["ExtensionAmt"]) for line in order_lines), 2
                    ),
                    "FreightAmt": self._rng.choice((0.0, 15.0, 45.5)),
                }
            )
        return headers, lines

    def _lines(self, order_no: str) -> list[Row]:
        lines: list[Row] = []
        for index in range(1, self._rng.randint(1, 4) + 1):
            code, desc, price = self._rng.choice(ITEMS)
            quantity = float(self._rng.randint(1, 50))
            lines.append(
                {
                    "SalesOrderNo": order_no,
                    "LineKey": f"{index:06d}",
                    "LineSeqNo": f"{index:014d}",
                    "ItemCode": code,
                    "ItemCodeDesc": desc,
                    "WarehouseCode": "000",
                    "UnitOfMeasure": "EACH",
                    "QuantityOrdered": quantity,
                    "UnitPrice": price,
                    "ExtensionAmt": round(quantity * price, 2),
                }
            )
        return lines

    def open_invoices(self, history: list[Row], customers: list[Row]) -> list[Row]:
        recent = format_date(self._today - dt.timedelta(days=60))
        rows = [self._open_from(h) for h in history if str(h["InvoiceDate"]) >= recent]
        charged = self._rng.sample(customers, len(customers) // 20)
        return rows + [self._finance_charge(n, c) for n, c in enumerate(charged, start=1)]

    def _open_from(self, invoice: Row) -> Row:
        total = round(float(invoice["TaxableSalesAmt"]) + float(invoice["FreightAmt"]), 2)
        sign = -1 if invoice["InvoiceType"] == "CM" else 1
        paid = self._rng.choice((0.0, 0.0, 0.5, 1.0))
        return {
            **{k: invoice[k] for k in ("ARDivisionNo", "CustomerNo", "InvoiceNo", "InvoiceType")},
            "InvoiceDate": invoice["InvoiceDate"],
            "InvoiceDueDate": _plus_days(str(invoice["InvoiceDate"]), 30),
            "TermsCode": invoice.get("TermsCode", "00"),
            "CustomerPONo": invoice.get("CustomerPONo", ""),
            "TaxableAmt": invoice["TaxableSalesAmt"],
            "FreightAmt": invoice["FreightAmt"],
            "Balance": round(sign * total * (1 - paid), 2),
        }

    def _finance_charge(self, number: int, customer: Row) -> Row:
        amount = round(self._rng.uniform(5, 150), 2)
        invoice_date = self._date(30)
        return {
            "ARDivisionNo": customer["ARDivisionNo"],
            "CustomerNo": customer["CustomerNo"],
            "InvoiceNo": f"FC{number:05d}",
            "InvoiceType": "FC",
            "InvoiceDate": invoice_date,
            "InvoiceDueDate": invoice_date,
            "NonTaxableAmt": amount,
            "Balance": amount,
        }

    def invoices(self, customers: list[Row], count: int) -> list[Row]:
        rows: list[Row] = []
        for number, customer in enumerate(self._rng.sample(customers, count), start=100001):
            rows.append(
                {
                    "InvoiceNo": f"{number:07d}",
                    "HeaderSeqNo": "000000",
                    "InvoiceType": "IN" if self._rng.random() < 0.95 else "CM",
                    "InvoiceDate": self._date(365),
                    "ARDivisionNo": customer["ARDivisionNo"],
                    "CustomerNo": customer["CustomerNo"],
                    "CustomerPONo": f"PO{self._rng.randint(1000, 99999)}",
                    "TermsCode": customer.get("TermsCode", "00"),
                    "TaxableSalesAmt": round(self._rng.uniform(20, 15000), 2),
                    "FreightAmt": self._rng.choice((0.0, 15.0, 45.5)),
                }
            )
        return rows


def _plus_days(sage_date: str, days: int) -> str:
    return format_date(dt.datetime.strptime(sage_date, "%Y%m%d").date() + dt.timedelta(days=days))
