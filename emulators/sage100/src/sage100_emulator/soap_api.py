"""eBusiness Web Services face (SOAP 1.1, document/literal): GET ?wsdl, POST the operations.

Every call carries `logon` and `companyCode`; rights are checked per operation like Role
Maintenance's Create / Modify / Remove / View. Faults carry `detail/MasFault` with ErrorCode and
ErrorMessage: CI_NoKey (no such record), CI_NOF (company not on file), CI_CharLength (value too
long), WS_AlreadyExists (create on an existing key), WS_NoAccess, WS_InvalidLogon (that code
name is unconfirmed), and the opaque "An exception occurred." for anything unexpected.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sage100_emulator.columns import RecordError, Row, normalize_customer_no, normalize_division
from sage100_emulator.schema import (
    AR_CUSTOMER,
    AR_CUSTOMER_CONTACT,
    SO_DETAIL,
    SO_HEADER,
    TableSpec,
)
from sage100_emulator.state import SageState
from sage100_emulator.wsdl import NAMESPACE, NEEDS_LOGON, NULL_DATETIME, is_date, wsdl

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
PATH = "/ws/eBusinessWebServices.svc"
RIGHTS = {"Get": "view", "Create": "create", "Update": "modify", "Delete": "remove"}


class SoapFault(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class WebUsers:
    """Web-services-enabled users: name -> (password, rights)."""

    users: dict[str, tuple[str, frozenset[str]]] = field(
        default_factory=lambda: {
            "WEBSVC": ("secret", frozenset({"view", "create", "modify", "remove"})),
            "VIEWER": ("secret", frozenset({"view"})),
        }
    )


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ET.Element) -> dict[str, ET.Element]:
    return {_local(child.tag): child for child in element}


def to_xml_value(spec: TableSpec, name: str, value: Any) -> str:
    if is_date(name) and isinstance(value, str):
        if len(value) == 8 and value.isdigit():
            return f"{value[:4]}-{value[4:6]}-{value[6:]}T00:00:00"
        return NULL_DATETIME
    text = f"{value:.2f}" if isinstance(value, float) else str(value)
    # XML cannot carry undecodable bytes: they show up as U+FFFD, as .NET would render them.
    return escape(text.encode("utf-8", "replace").decode("utf-8"))


def from_xml_value(spec: TableSpec, name: str, text: str) -> object:
    if is_date(name):
        return "" if text.startswith("0001-01-01") else text[:10].replace("-", "")
    column = spec.by_name.get(name)
    if column is not None and column.kind.value == "number":
        return float(text)
    return text


def record_xml(spec: TableSpec, row: Mapping[str, Any], extra: str = "") -> str:
    body = "".join(
        f"<{c.name}>{to_xml_value(spec, c.name, row.get(c.name, c.default))}</{c.name}>"
        for c in spec.columns
    )
    return body + extra


def record_from(spec: TableSpec, element: ET.Element) -> dict[str, object]:
    return {
        name: from_xml_value(spec, name, child.text or "")
        for name, child in _children(element).items()
        if name in spec.by_name
    }


class SoapApi:
    def __init__(self, state: SageState, users: WebUsers | None = None) -> None:
        self._state, self._users = state, users or WebUsers()
        self._next_numbers: dict[tuple[str, str], int] = {}
        self._handlers: dict[str, Callable[[str, dict[str, ET.Element]], str]] = {
            "GetContractInformation": self._contract,
            "GetCustomer": self._get_customer,
            "GetNextCustomerNo": self._next_customer_no,
            "CreateCustomer": self._create_customer,
            "UpdateCustomer": self._update_customer,
            "DeleteCustomer": self._delete_customer,
            "GetCustomerContact": self._get_contact,
            "CreateCustomerContact": self._create_contact,
            "UpdateCustomerContact": self._update_contact,
            "GetSalesOrder": self._get_sales_order,
            "GetNextSalesOrderNo": self._next_sales_order_no,
        }

    def routes(self) -> list[Route]:
        return [
            Route(PATH, self.get_wsdl, methods=["GET"]),
            Route(PATH, self.post, methods=["POST"]),
        ]

    async def get_wsdl(self, request: Request) -> Response:
        location = str(request.url.replace(query=""))
        return Response(wsdl(location), media_type="text/xml; charset=utf-8")

    async def post(self, request: Request) -> Response:
        try:
            op, parts = self._parse(await request.body())
            company = self._authorize(op, parts)
            result = self._handlers[op](company, parts)
        except SoapFault as fault:
            return _fault(fault.code, fault.message)
        except Exception:
            # Sage logs the detail to the Windows Event Log; the client sees only this.
            return _fault("WS_Exception", "An exception occurred.")
        inner = "" if result == "" else f"<{op}Result>{result}</{op}Result>"
        return _envelope(f'<{op}Response xmlns="{NAMESPACE}">{inner}</{op}Response>')

    def _parse(self, raw: bytes) -> tuple[str, dict[str, ET.Element]]:
        try:
            body = ET.fromstring(raw).find(f"{{{SOAP_NS}}}Body")
        except ET.ParseError as exc:
            raise SoapFault("WS_Exception", f"malformed SOAP envelope: {exc}") from exc
        if body is None or len(body) == 0 or _local(body[0].tag) not in self._handlers:
            raise SoapFault("WS_Exception", "An exception occurred.")
        return _local(body[0].tag), _children(body[0])

    def _authorize(self, op: str, parts: dict[str, ET.Element]) -> str:
        if op not in NEEDS_LOGON:
            return ""
        logon = _children(parts["logon"]) if "logon" in parts else {}
        user = (logon["Username"].text or "").upper() if "Username" in logon else ""
        password = logon["Password"].text or "" if "Password" in logon else ""
        known = self._users.users.get(user)
        if known is None or known[0] != password:
            raise SoapFault("WS_InvalidLogon", "The user logon or password is invalid.")
        right = next(r for prefix, r in RIGHTS.items() if op.startswith(prefix))
        if right not in known[1]:
            raise SoapFault("WS_NoAccess", f"No Access: {user} may not {right} ({op}).")
        company = (parts["companyCode"].text or "").upper() if "companyCode" in parts else ""
        if company not in self._state.company_codes():
            raise SoapFault("CI_NOF", f"Company {company} is not on file.")
        return company

    # -- operations --------------------------------------------------------------

    def _contract(self, company: str, parts: dict[str, ET.Element]) -> str:
        return (
            "<ContractVersion>1</ContractVersion><AssemblyVersion>6.20.0.0 (emulated)"
            f"</AssemblyVersion><NullDateTime>{NULL_DATETIME}</NullDateTime>"
        )

    def _text(self, parts: dict[str, ET.Element], name: str) -> str:
        return (parts[name].text or "").strip() if name in parts else ""

    def _customer_key(self, parts: dict[str, ET.Element]) -> tuple[str, str]:
        try:
            return (
                normalize_division(self._text(parts, "arDivisionNo")),
                normalize_customer_no(self._text(parts, "customerNo")),
            )
        except RecordError as exc:
            raise SoapFault("CI_NoKey", f"The customer key is invalid: {exc}") from exc

    def _get_row(self, company: str, table: str, key: tuple[str, ...], what: str) -> Row:
        row = self._state.company(company).table(table).get(*key)
        if row is None:
            raise SoapFault("CI_NoKey", f"The {what} {'-'.join(key)} does not exist.")
        return row

    def _get_customer(self, company: str, parts: dict[str, ET.Element]) -> str:
        row = self._get_row(company, "AR_Customer", self._customer_key(parts), "customer")
        return record_xml(AR_CUSTOMER, row)

    def _get_contact(self, company: str, parts: dict[str, ET.Element]) -> str:
        key = (*self._customer_key(parts), self._text(parts, "contactCode"))
        return record_xml(
            AR_CUSTOMER_CONTACT, self._get_row(company, "AR_CustomerContact", key, "contact")
        )

    def _get_sales_order(self, company: str, parts: dict[str, ET.Element]) -> str:
        number = self._text(parts, "salesOrderNo")
        number = number.zfill(7) if number.isdigit() else number
        header = self._get_row(company, "SO_SalesOrderHeader", (number,), "sales order")
        lines = [
            r
            for r in self._state.company(company).table("SO_SalesOrderDetail").rows()
            if r["SalesOrderNo"] == number
        ]
        lines_xml = "".join(
            f"<SalesOrderLine>{record_xml(SO_DETAIL, line)}</SalesOrderLine>" for line in lines
        )
        return record_xml(SO_HEADER, header, f"<Lines>{lines_xml}</Lines>")

    def _next_number(self, company: str, table: str, column: str) -> str:
        rows = self._state.company(company).table(table).rows()
        used = max((int(str(r[column])) for r in rows if str(r[column]).isdigit()), default=0)
        # The counter advances on every call, even if nothing is created (sage100.md §1).
        number = max(used, self._next_numbers.get((company, table), 0)) + 1
        self._next_numbers[(company, table)] = number
        return f"{number:07d}"

    def _next_customer_no(self, company: str, parts: dict[str, ET.Element]) -> str:
        return self._next_number(company, "AR_Customer", "CustomerNo")

    def _next_sales_order_no(self, company: str, parts: dict[str, ET.Element]) -> str:
        return self._next_number(company, "SO_SalesOrderHeader", "SalesOrderNo")

    def _write(
        self, company: str, table: str, spec: TableSpec, element: ET.Element | None, *, create: bool
    ) -> str:
        if element is None:
            raise SoapFault("WS_Exception", "An exception occurred.")
        record = record_from(spec, element)
        target = self._state.company(company).table(table)
        try:
            key = target.key_of(target.normalize(record))
        except RecordError as exc:
            raise _record_fault(exc) from exc
        exists = key in target
        if create and exists:
            raise SoapFault("WS_AlreadyExists", f"{'-'.join(key)} already exists.")
        if not create and not exists:
            raise SoapFault("CI_NoKey", f"{'-'.join(key)} does not exist.")
        if create and table == "AR_Customer" and not record.get("SalespersonNo"):
            raise SoapFault("CI_Required", "SalespersonNo is required.")
        try:
            self._state.write_rows(company, table, [record])
        except RecordError as exc:
            raise _record_fault(exc) from exc
        return ""

    def _create_customer(self, company: str, parts: dict[str, ET.Element]) -> str:
        return self._write(company, "AR_Customer", AR_CUSTOMER, parts.get("customer"), create=True)

    def _update_customer(self, company: str, parts: dict[str, ET.Element]) -> str:
        return self._write(company, "AR_Customer", AR_CUSTOMER, parts.get("customer"), create=False)

    def _delete_customer(self, company: str, parts: dict[str, ET.Element]) -> str:
        key = self._customer_key(parts)
        self._get_row(company, "AR_Customer", key, "customer")
        self._state.delete_row(company, "AR_Customer", key)
        return ""

    def _create_contact(self, company: str, parts: dict[str, ET.Element]) -> str:
        element = parts.get("customerContact")
        return self._write(company, "AR_CustomerContact", AR_CUSTOMER_CONTACT, element, create=True)

    def _update_contact(self, company: str, parts: dict[str, ET.Element]) -> str:
        element = parts.get("customerContact")
        return self._write(
            company, "AR_CustomerContact", AR_CUSTOMER_CONTACT, element, create=False
        )


def _record_fault(exc: RecordError) -> SoapFault:
    if "greater than" in str(exc):
        return SoapFault("CI_CharLength", f"The {exc.column} is {str(exc).split(': ', 1)[-1]}.")
    return SoapFault("CI_InvalidValue", str(exc))


def _envelope(body: str, status: int = 200) -> Response:
    xml = (
        f'<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="{SOAP_NS}">'
        f"<s:Body>{body}</s:Body></s:Envelope>"
    )
    return Response(xml, status, media_type="text/xml; charset=utf-8")


def _fault(code: str, message: str) -> Response:
    text = escape(message)
    return _envelope(
        f'<s:Fault><faultcode xmlns:a="{NAMESPACE}">a:{code}</faultcode>'
        f'<faultstring xml:lang="en-US">{text}</faultstring><detail>'
        f'<MasFault xmlns="{NAMESPACE}"><ErrorCode>{code}</ErrorCode>'
        f"<ErrorMessage>{text}</ErrorMessage></MasFault></detail></s:Fault>",
        500,
    )
