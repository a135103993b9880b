"""eBusiness Web Services (SOAP) client, for AR fetches by key: a targeted re-sync of one
customer or contact, and the connectivity check. Listing and the other entities go through the
agent (SOAP has no list or "changed since" operation, and nothing for AP, GL or invoices).

Sage expects stateless calls: `logon` and `companyCode` travel in every request. Records come
back in the same shape the agent gives (Sage column names, YYYYMMDD dates, numbers as floats),
so callers can treat both sources alike. Faults map onto the mlc_core.sage.errors tree by their
MasFault ErrorCode, never by message text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from pydantic import SecretStr
from zeep import AsyncClient, Settings
from zeep.exceptions import Error as ZeepError
from zeep.exceptions import Fault, TransportError
from zeep.helpers import serialize_object
from zeep.transports import AsyncTransport

from mlc_core.sage.errors import (
    SageAuthError,
    SageError,
    SageNotFound,
    SagePermanentError,
    SageProtocolError,
    SageUnavailable,
)

NOT_FOUND = {"CI_NoKey", "CI_NOF"}
AUTH = {"WS_InvalidLogon", "WS_NoAccess"}
NULL_DATE = dt.datetime(1, 1, 1)


class SageCompanyNotOnFile(SageNotFound):
    """CI_NOF: the company code is unknown: a setup error, unlike a record that is missing."""


class SageSoapNoAccess(SageAuthError):
    """WS_NoAccess: the logon is valid but lacks the right for the operation."""


class SageSoapFault(SagePermanentError):
    """A MasFault that is not 'not found' or 'not allowed' (e.g. CI_CharLength)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code


def plain(value: Any) -> Any:
    """zeep's values in the agent's formats."""
    if isinstance(value, dt.datetime):
        return "" if value.replace(tzinfo=None) <= NULL_DATE else value.strftime("%Y%m%d")
    if isinstance(value, Decimal):
        return float(value)
    if value is None:
        return ""
    return value


