"""Zoho emulator: modules beyond Accounts, lookups, line items, editions, settings, org."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from mlc_core.zoho.consent import CONNECTOR_SCOPES

from tests.emulators.test_zoho_emulator import ORG, Session, client, connect, state

pytestmark = pytest.mark.unit
__all__ = ["client", "state"]  # fixtures re-used from the OAuth/upsert tests

ALL_SCOPES = [
    "ZohoCRM.modules.ALL",
    "ZohoCRM.settings.ALL",
    "ZohoCRM.org.READ",
    "ZohoSearch.securesearch.READ",
]


async def write(
    client: httpx.AsyncClient, session: Session, module: str, records: list[Any], op: str = "insert"
) -> httpx.Response:
    url = f"{session.api_domain}/crm/v8/{module}" + ("/upsert" if op == "upsert" else "")
    return await client.post(url, json={"data": records}, headers=session.headers)


async def new_id(client: httpx.AsyncClient, session: Session, module: str, record: Any) -> str:
    response = await write(client, session, module, [record])
    assert response.status_code == 201, response.text
    return str(response.json()["data"][0]["details"]["id"])


async def set_org(client: httpx.AsyncClient, **settings: Any) -> None:
    response = await client.post(f"/_emulator/orgs/{ORG}/settings", json=settings)
    assert response.status_code == 200, response.text


async def test_contact_needs_last_name_and_an_existing_account(client: httpx.AsyncClient) -> None:
    session = await connect(client)
    account = await new_id(client, session, "Accounts", {"Account_Name": "Acme"})
    results = await write(
        client,
        session,
        "Contacts",
        [
            {"First_Name": "Ann", "Account_Name": {"id": account}},
            {"Last_Name": "Lee", "Account_Name": {"id": "5725767000000999999"}},
            {"Last_Name": "X" * 81},
            {"Last_Name": "Lee", "Email": "ann@acme.com", "Account_Name": {"id": account}},
        ],
    )
    assert results.status_code == 207
    missing, bad_lookup, too_long, ok = results.json()["data"]
    assert missing["code"] == "MANDATORY_NOT_FOUND"
    assert missing["details"]["api_name"] == "Last_Name"
    assert bad_lookup["code"] == "INVALID_DATA"
    assert bad_lookup["details"] == {
        "api_name": "Account_Name",
        "json_path": "$.data[1].Account_Name.id",
    }
    assert too_long["details"]["maximum_length"] == 80
    assert ok["status"] == "success"
    got = await client.get(
        f"{session.api_domain}/crm/v8/Contacts/{ok['details']['id']}", headers=session.headers
    )
    assert got.json()["data"][0]["Account_Name"] == {"name": "Acme", "id": account}


async def test_sales_order_needs_line_items_with_existing_products(
    client: httpx.AsyncClient,
) -> None:
    session = await connect(client)
    account = await new_id(client, session, "Accounts", {"Account_Name": "Acme"})
    product = await new_id(
        client, session, "Products", {"Product_Name": "Widget", "Unit_Price": 9.5}
    )
    order = {"Subject": "SO 0001", "Account_Name": {"id": account}}
    line = {"Product_Name": {"id": product}, "Quantity": 3, "List_Price": 9.5}
    results = await write(
        client,
        session,
        "Sales_Orders",
        [
            order,
            order | {"Ordered_Items": [{"Quantity": 1}]},
            order | {"Ordered_Items": [line | {"Product_Name": {"id": "404"}}]},
            order | {"Ordered_Items": [line]},
        ],
    )
    no_items, no_product, unknown_product, ok = results.json()["data"]
    assert no_items["details"]["api_name"] == "Ordered_Items"
    assert no_product["code"] == "MANDATORY_NOT_FOUND"
    assert no_product["details"]["json_path"] == "$.data[1].Ordered_Items[0].Product_Name"
    assert unknown_product["details"]["json_path"] == "$.data[2].Ordered_Items[0].Product_Name.id"
    assert ok["status"] == "success"
    got = await client.get(
        f"{session.api_domain}/crm/v8/Sales_Orders/{ok['details']['id']}", headers=session.headers
    )
    row = got.json()["data"][0]["Ordered_Items"][0]
    assert row["Product_Name"] == {"id": product} and row["Quantity"] == 3 and row["id"]


async def test_modules_missing_from_the_edition_are_invalid_module(
    client: httpx.AsyncClient,
) -> None:
    session = await connect(client)
    await set_org(client, edition="free")
    vendor = await write(client, session, "Vendors", [{"Vendor_Name": "Parts Co"}])
    assert vendor.status_code == 400 and vendor.json()["code"] == "INVALID_MODULE"
    assert (await write(client, session, "Contacts", [{"Last_Name": "Lee"}])).status_code == 201
    await set_org(client, edition="professional")
    assert (
        await write(client, session, "Vendors", [{"Vendor_Name": "Parts Co"}])
    ).status_code == 201


async def test_update_by_id_and_by_external_value(client: httpx.AsyncClient) -> None:
    session = await connect(client)
    account = await new_id(
        client, session, "Accounts", {"Account_Name": "Acme", "Sage_Customer_No": "01-ACME"}
    )
    url = f"{session.api_domain}/crm/v8/Accounts"
    by_id = await client.put(
        url,
        json={"data": [{"id": account, "Phone": "555-0100"}, {"id": "1"}]},
        headers=session.headers,
    )
    assert by_id.status_code == 207
    assert by_id.json()["data"][0]["message"] == "record updated"
    assert by_id.json()["data"][1]["code"] == "INVALID_DATA"
    by_external = await client.put(
        f"{url}/01-ACME",
        json={"data": [{"Fax": "555-0101"}]},
        headers=session.headers | {"X-EXTERNAL": "Accounts.Sage_Customer_No"},
    )
    assert by_external.status_code == 200, by_external.text
    stored = (await client.get(f"/_emulator/orgs/{ORG}/records/Accounts")).json()["data"][0]
    assert (stored["Phone"], stored["Fax"], stored["$write_count"]) == ("555-0100", "555-0101", 3)


async def test_settings_modules_and_custom_module_on_enterprise_only(
    client: httpx.AsyncClient,
) -> None:
    session = await connect(client, scopes=ALL_SCOPES)
    url = f"{session.api_domain}/crm/v8/settings/modules"
    names = [
        m["api_name"] for m in (await client.get(url, headers=session.headers)).json()["modules"]
    ]
    assert {"Accounts", "Contacts", "Vendors", "Products", "Sales_Orders", "Invoices"} <= set(names)
    body = {"modules": [{"plural_label": "Sage Items", "singular_label": "Sage Item"}]}
    created = await client.post(url, json=body, headers=session.headers)
    assert created.status_code == 201, created.text
    assert created.json()["modules"][0]["message"] == "module created"
    again = await client.post(url, json=body, headers=session.headers)
    assert again.json()["modules"][0]["code"] == "DUPLICATE_DATA"
    record = await write(client, session, "Sage_Items", [{"Name": "Item 1"}], op="upsert")
    assert record.json()["data"][0]["action"] == "insert"
    await set_org(client, edition="professional")
    refused = await client.post(
        url,
        json={"modules": [{"plural_label": "Others", "singular_label": "Other"}]},
        headers=session.headers,
    )
    assert refused.status_code == 400 and refused.json()["code"] == "NOT_SUPPORTED"


async def test_custom_external_field_becomes_an_upsert_key(client: httpx.AsyncClient) -> None:
    session = await connect(client, scopes=ALL_SCOPES)
    url = f"{session.api_domain}/crm/v8/settings/fields"
    fields = {
        "fields": [
            {
                "field_label": "Sage Contact Key",
                "data_type": "text",
                "length": 60,
                "external": {"type": "org", "show": True},
            },
            {"field_label": "Notes Key", "data_type": "textarea", "external": {"type": "org"}},
        ]
    }
    created = await client.post(
        url, params={"module": "Contacts"}, json=fields, headers=session.headers
    )
    assert created.status_code == 207, created.text
    ok, refused = created.json()["fields"]
    assert ok["message"] == "field created" and refused["details"]["api_name"] == "external"
    listed = await client.get(url, params={"module": "Contacts"}, headers=session.headers)
    by_name = {f["api_name"]: f for f in listed.json()["fields"]}
    assert by_name["Sage_Contact_Key"]["external"]["type"] == "org"
    assert by_name["Sage_Contact_Key"]["length"] == 60
    assert by_name["Last_Name"]["system_mandatory"] is True
    assert by_name["Account_Name"]["lookup"]["module"]["api_name"] == "Accounts"
    first = await write(
        client, session, "Contacts", [{"Last_Name": "Lee", "Sage_Contact_Key": "C1"}], "upsert"
    )
    second = await write(
        client, session, "Contacts", [{"Last_Name": "Li", "Sage_Contact_Key": "C1"}], "upsert"
    )
    assert first.json()["data"][0]["action"] == "insert"
    assert second.json()["data"][0]["duplicate_field"] == "Sage_Contact_Key"


async def test_settings_and_org_need_their_scopes(client: httpx.AsyncClient) -> None:
    narrow = await connect(client)
    for path in ("/crm/v8/settings/modules", "/crm/v8/org"):
        refused = await client.get(f"{narrow.api_domain}{path}", headers=narrow.headers)
        assert refused.status_code == 401 and refused.json()["code"] == "OAUTH_SCOPE_MISMATCH"
    wide = await connect(client, scopes=ALL_SCOPES)
    org = (await client.get(f"{wide.api_domain}/crm/v8/org", headers=wide.headers)).json()["org"][0]
    assert org["license_details"]["paid_type"] == "enterprise" and org["zgid"] == ORG


async def test_delete_by_id_and_by_external_value(client: httpx.AsyncClient) -> None:
    session = await connect(client)
    first = await new_id(
        client, session, "Accounts", {"Account_Name": "A", "Sage_Customer_No": "1"}
    )
    await new_id(client, session, "Accounts", {"Account_Name": "B", "Sage_Customer_No": "2"})
    url = f"{session.api_domain}/crm/v8/Accounts"
    deleted = await client.delete(f"{url}/{first}", headers=session.headers)
    assert deleted.json()["data"][0]["message"] == "record deleted"
    again = await client.delete(f"{url}/{first}", headers=session.headers)
    assert again.status_code == 400 and again.json()["data"][0]["code"] == "INVALID_DATA"
    external = session.headers | {"X-EXTERNAL": "Accounts.Sage_Customer_No"}
    assert (await client.delete(f"{url}/2", headers=external)).status_code == 200
    assert (await client.get(f"{url}/2", headers=external)).status_code == 204
    assert (await client.get(f"/_emulator/orgs/{ORG}/records/Accounts")).json()["data"] == []


async def test_custom_lookup_field_points_at_an_existing_module(client: httpx.AsyncClient) -> None:
    session = await connect(client, scopes=ALL_SCOPES)
    url = f"{session.api_domain}/crm/v8/settings/fields"
    fields = {
        "fields": [
            {
                "field_label": "Sage Primary Contact",
                "data_type": "lookup",
                "lookup": {"module": {"api_name": "Contacts"}},
            },
            {
                "field_label": "Nowhere",
                "data_type": "lookup",
                "lookup": {"module": {"api_name": "Nope"}},
            },
        ]
    }
    created = await client.post(
        url, params={"module": "Accounts"}, json=fields, headers=session.headers
    )
    ok, refused = created.json()["fields"]
    assert ok["status"] == "success" and refused["details"]["api_name"] == "lookup"
    contact = await new_id(client, session, "Contacts", {"Last_Name": "Lee"})
    linked = await write(
        client,
        session,
        "Accounts",
        [{"Account_Name": "Acme", "Sage_Primary_Contact": {"id": contact}}],
    )
    assert linked.status_code == 201, linked.text
    stored = (await client.get(f"/_emulator/orgs/{ORG}/records/Accounts")).json()["data"][0]
    assert stored["Sage_Primary_Contact"] == {"name": None, "id": contact}


async def test_the_connectors_narrow_scopes_cover_its_modules_and_custom_ones(
    client: httpx.AsyncClient,
) -> None:
    session = await connect(client, scopes=list(CONNECTOR_SCOPES))
    url = f"{session.api_domain}/crm/v8/settings/modules"
    body = {"modules": [{"plural_label": "Sage Items", "singular_label": "Sage Item"}]}
    assert (await client.post(url, json=body, headers=session.headers)).status_code == 201
    custom = await write(client, session, "Sage_Items", [{"Name": "Item 1"}], op="upsert")
    assert custom.json()["data"][0]["action"] == "insert"  # ZohoCRM.modules.custom.ALL
    vendor = await write(client, session, "Vendors", [{"Vendor_Name": "V"}])
    assert vendor.status_code == 201, vendor.text
