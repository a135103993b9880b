"""Material for the local SASL_SSL broker (`MLC_KAFKA_SECURE=1 deploy/local/kafka.sh start`).

    kafka_secure.py material DIR     CA, broker and per-principal client certificates (PEM) and
                                     SCRAM passwords in DIR, once; prints the storage tool's
                                     --add-scram arguments, one a line

Everything is generated here (the `cryptography` package), never downloaded; the private keys
and passwords stay in DIR (mode 0600) and are for this development broker only.
"""

from __future__ import annotations

import datetime
import ipaddress
import secrets
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from mlc_cli.kafka_access import PRINCIPALS

BROKER = "broker"  # the broker's own principal (super user): controller and admin tooling
DAYS = 825


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_private(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    # PKCS#8, unencrypted: what Kafka's PEM keystore and Python's ssl both read.
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _issue(
    cn: str, ca_key: ec.EllipticCurvePrivateKey, ca_name: x509.Name, *, server: bool
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    usages = [ExtendedKeyUsageOID.CLIENT_AUTH]
    if server:
        usages.append(ExtendedKeyUsageOID.SERVER_AUTH)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
    )
    if server:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def material(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    if not (directory / "ca.pem").exists():
        _certificates(directory)
    for principal in (BROKER, *PRINCIPALS):
        password_file = directory / f"{principal}.password"
        if not password_file.exists():
            _write_private(password_file, secrets.token_urlsafe(24).encode())
        password = password_file.read_text().strip()
        print(f"SCRAM-SHA-512=[name={principal},password={password}]")


def _certificates(directory: Path) -> None:
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("ml-connector local Kafka CA")
    now = datetime.datetime.now(datetime.UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for principal in (BROKER, *PRINCIPALS):
        key, cert = _issue(principal, ca_key, ca_name, server=principal == BROKER)
        cert_pem = cert.public_bytes(serialization.Encoding.PEM)
        (directory / f"{principal}.pem").write_bytes(cert_pem)
        _write_private(directory / f"{principal}.key", _key_pem(key))
        # Kafka's PEM keystore: the private key followed by its certificate chain.
        _write_private(directory / f"{principal}.keystore.pem", _key_pem(key) + cert_pem)


def main(argv: list[str]) -> None:
    if len(argv) == 2 and argv[0] == "material":
        material(Path(argv[1]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
