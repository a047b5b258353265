"""Test certificates made with ``cryptography``: a CA, a server certificate for 127.0.0.1 and
localhost, and a client certificate, all as PEM files (no JKS: both servers read PEM)."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALID_FOR = datetime.timedelta(days=2)


@dataclass(frozen=True, slots=True)
class CertificateFiles:
    ca_file: Path
    server_cert_file: Path
    server_key_file: Path
    server_keystore: Path
    """The server's PKCS#8 key followed by its certificate and the CA's: Kafka's and
    Cassandra's PEM key store."""
    client_cert_file: Path
    client_key_file: Path
    other_ca_file: Path
    """A CA that signed nothing here: trusting only it must fail the handshake."""


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "repertory tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _builder(
    subject: x509.Name, issuer: x509.Name, key: rsa.RSAPrivateKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALID_FOR)
    )


def _ca(common_name: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = _key()
    name = _name(common_name)
    cert = (
        _builder(name, name, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
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
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def _leaf(
    common_name: str,
    ca_key: rsa.RSAPrivateKey,
    ca_cert: x509.Certificate,
    *,
    server: bool,
) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = _key()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(_name(common_name), ca_cert.subject, key)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage, ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
    )
    if server:
        names: list[x509.GeneralName] = [
            x509.DNSName("localhost"),
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        ]
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    return key, builder.sign(ca_key, hashes.SHA256())


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _pkcs8(key: rsa.RSAPrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_certificates(directory: Path) -> CertificateFiles:
    """Write a CA, a server and a client certificate (and keys) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _ca("repertory test CA")
    server_key, server_cert = _leaf("127.0.0.1", ca_key, ca_cert, server=True)
    client_key, client_cert = _leaf("repertory-client", ca_key, ca_cert, server=False)
    _, other_ca = _ca("unrelated CA")
    files = CertificateFiles(
        ca_file=directory / "ca.pem",
        server_cert_file=directory / "server-cert.pem",
        server_key_file=directory / "server-key.pem",
        server_keystore=directory / "server-keystore.pem",
        client_cert_file=directory / "client-cert.pem",
        client_key_file=directory / "client-key.pem",
        other_ca_file=directory / "other-ca.pem",
    )
    files.ca_file.write_bytes(_pem(ca_cert))
    files.server_cert_file.write_bytes(_pem(server_cert) + _pem(ca_cert))
    files.server_key_file.write_bytes(_pkcs8(server_key))
    files.server_keystore.write_bytes(_pkcs8(server_key) + _pem(server_cert) + _pem(ca_cert))
    files.client_cert_file.write_bytes(_pem(client_cert) + _pem(ca_cert))
    files.client_key_file.write_bytes(_pkcs8(client_key))
    files.other_ca_file.write_bytes(_pem(other_ca))
    for key_file in (files.server_key_file, files.server_keystore, files.client_key_file):
        key_file.chmod(0o600)
    return files