class SageSoapClient:
    def __init__(
        self,
        *,
        wsdl_url: str,
        username: str,
        password: SecretStr,
        company: str,
        http: httpx.AsyncClient,
        tracer: trace.Tracer | None = None,
    ) -> None:
        self._wsdl_url, self._company, self._http = wsdl_url, company, http
        self._logon = {"Username": username, "Password": password}
        self._client: Any = None
        self._tracer = tracer or trace.get_tracer("mlc_core.sage.soap")

    @contextlib.contextmanager
    def _span(self, operation: str) -> Iterator[trace.Span]:
        """A CLIENT span per SOAP operation (zeep has no instrumentation of its own). The logon
        travels in the body: only the operation, the company and the server are recorded."""
        attributes = {
            "rpc.system": "soap",
            "rpc.service": "eBusinessWebServices",
            "rpc.method": operation,
            "server.address": urlsplit(self._wsdl_url).hostname or "",
            "mlc.sage.company": self._company,
        }
        with self._tracer.start_as_current_span(
            f"SOAP {operation}", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            yield span

    async def _service(self) -> Any:
        if self._client is None:
            # zeep reads the WSDL with a synchronous client once; calls go through `http`.
            transport = AsyncTransport(  # type: ignore[no-untyped-call]
                client=self._http, wsdl_client=httpx.Client(timeout=30)
            )
            try:
                self._client = AsyncClient(  # type: ignore[no-untyped-call]
                    self._wsdl_url, transport=transport, settings=Settings(strict=False)
                )
            except (httpx.HTTPError, TransportError, OSError) as exc:
                raise SageUnavailable(f"cannot read the WSDL at {self._wsdl_url}: {exc}") from exc
        return self._client.service

    def _logon_part(self) -> dict[str, str]:
        password = self._logon["Password"]
        assert isinstance(password, SecretStr)
        return {"Username": str(self._logon["Username"]), "Password": password.get_secret_value()}

    async def _call(self, operation: str, **parts: Any) -> Any:
        service = await self._service()
        with self._span(operation):
            try:
                return await getattr(service, operation)(
                    logon=self._logon_part(), companyCode=self._company, **parts
                )
            except Fault as fault:
                raise fault_error(operation, fault) from fault
            except (httpx.HTTPError, TransportError) as exc:
                raise SageUnavailable(f"SOAP {operation}: {exc}") from exc
            except ZeepError as exc:
                raise SageProtocolError(f"SOAP {operation}: {exc}") from exc

    async def contract_information(self) -> dict[str, Any]:
        """The connectivity check's first step (needs no logon)."""
        service = await self._service()
        with self._span("GetContractInformation"):
            try:
                info = await service.GetContractInformation()
            except (httpx.HTTPError, TransportError) as exc:
                raise SageUnavailable(f"SOAP GetContractInformation: {exc}") from exc
        return dict(serialize_object(info))  # type: ignore[no-untyped-call]

    async def check_logon(self) -> None:
        """Connectivity check: the service answers, and logon + company are accepted.

        Uses a read of an unlikely key (GetNextCustomerNo would need Create rights and advances
        Sage's counter): "not found" proves the logon; a bad logon raises SageAuthError.
        """
        await self.contract_information()
        try:
            await self.get_customer("00", "MLCPROBE")
        except SageCompanyNotOnFile:
            raise
        except SageNotFound:
            pass  # CI_NoKey: logon, rights and company were all accepted

    async def get_customer(self, division: str, customer_no: str) -> dict[str, Any]:
        result = await self._call("GetCustomer", arDivisionNo=division, customerNo=customer_no)
        return _record(result)

    async def get_customer_contact(
        self, division: str, customer_no: str, contact_code: str
    ) -> dict[str, Any]:
        result = await self._call(
            "GetCustomerContact",
            arDivisionNo=division,
            customerNo=customer_no,
            contactCode=contact_code,
        )
        return _record(result)


def _record(result: Any) -> dict[str, Any]:
    if result is None:
        raise SageProtocolError("SOAP answered without a result")
    fields = dict(serialize_object(result))  # type: ignore[no-untyped-call]
    record = {k: plain(v) for k, v in fields.items()}
    if not any(value != "" for value in record.values()):
        # zeep skips elements outside the WSDL's namespace: an answer in another namespace
        # (or an empty result) reads as a record with every column blank.
        raise SageProtocolError("SOAP answer holds no record (empty, or in another namespace)")
    return record


def fault_error(operation: str, fault: Fault) -> SageError:
    code, message = "", str(fault.message)
    detail = fault.detail
    if detail is not None and not hasattr(detail, "xpath"):
        # zeep puts a body that is not XML here: an HTTP error page from IIS or a proxy (a
        # restart, an overload), not a MasFault; retried like any unreachable server.
        return SageUnavailable(f"SOAP {operation}: the server answered an error page, not SOAP")
    if detail is not None:
        found = detail.xpath("//*[local-name()='ErrorCode']/text()")
        code = str(found[0]) if found else ""
        text = detail.xpath("//*[local-name()='ErrorMessage']/text()")
        message = str(text[0]) if text else message
    if not code and isinstance(fault.code, str):
        code = fault.code.rsplit(":", 1)[-1]
    full = f"SOAP {operation}: {code or 'fault'}: {message}"
    if code == "CI_NOF":
        return SageCompanyNotOnFile(full)
    if code in NOT_FOUND:
        return SageNotFound(full)
    if code == "WS_NoAccess":
        return SageSoapNoAccess(full)
    if code in AUTH:
        return SageAuthError(full)
    if message == "An exception occurred.":
        # Sage hides the cause (it is in the server's Event Log); treat it as transient.
        return SageUnavailable(full + " (see the eBusiness Web Services event log)")
    return SageSoapFault(code, message)
