"""The agent's TLS certificate, made at install: `mlc-sage-agent-tls --name HOST`.

A self-signed ECDSA P-256 certificate for the names the connector uses, written as PEM next to
its key; its SHA-256 fingerprint is what the tenant pins (the connector then trusts exactly
this certificate, no CA involved). Pure Python (ecdsa, asn1crypto), so it runs on the 32-bit
Windows Python that Sage's COM server needs. python-ecdsa is not hardened against timing side
channels; it only signs this one certificate, offline, at install; the TLS handshakes
themselves are OpenSSL's (the ssl module), with the key it wrote.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import ipaddress
import os
import secrets
import ssl
import sys
from collections.abc import Sequence
from pathlib import Path

from asn1crypto import keys, x509  # type: ignore[import-untyped]
from ecdsa import NIST256p, SigningKey  # type: ignore[import-untyped]
from ecdsa.util import sigencode_der  # type: ignore[import-untyped]

CERT_FILE, KEY_FILE = "agent.pem", "agent.key"


def fingerprint(cert_pem: bytes) -> str:
    """SHA-256 of the certificate's DER, as colon-separated hex (what the tenant pins)."""
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert_pem.decode("ascii"))).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2)).upper()


def _general_names(names: Sequence[str]) -> list[x509.GeneralName]:
    out = []
    for name in names:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            out.append(x509.GeneralName(name="dns_name", value=name))
        else:
            out.append(x509.GeneralName(name="ip_address", value=name))
    return out


def self_signed(names: Sequence[str], *, days: int = 3650) -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for `names` (DNS names or IP addresses)."""
    if not names:
        raise ValueError("name at least one DNS name or IP address the connector will use")
    key = SigningKey.generate(curve=NIST256p)
    public = keys.PublicKeyInfo.load(key.get_verifying_key().to_der())
    subject = x509.Name.build({"common_name": names[0], "organization_name": "mlc-sage-agent"})
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    algorithm = x509.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"})
    tbs = x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": secrets.randbits(127),
            "signature": algorithm,
            "issuer": subject,
            "validity": {
                "not_before": x509.Time(name="utc_time", value=now - dt.timedelta(hours=1)),
                "not_after": x509.Time(name="general_time", value=now + dt.timedelta(days=days)),
            },
            "subject": subject,
            "subject_public_key_info": public,
            "extensions": [
                {
                    "extn_id": "subject_alt_name",
                    "critical": False,
                    "extn_value": _general_names(names),
                },
                {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": False}},
                {"extn_id": "key_usage", "critical": True, "extn_value": {"digital_signature"}},
                {"extn_id": "extended_key_usage", "critical": False, "extn_value": ["server_auth"]},
            ],
        }
    )
    signature = key.sign_deterministic(tbs.dump(), hashfunc=hashlib.sha256, sigencode=sigencode_der)
    cert = x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": algorithm, "signature_value": signature}
    )
    cert_pem = ssl.DER_cert_to_PEM_cert(cert.dump()).encode("ascii")
    return cert_pem, key.to_pem(format="pkcs8")


def write(directory: Path, names: Sequence[str], *, force: bool = False) -> str:
    """Write agent.pem and agent.key into `directory`; the certificate's fingerprint."""
    cert_path, key_path = directory / CERT_FILE, directory / KEY_FILE
    if not force and (cert_path.exists() or key_path.exists()):
        raise FileExistsError(f"{cert_path} or {key_path} exists (--force replaces them)")
    cert_pem, key_pem = self_signed(names)
    directory.mkdir(parents=True, exist_ok=True)
    # The key is readable by its owner only (POSIX); on Windows the folder's ACL protects it.
    descriptor = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(key_pem)
    cert_path.write_bytes(cert_pem)
    return fingerprint(cert_pem)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mlc-sage-agent-tls",
        description="Make the agent's self-signed TLS certificate and print its fingerprint.",
    )
    parser.add_argument(
        "--name", action="append", required=True, help="DNS name or IP the connector uses"
    )
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="where to write")
    parser.add_argument("--force", action="store_true", help="replace an existing certificate")
    args = parser.parse_args(argv)
    try:
        pin = write(args.dir, args.name, force=args.force)
    except (FileExistsError, ValueError) as exc:
        print(f"mlc-sage-agent-tls: {exc}", file=sys.stderr)
        return 1
    print(f"MLC_AGENT_TLS_CERT={args.dir / CERT_FILE}")
    print(f"MLC_AGENT_TLS_KEY={args.dir / KEY_FILE}")
    print(f"fingerprint (pin this in the tenant): sha256:{pin}")
    return 0
