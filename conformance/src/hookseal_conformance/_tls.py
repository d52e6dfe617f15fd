"""A throwaway certificate authority for the TLS receivers of the sender suite.

It issues a server certificate for 127.0.0.1 and a client certificate, so the suite can
check mutual TLS and deliveries through a ``CONNECT`` proxy without touching the
machine's trust store. Keys are EC P-256; everything lives one day.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
import tempfile
from dataclasses import dataclass


@dataclass(frozen=True)
class TestPKI:
    """PEM texts: the CA, a server certificate (127.0.0.1) and a client certificate."""

    ca_pem: str
    server_cert_pem: str
    server_key_pem: str
    client_cert_pem: str
    client_key_pem: str
    expired_client_cert_pem: str


def make_pki() -> TestPKI:
    """Create a CA and issue the server, client and expired client certificates."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)

    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def pem_key(k: ec.EllipticCurvePrivateKey) -> str:
        return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                               serialization.NoEncryption()).decode()

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = key()
    ca = (x509.CertificateBuilder().subject_name(name("hookseal-conformance test CA"))
          .issuer_name(name("hookseal-conformance test CA")).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number())
          .not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))

    def issue(cn: str, k: ec.EllipticCurvePrivateKey, server: bool,
              expired: bool = False) -> str:
        start, end = (now - datetime.timedelta(days=3), now - datetime.timedelta(days=1)) \
            if expired else (now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1))
        builder = (x509.CertificateBuilder().subject_name(name(cn)).issuer_name(ca.subject)
                   .public_key(k.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(end)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None),
                                  critical=True))
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        return builder.sign(ca_key, hashes.SHA256()).public_bytes(
            serialization.Encoding.PEM).decode()

    server_key, client_key = key(), key()
    return TestPKI(
        ca_pem=ca.public_bytes(serialization.Encoding.PEM).decode(),
        server_cert_pem=issue("127.0.0.1", server_key, server=True),
        server_key_pem=pem_key(server_key),
        client_cert_pem=issue("hookseal-conformance client", client_key, server=False),
        client_key_pem=pem_key(client_key),
        expired_client_cert_pem=issue("expired client", client_key, server=False, expired=True),
    )


def server_context(pki: TestPKI, require_client_cert: bool) -> ssl.SSLContext:
    """A server-side TLS context with the server certificate; with
    ``require_client_cert``, a handshake without a client certificate the CA issued fails."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        with open(cert, "w") as f:
            f.write(pki.server_cert_pem)
        with open(key, "w") as f:
            f.write(pki.server_key_pem)
        context.load_cert_chain(cert, key)
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(cadata=pki.ca_pem)
    return context
