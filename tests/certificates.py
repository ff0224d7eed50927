"""Test certificates: a CA, a broker and a client certificate it signed, and a CA nobody trusts.

Made with ``cryptography`` (EC P-256, valid one day) into a directory, as PEM files: keys are
unencrypted PKCS#8, the broker's key and certificate are also in one file (Kafka's PEM keystore).
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Certificates:
    """Paths of the PEM files."""

    ca: Path
    broker_keystore: Path
    client_cert: Path
    client_key: Path
    untrusted_ca: Path
    untrusted_client_cert: Path
    untrusted_client_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    unencrypted = serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, unencrypted)


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Name, ec.EllipticCurvePrivateKey] | None,
    usage: ExtendedKeyUsageOID | None = None,
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    issuer_name, issuer_key = issuer or (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=issuer is None, path_length=None), critical=True)
    )
    if issuer is None:
        usages = x509.KeyUsage(False, False, False, False, False, True, True, False, False)  # cert and CRL signing
        builder = builder.add_extension(usages, critical=True)
    if usage is ExtendedKeyUsageOID.SERVER_AUTH:
        names = [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


def _pem(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.PEM)


def make_certificates(directory: Path) -> Certificates:
    """Write the CA, broker, client and untrusted certificates into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, bytes] = {}
    for prefix, ca_name in (("", "wirestream test CA"), ("untrusted_", "a CA nobody trusts")):
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca = _certificate(ca_name, ca_key, None)
        files[f"{prefix}ca.pem"] = _pem(ca)
        client_key = ec.generate_private_key(ec.SECP256R1())
        client = _certificate("wirestream client", client_key, (ca.subject, ca_key), ExtendedKeyUsageOID.CLIENT_AUTH)
        files[f"{prefix}client.pem"] = _pem(client)
        files[f"{prefix}client.key"] = _key_pem(client_key)
        if not prefix:
            broker_key = ec.generate_private_key(ec.SECP256R1())
            broker = _certificate("localhost", broker_key, (ca.subject, ca_key), ExtendedKeyUsageOID.SERVER_AUTH)
            files["broker-keystore.pem"] = _key_pem(broker_key) + _pem(broker)
    for name, content in files.items():
        (directory / name).write_bytes(content)
    return Certificates(
        ca=directory / "ca.pem",
        broker_keystore=directory / "broker-keystore.pem",
        client_cert=directory / "client.pem",
        client_key=directory / "client.key",
        untrusted_ca=directory / "untrusted_ca.pem",
        untrusted_client_cert=directory / "untrusted_client.pem",
        untrusted_client_key=directory / "untrusted_client.key",
    )
