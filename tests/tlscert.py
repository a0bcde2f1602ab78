"""A throwaway self-signed certificate for TLS tests against servers on 127.0.0.1."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterable
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def make_self_signed(
    dir: Path, extra_names: Iterable[str] = (), days: int = 30
) -> tuple[Path, Path]:
    """Write cert.pem and key.pem into `dir` and return their paths (cert, key).

    The certificate names 127.0.0.1 and localhost (plus `extra_names`, DNS names or IPs) in its
    subjectAltName, so clients can verify it by trusting the certificate itself.
    """
    key = ec.generate_private_key(ec.SECP256R1())  # fast to make, unlike RSA
    names: list[x509.GeneralName] = [
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.DNSName("localhost"),
    ]
    for name in extra_names:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            names.append(x509.DNSName(name))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    expires = now + datetime.timedelta(days=days)  # negative days: already expired
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        # A little slack backwards so clock skew between processes cannot make it "not yet valid".
        .not_valid_before(min(now, expires) - datetime.timedelta(days=1))
        .not_valid_after(expires)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    dir.mkdir(parents=True, exist_ok=True)
    cert_path = dir / "cert.pem"
    key_path = dir / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
