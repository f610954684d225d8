"""TLS on loopback for servers that advertise only ``https://NAME`` URLs without a port.

:class:`ThrowawayCA` is a certificate authority made in memory for one test session: it issues
a server certificate for the names a test server answers to, and an ``ssl.SSLContext`` that
trusts it alone.

:class:`PinnedTransport` (and :class:`AsyncPinnedTransport`) are ``httpx`` transports that play
the part of DNS: a request for ``https://NAME[:443]/...`` is sent to the loopback address and
port the test gives for ``NAME``, while the TLS handshake still names ``NAME`` (SNI) and the
certificate is verified against it (the ``sni_hostname`` request extension of httpcore, which
sets ``server_hostname``). The request keeps its URL and its ``Host`` header, so the server
and the response hooks see ``https://NAME/...``; a name with no route fails as an unknown host
would, so nothing leaves the machine.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["AsyncPinnedTransport", "PinnedTransport", "ServerCertificate", "ThrowawayCA"]

Routes = Mapping[str, int]
"""Host name → port on 127.0.0.1 that serves ``https://NAME`` (port 443 in the URL)."""


@dataclass(frozen=True)
class ServerCertificate:
    """A server's certificate chain and private key, PEM-encoded (for uvicorn's ssl files)."""

    chain_pem: bytes
    key_pem: bytes


class ThrowawayCA:
    """A CA that lives for one test session: EC P-256, valid from an hour ago for a day."""

    def __init__(self, name: str = "mcp-oauth-dynamicclient interop CA") -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        public = self._key.public_key()
        self._certificate = (
            _builder(subject, subject, public)
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
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
            .sign(self._key, hashes.SHA256())
        )

    @property
    def cert_pem(self) -> bytes:
        """The CA certificate, PEM-encoded."""
        return self._certificate.public_bytes(serialization.Encoding.PEM)

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that verifies servers (hostname included) against this CA only."""
        return ssl.create_default_context(cadata=self.cert_pem.decode("ascii"))

    def issue(self, names: Iterable[str]) -> ServerCertificate:
        """A server certificate for ``names`` (DNS names or IP addresses), signed by this CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        names = list(names)
        alternative: list[x509.GeneralName] = []
        for name in names:
            try:
                alternative.append(x509.IPAddress(ipaddress.ip_address(name)))
            except ValueError:
                alternative.append(x509.DNSName(name))
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
        issuer_key = self._certificate.extensions.get_extension_for_class(
            x509.SubjectKeyIdentifier
        ).value
        certificate = (
            _builder(subject, self._certificate.subject, key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_key),
                critical=False,
            )
            .sign(self._key, hashes.SHA256())
        )
        chain = certificate.public_bytes(serialization.Encoding.PEM) + self.cert_pem
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return ServerCertificate(chain_pem=chain, key_pem=key_pem)


def _builder(
    subject: x509.Name, issuer: x509.Name, public: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
    )


def _pinned(request: httpx.Request, routes: Routes) -> httpx.Request:
    """``request`` addressed to its route on 127.0.0.1, TLS still naming its host."""
    url = request.url
    port = routes.get(url.host) if url.scheme == "https" and url.port in (None, 443) else None
    if port is None:
        raise httpx.ConnectError(
            f"no loopback route for {url.scheme}://{url.netloc.decode('ascii')}", request=request
        )
    return httpx.Request(
        request.method,
        url.copy_with(host="127.0.0.1", port=port),
        headers=request.headers,  # Host: NAME, as the client built it
        stream=request.stream,
        extensions={**request.extensions, "sni_hostname": url.host},
    )


class PinnedTransport(httpx.BaseTransport):
    """``httpx.HTTPTransport`` that reaches ``https://NAME`` at ``127.0.0.1:routes[NAME]``,
    verifying the server's certificate for ``NAME`` with ``verify``."""

    def __init__(self, routes: Routes, verify: ssl.SSLContext) -> None:
        self._routes = dict(routes)
        self._inner = httpx.HTTPTransport(verify=verify)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._inner.handle_request(_pinned(request, self._routes))

    def close(self) -> None:
        self._inner.close()


class AsyncPinnedTransport(httpx.AsyncBaseTransport):
    """The asyncio twin of :class:`PinnedTransport`."""

    def __init__(self, routes: Routes, verify: ssl.SSLContext) -> None:
        self._routes = dict(routes)
        self._inner = httpx.AsyncHTTPTransport(verify=verify)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return await self._inner.handle_async_request(_pinned(request, self._routes))

    async def aclose(self) -> None:
        await self._inner.aclose()
