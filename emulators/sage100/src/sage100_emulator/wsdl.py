"""WSDL of the eBusiness Web Services face (document/literal wrapped), built from the schema.

The real service's target namespace and URL path are unconfirmed (sage100.md §1); this uses
NAMESPACE below. Element names are Sage's: `logon` {Username, Password} and `companyCode` in
every call, `arDivisionNo`/`customerNo`/`contactCode`/`salesOrderNo` parts, `<Op>Result`
wrappers, `MasFault` {ErrorCode, ErrorMessage} faults. Date columns are xs:dateTime (blank =
ContractInformation.NullDateTime), amounts xs:decimal, everything else xs:string.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from sage100_emulator.columns import Kind
from sage100_emulator.schema import (
    AR_CUSTOMER,
    AR_CUSTOMER_CONTACT,
    SO_DETAIL,
    SO_HEADER,
    TableSpec,
)

NAMESPACE = "http://sage100.emulator/eBusinessWebServices"  # the real URN is unconfirmed
NULL_DATETIME = "0001-01-01T00:00:00"

# operation -> (parameter parts, result type or None)
OPERATIONS: dict[str, tuple[list[tuple[str, str]], str | None]] = {
    "GetContractInformation": ([], "ContractInformation"),
    "GetCustomer": ([("arDivisionNo", "xs:string"), ("customerNo", "xs:string")], "Customer"),
    "GetNextCustomerNo": ([], "xs:string"),
    "CreateCustomer": ([("customer", "tns:Customer")], None),
    "UpdateCustomer": ([("customer", "tns:Customer")], None),
    "DeleteCustomer": ([("arDivisionNo", "xs:string"), ("customerNo", "xs:string")], None),
    "GetCustomerContact": (
        [("arDivisionNo", "xs:string"), ("customerNo", "xs:string"), ("contactCode", "xs:string")],
        "CustomerContact",
    ),
    "CreateCustomerContact": ([("customerContact", "tns:CustomerContact")], None),
    "UpdateCustomerContact": ([("customerContact", "tns:CustomerContact")], None),
    "GetSalesOrder": ([("salesOrderNo", "xs:string")], "SalesOrder"),
    "GetNextSalesOrderNo": ([], "xs:string"),
}
NEEDS_LOGON = {name for name in OPERATIONS if name != "GetContractInformation"}


def is_date(name: str) -> bool:
    return name.startswith("Date") or name.endswith("Date")


def xsd_type(spec: TableSpec, name: str) -> str:
    column = spec.by_name[name]
    if column.kind is Kind.NUMBER:
        return "xs:decimal"
    return "xs:dateTime" if is_date(name) else "xs:string"


def _complex(name: str, spec: TableSpec, extra: str = "") -> str:
    fields = "".join(
        f'<xs:element name="{c.name}" type="{xsd_type(spec, c.name)}" minOccurs="0"/>'
        for c in spec.columns
    )
    return (
        f'<xs:complexType name="{name}"><xs:sequence>{fields}{extra}</xs:sequence></xs:complexType>'
    )


def _types() -> str:
    lines = (
        '<xs:element name="Lines" minOccurs="0"><xs:complexType><xs:sequence>'
        '<xs:element name="SalesOrderLine" type="tns:SalesOrderLine" minOccurs="0"'
        ' maxOccurs="unbounded"/></xs:sequence></xs:complexType></xs:element>'
    )
    return "".join(
        (
            '<xs:complexType name="Logon"><xs:sequence>'
            '<xs:element name="Username" type="xs:string"/>'
            '<xs:element name="Password" type="xs:string"/></xs:sequence></xs:complexType>',
            '<xs:complexType name="ContractInformation"><xs:sequence>'
            '<xs:element name="ContractVersion" type="xs:int"/>'
            '<xs:element name="AssemblyVersion" type="xs:string"/>'
            '<xs:element name="NullDateTime" type="xs:dateTime"/></xs:sequence></xs:complexType>',
            _complex("Customer", AR_CUSTOMER),
            _complex("CustomerContact", AR_CUSTOMER_CONTACT),
            _complex("SalesOrderLine", SO_DETAIL),
            _complex("SalesOrder", SO_HEADER, lines),
            '<xs:element name="MasFault"><xs:complexType><xs:sequence>'
            '<xs:element name="ErrorCode" type="xs:string"/>'
            '<xs:element name="ErrorMessage" type="xs:string"/></xs:sequence></xs:complexType>'
            "</xs:element>",
        )
    )


def _elements() -> str:
    out = []
    for op, (params, result) in OPERATIONS.items():
        parts = "".join(
            f'<xs:element name="{name}" type="{kind}"/>'
            for name, kind in (
                [("logon", "tns:Logon"), ("companyCode", "xs:string")] if op in NEEDS_LOGON else []
            )
            + params
        )
        out.append(
            f'<xs:element name="{op}"><xs:complexType><xs:sequence>{parts}'
            "</xs:sequence></xs:complexType></xs:element>"
        )
        result_el = ""
        if result is not None:
            kind = result if result.startswith("xs:") else f"tns:{result}"
            result_el = f'<xs:element name="{op}Result" type="{kind}" minOccurs="0"/>'
        out.append(
            f'<xs:element name="{op}Response"><xs:complexType><xs:sequence>{result_el}'
            "</xs:sequence></xs:complexType></xs:element>"
        )
    return "".join(out)


def wsdl(location: str) -> str:
    ops = list(OPERATIONS)
    messages = (
        "".join(
            f'<message name="{op}Request"><part name="parameters" element="tns:{op}"/></message>'
            f'<message name="{op}Response">'
            f'<part name="parameters" element="tns:{op}Response"/></message>'
            for op in ops
        )
        + '<message name="MasFaultMessage"><part name="detail" element="tns:MasFault"/></message>'
    )
    port = "".join(
        f'<operation name="{op}"><input message="tns:{op}Request"/>'
        f'<output message="tns:{op}Response"/>'
        '<fault name="MasFault" message="tns:MasFaultMessage"/>'
        "</operation>"
        for op in ops
    )
    binding = "".join(
        f'<operation name="{op}"><soap:operation soapAction="{NAMESPACE}/{op}" style="document"/>'
        '<input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>'
        '<fault name="MasFault"><soap:fault name="MasFault" use="literal"/></fault></operation>'
        for op in ops
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"'
        f' xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"'
        f' xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:tns="{NAMESPACE}"'
        f' targetNamespace="{NAMESPACE}" name="eBusinessWebServices">'
        f'<types><xs:schema targetNamespace="{NAMESPACE}" elementFormDefault="qualified">'
        f"{_types()}{_elements()}</xs:schema></types>{messages}"
        f'<portType name="IeBusinessWebServices">{port}</portType>'
        f'<binding name="BasicHttpBinding" type="tns:IeBusinessWebServices">'
        f'<soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>'
        f"{binding}</binding>"
        f'<service name="eBusinessWebServices"><port name="BasicHttpBinding"'
        f' binding="tns:BasicHttpBinding"><soap:address location={quoteattr(location)}/></port>'
        "</service></definitions>"
    )
