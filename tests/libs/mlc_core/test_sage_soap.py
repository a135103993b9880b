"""The zeep client against the emulator's eBusiness Web Services face over real HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from mlc_core.sage.errors import SageAuthError, SageNotFound
from mlc_core.sage.soap import SageSoapClient
from pydantic import SecretStr
from sage100_emulator.app import create_app
from sage100_emulator.state import SageState

from tests.services.sage_agent.servers import serve

PATH = "/ws/eBusinessWebServices.svc"


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[SageState, str]]:
    state = SageState()
    state.generate_company("ABC", 20, seed=2)
    with serve(create_app(state)) as url:
        yield state, f"{url}{PATH}?wsdl"


def client(
    http: httpx.AsyncClient, wsdl: str, user: str = "WEBSVC", password: str = "secret"
) -> SageSoapClient:
    return SageSoapClient(
        wsdl_url=wsdl, username=user, password=SecretStr(password), company="ABC", http=http
    )


async def test_get_customer_matches_sage_formats(emulator: tuple[SageState, str]) -> None:
    state, wsdl = emulator
    row = state.list_customers("ABC")[4]
    async with httpx.AsyncClient() as http:
        got = await client(http, wsdl).get_customer(row["ARDivisionNo"], row["CustomerNo"])
    assert got == row  # same names and formats as the agent's records


async def test_get_contact_and_contract_information(emulator: tuple[SageState, str]) -> None:
    state, wsdl = emulator
    contact = state.company("ABC").table("AR_CustomerContact").rows()[0]
    async with httpx.AsyncClient() as http:
        soap = client(http, wsdl)
        got = await soap.get_customer_contact(
            contact["ARDivisionNo"], contact["CustomerNo"], contact["ContactCode"]
        )
        info = await soap.contract_information()
        await soap.check_logon()
    assert (
        got["ContactName"] == contact["ContactName"]
        and got["EmailAddress"] == contact["EmailAddress"]
    )
    assert info["ContractVersion"] == 1


async def test_faults_map_to_the_error_tree(emulator: tuple[SageState, str]) -> None:
    _, wsdl = emulator
    async with httpx.AsyncClient() as http:
        with pytest.raises(SageNotFound, match="CI_NoKey"):
            await client(http, wsdl).get_customer("01", "NOSUCH")
        with pytest.raises(SageAuthError, match="WS_InvalidLogon"):
            await client(http, wsdl, password="wrong").get_customer("01", "0000001")
        with pytest.raises(SageAuthError):
            await client(http, wsdl, password="wrong").check_logon()
