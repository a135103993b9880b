"""The emulator's eBusiness Web Services face on the wire: envelopes, faults, side effects."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sage100_emulator.app import create_app
from sage100_emulator.state import SageState
from sage100_emulator.wsdl import NAMESPACE

pytestmark = pytest.mark.unit
PATH = "/ws/eBusinessWebServices.svc"


@pytest.fixture
async def soap() -> AsyncIterator[httpx.AsyncClient]:
    state = SageState()
    state.generate_company("ABC", 10, seed=1)
    transport = httpx.ASGITransport(app=create_app(state))
    async with httpx.AsyncClient(transport=transport, base_url="http://sage") as http:
        yield http


def envelope(op: str, body: str, user: str = "WEBSVC", password: str = "secret") -> str:
    return (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        f'<{op} xmlns="{NAMESPACE}"><logon><Username>{user}</Username>'
        f"<Password>{password}</Password></logon><companyCode>ABC</companyCode>{body}</{op}>"
        "</s:Body></s:Envelope>"
    )


async def call(http: httpx.AsyncClient, op: str, body: str = "", **kw: str) -> httpx.Response:
    return await http.post(
        PATH, content=envelope(op, body, **kw), headers={"Content-Type": "text/xml"}
    )


def fault_code(response: httpx.Response) -> str:
    assert response.status_code == 500
    text = response.text
    assert "<MasFault" in text and "<faultstring" in text
    return text.split("<ErrorCode>")[1].split("</ErrorCode>")[0]


async def test_wsdl_is_document_literal(soap: httpx.AsyncClient) -> None:
    wsdl = (await soap.get(PATH, params={"wsdl": ""})).text
    assert 'style="document"' in wsdl and 'use="literal"' in wsdl
    for op in ("GetCustomer", "GetCustomerContact", "GetSalesOrder", "GetNextCustomerNo"):
        assert f'<operation name="{op}">' in wsdl


async def test_create_faults_and_next_numbers(soap: httpx.AsyncClient) -> None:
    new = "<customer><ARDivisionNo>01</ARDivisionNo><CustomerNo>NEW1</CustomerNo>{}</customer>"
    ok = await call(
        soap,
        "CreateCustomer",
        new.format("<CustomerName>New</CustomerName><SalespersonNo>0100</SalespersonNo>"),
    )
    assert ok.status_code == 200 and "CreateCustomerResponse" in ok.text
    again = await call(soap, "CreateCustomer", new.format("<SalespersonNo>0100</SalespersonNo>"))
    assert fault_code(again) == "WS_AlreadyExists"
    long_name = new.replace("NEW1", "NEW2").format(
        f"<CustomerName>{'X' * 60}</CustomerName><SalespersonNo>0100</SalespersonNo>"
    )
    long = await call(soap, "CreateCustomer", long_name)
    assert fault_code(long) == "CI_CharLength" and "50 character" in long.text
    viewer = await call(
        soap, "CreateCustomer", new.replace("NEW1", "NEW3").format(""), user="VIEWER"
    )
    assert fault_code(viewer) == "WS_NoAccess"
    first = await call(soap, "GetNextCustomerNo")
    second = await call(soap, "GetNextCustomerNo")
    assert first.text != second.text  # the counter advances even without a create
    missing = await call(soap, "GetSalesOrder", "<salesOrderNo>9999999</salesOrderNo>")
    assert fault_code(missing) == "CI_NoKey"
    order = await call(soap, "GetSalesOrder", "<salesOrderNo>0000001</salesOrderNo>")
    assert "<SalesOrderLine>" in order.text and "<GetSalesOrderResult>" in order.text


async def test_bad_logon_company_and_opaque_exception(soap: httpx.AsyncClient) -> None:
    assert fault_code(await call(soap, "GetNextCustomerNo", password="nope")) == "WS_InvalidLogon"
    wrong = envelope("GetNextCustomerNo", "").replace("<companyCode>ABC", "<companyCode>ZZZ")
    nof = await soap.post(PATH, content=wrong)
    assert fault_code(nof) == "CI_NOF"
    garbage = await soap.post(PATH, content="<not-soap")
    assert fault_code(garbage) == "WS_Exception"
    weird = await call(soap, "UpdateCustomer", "")
    assert "An exception occurred." in weird.text
