"""Write the static test CA and server certificate under openai_bindings/testing/certs/.

They let the transport conformance kit (and any test) run a TLS server on
127.0.0.1 where ``trustme`` is not installed: a CA that no system trusts, and a
certificate for ``localhost``, ``127.0.0.1`` and ``::1`` signed by it, valid
for a century. Run once; the files are committed. Needs ``cryptography``::

    python tools/make_test_certs.py

The private keys are test material, published on purpose: never trust this CA
anywhere but in a test.
"""

from __future__ import annotations

import datetime
import ipaddress
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

OUT = Path(__file__).resolve().parent.parent / "openai_bindings" / "testing" / "certs"
YEARS = 100


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "openai-bindings tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _usage(signs_certificates: bool) -> x509.KeyUsage:
    """Signatures always; certificate and CRL signing for the CA only (strict X.509 checks)."""
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        encipher_only=False,
        decipher_only=False,
    )


def main() -> int:
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    start = now - datetime.timedelta(days=1)
    end = start + datetime.timedelta(days=365 * YEARS)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("openai-bindings test CA (never trust outside tests)")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(signs_certificates=True), critical=True)
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(signs_certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    OUT.mkdir(parents=True, exist_ok=True)
    pem = serialization.Encoding.PEM
    plain = serialization.NoEncryption()
    (OUT / "ca.pem").write_bytes(ca.public_bytes(pem))
    (OUT / "server.pem").write_bytes(server.public_bytes(pem) + ca.public_bytes(pem))
    (OUT / "server.key").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8, plain))
    print(f"wrote ca.pem, server.pem, server.key to {OUT} (valid until {end:%Y-%m-%d})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
