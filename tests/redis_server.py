"""Throwaway Redis servers of a test's own on loopback: plain, TLS, Unix socket, Sentinel and a
three-node Redis Cluster, each from the ``redis-server`` and ``redis-cli`` on the PATH."""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

__all__ = [
    "RedisCluster",
    "RedisServer",
    "TlsFiles",
    "free_port",
    "make_tls_files",
    "run_redis_cluster",
    "run_redis_server",
    "run_sentinel",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _executable(name: str) -> str:
    found = shutil.which(name)
    assert found is not None, f"{name} is not installed (apt-get install redis)"
    return found


class RedisServer:
    """A ``redis-server`` of our own on 127.0.0.1, without persistence; stop and restart it.

    ``options`` are more command-line options (TLS, a Unix socket, cluster mode); ``config``
    is a configuration file to start from (a Sentinel's). It is always reachable over plain
    TCP on ``port``, which is how :meth:`start` knows it is up.
    """

    def __init__(
        self,
        port: int,
        password: str | None = None,
        *,
        options: Sequence[str] = (),
        config: Path | None = None,
    ) -> None:
        self.port = port
        self.password = password
        self.options = list(options)
        self.config = config
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``, with the password if there is one."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers ``PING``."""
        command = [_executable("redis-server")]
        if self.config is not None:
            command.append(str(self.config))
        command += ["--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", *self.options]
        if self.password:
            command += ["--requirepass", self.password]
        self.process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as connection:
                connection.sendall(b"PING\r\n")
                reply = connection.recv(64)
        except OSError:
            return False
        return reply.startswith((b"+PONG", b"-NOAUTH"))

    def stop(self) -> None:
        """Stop the server (its data is gone)."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None


@contextmanager
def run_redis_server(
    password: str | None = None, *, options: Sequence[str] = (), config: Path | None = None
) -> Iterator[RedisServer]:
    """A started :class:`RedisServer` on a free port, stopped at the end."""
    server = RedisServer(free_port(), password, options=options, config=config)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# ------------------------------------------------------------------------------------ TLS


@dataclass(frozen=True)
class TlsFiles:
    """A test CA and a server certificate it signed for 127.0.0.1, as PEM files."""

    ca: Path
    certificate: Path
    key: Path

    def server_options(self, tls_port: int) -> list[str]:
        """The options that make ``redis-server`` also listen with TLS on ``tls_port``."""
        return [
            "--tls-port", str(tls_port),
            "--tls-cert-file", str(self.certificate),
            "--tls-key-file", str(self.key),
            "--tls-ca-cert-file", str(self.ca),
            "--tls-auth-clients", "no",
        ]  # fmt: skip


def make_tls_files(directory: Path, common_name: str = "Test CA") -> TlsFiles:
    """A new CA (named ``common_name``) and a certificate for 127.0.0.1 in ``directory``."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
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
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    # Python 3.13 verifies strictly (VERIFY_X509_STRICT): the key identifiers are required.
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = TlsFiles(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.certificate.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return files


# ------------------------------------------------------------------------------- Sentinel


@contextmanager
def run_sentinel(master: RedisServer, service: str, directory: Path) -> Iterator[RedisServer]:
    """A Redis Sentinel on a free port that monitors ``master`` as ``service``."""
    config = directory / "sentinel.conf"  # the Sentinel rewrites it: a file of its own
    config.write_text(
        f"sentinel monitor {service} 127.0.0.1 {master.port} 1\n"
        f"sentinel down-after-milliseconds {service} 60000\n"
    )
    sentinel = RedisServer(free_port(), options=["--sentinel"], config=config)
    sentinel.start()
    try:
        yield sentinel
    finally:
        sentinel.stop()


# -------------------------------------------------------------------------------- cluster


@dataclass(frozen=True)
class RedisCluster:
    """A running Redis Cluster: its primaries, each serving a third of the hash slots."""

    nodes: list[RedisServer]

    @property
    def port(self) -> int:
        """The port of the first node, where a client discovers the others."""
        return self.nodes[0].port


@contextmanager
def run_redis_cluster(size: int = 3) -> Iterator[RedisCluster]:
    """A Redis Cluster of ``size`` primaries (no replicas) on loopback, stopped at the end.

    Each node runs with ``--cluster-enabled yes`` and a cluster bus port of its own; then
    ``redis-cli --cluster create`` gives each a share of the 16384 slots, and the cluster is
    used once every node reports ``cluster_state:ok``.
    """
    with tempfile.TemporaryDirectory(prefix="redis-cluster-") as directory, ExitStack() as stack:
        nodes = []
        for _ in range(size):
            port = free_port()
            options = [
                "--cluster-enabled", "yes",
                "--cluster-port", str(free_port()),
                "--cluster-config-file", f"{directory}/nodes-{port}.conf",
                "--dir", directory,
            ]  # fmt: skip
            node = RedisServer(port, options=options)
            node.start()
            stack.callback(node.stop)
            nodes.append(node)
        addresses = [f"127.0.0.1:{node.port}" for node in nodes]
        create = ["--cluster", "create", *addresses, "--cluster-replicas", "0", "--cluster-yes"]
        created = subprocess.run(
            [_executable("redis-cli"), *create],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        for node in nodes:
            _wait_for_cluster(node)
        yield RedisCluster(nodes)


def _wait_for_cluster(node: RedisServer) -> None:
    deadline = time.monotonic() + 30
    while True:
        info = subprocess.run(
            [_executable("redis-cli"), "-p", str(node.port), "cluster", "info"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
        if "cluster_state:ok" in info:
            return
        assert time.monotonic() < deadline, f"the cluster did not come up:\n{info}"
        time.sleep(0.05)
