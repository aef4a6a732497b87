"""A throwaway broker with a SASL_SSL listener (SCRAM over TLS), made at test time.

`make_certificates` makes a CA and a server certificate for 127.0.0.1 with `openssl`;
`SecuredBroker` runs a second single-node Kafka from the project's own jars (the ones
`make infra-up` resolved into .local/kafka/libs) on free ports, with its own data dir,
and SCRAM users added when its storage is formatted. Nothing it makes is kept.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.system import ROOT, free_port

KAFKA_LIBS = ROOT / ".local" / "kafka" / "libs"
LOG4J = ROOT / "deploy" / "local" / "kafka" / "log4j2.xml"
READY_LINE = "Kafka Server started"
MECHANISM = "SCRAM-SHA-512"


@dataclass(frozen=True)
class Certificates:
    ca: Path
    server_pem: Path  # the server's key and certificate, as Kafka's PEM key store reads it


def make_certificates(directory: Path) -> Certificates:
    """A CA valid for two days and a server certificate it signed, for IP 127.0.0.1."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca = directory / "ca.key", directory / "ca.crt"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.crt"
    extensions = directory / "server.ext"
    extensions.write_text(
        "basicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
        "subjectKeyIdentifier=hash\n"
        "authorityKeyIdentifier=keyid\n"
    )
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=repairline-test-ca", "-keyout", ca_key, "-out", ca,
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
             "-keyout", key, "-out", csr)  # fmt: skip
    _openssl("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial",
             "-days", "2", "-extfile", extensions, "-out", cert)  # fmt: skip
    server_pem = directory / "server.pem"
    server_pem.write_text(key.read_text() + cert.read_text())
    return Certificates(ca=ca, server_pem=server_pem)


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True)


def java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def missing_parts() -> str | None:
    """Why a secured broker cannot run here, or None."""
    if not any(KAFKA_LIBS.glob("kafka_2.13-*.jar")):
        return f"no Kafka jars in {KAFKA_LIBS} (make infra-up resolves them)"
    if java() is None:
        return "no java"
    if shutil.which("openssl") is None:
        return "no openssl"
    return None


class SecuredBroker:
    """One KRaft node: SASL_SSL for clients, PLAINTEXT between broker and controller."""

    def __init__(self, directory: Path, certificates: Certificates, users: dict[str, str]):
        self.directory = directory
        self.certificates = certificates
        self.users = users
        self.port, self.internal_port, self.controller_port = free_port(), free_port(), free_port()
        self.data, self.logs = directory / "data", directory / "logs"
        self.properties = directory / "server.properties"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def client_env(self, user: str, password: str) -> dict[str, str]:
        """The settings a service reads to reach this broker as `user`."""
        return {
            "REPAIRLINE_KAFKA_BOOTSTRAP": self.bootstrap,
            "REPAIRLINE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
            "REPAIRLINE_KAFKA_SASL_MECHANISM": MECHANISM,
            "REPAIRLINE_KAFKA_SASL_USERNAME": user,
            "REPAIRLINE_KAFKA_SASL_PASSWORD": password,
            "REPAIRLINE_KAFKA_CA_FILE": str(self.certificates.ca),
        }

    def render(self) -> str:
        p, i, c = self.port, self.internal_port, self.controller_port
        return "\n".join([
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{c}",
            "controller.listener.names=CONTROLLER",
            f"listeners=SASL_SSL://127.0.0.1:{p},INTERNAL://127.0.0.1:{i},"
            f"CONTROLLER://127.0.0.1:{c}",
            f"advertised.listeners=SASL_SSL://127.0.0.1:{p},INTERNAL://127.0.0.1:{i}",
            "inter.broker.listener.name=INTERNAL",
            "listener.security.protocol.map=SASL_SSL:SASL_SSL,INTERNAL:PLAINTEXT,"
            "CONTROLLER:PLAINTEXT",
            f"sasl.enabled.mechanisms={MECHANISM}",
            f"listener.name.sasl_ssl.{MECHANISM.lower()}.sasl.jaas.config="
            "org.apache.kafka.common.security.scram.ScramLoginModule required;",
            "ssl.keystore.type=PEM",
            f"ssl.keystore.location={self.certificates.server_pem}",
            "ssl.client.auth=none",
            f"log.dirs={self.data}",
            "num.partitions=1",
            "num.network.threads=1",
            "num.io.threads=2",
            "num.recovery.threads.per.data.dir=1",
            "auto.create.topics.enable=false",
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=1",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "transaction.state.log.num.partitions=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "group.initial.rebalance.delay.ms=0",
            "",
        ])  # fmt: skip

    def _java(self, *args: str, heap: str = "-Xmx256m") -> list[str]:
        binary = java()
        assert binary is not None
        return [binary, heap, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-Djava.awt.headless=true", f"-Dkafka.logs.dir={self.logs}",
                f"-Dlog4j2.configurationFile={LOG4J}", "-cp", f"{KAFKA_LIBS}/*", *args]  # fmt: skip

    def format(self) -> None:
        """Format the data dir with the SCRAM credentials of every user in it."""
        self.data.mkdir(parents=True, exist_ok=True)
        self.logs.mkdir(parents=True, exist_ok=True)
        self.properties.write_text(self.render())
        scram: list[str] = []
        for user, password in self.users.items():
            scram += ["--add-scram", f"{MECHANISM}=[name={user},password={password}]"]
        cluster = subprocess.run(
            self._java("kafka.tools.StorageTool", "random-uuid"),
            check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        subprocess.run(
            self._java("kafka.tools.StorageTool", "format", "--config", str(self.properties),
                       "--cluster-id", cluster, *scram),
            check=True, capture_output=True, text=True,
        )  # fmt: skip

    def start(self, *, timeout: float = 90.0) -> SecuredBroker:
        self.format()
        out = (self.logs / "kafka.out").open("ab")
        self.proc = subprocess.Popen(
            self._java("kafka.Kafka", str(self.properties), heap="-Xmx384m"),
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        server_log = self.logs / "server.log"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the secured broker exited: {self.tail()}")
            if server_log.exists() and READY_LINE in server_log.read_text() and self._open():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"the secured broker was not ready in {timeout}s: {self.tail()}")

    def _open(self) -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def tail(self) -> str:
        text = ""
        for name in ("server.log", "kafka.out"):
            path = self.logs / name
            if path.exists():
                text += f"\n--- {name} ---\n" + path.read_text()[-3000:]
        return text

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


# -- PostgreSQL: TLS only, SCRAM passwords only ---------------------------------------------


def pg_bindir() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parts[-3]))
    return found[-1].parent if found else None


def pg_missing_parts() -> str | None:
    """Why a secured PostgreSQL cannot run here, or None."""
    if pg_bindir() is None:
        return "no PostgreSQL server binaries under /usr/lib/postgresql"
    if shutil.which("openssl") is None:
        return "no openssl"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "no runuser to run PostgreSQL as the postgres user"
    return None


class SecuredPostgres:
    """A throwaway cluster that accepts only TLS connections with a SCRAM password
    (`hostssl ... scram-sha-256`, nothing else in pg_hba.conf)."""

    def __init__(self, certificates: Certificates, user: str, password: str):
        # Under /tmp, not pytest's root-only temp dir: the postgres user must enter it.
        self.directory = Path(tempfile.mkdtemp(prefix="repairline-pg-tls-"))
        self.certificates = certificates
        self.user, self.password = user, password
        self.port = free_port()
        self.data = self.directory / "data"
        bindir = pg_bindir()
        assert bindir is not None
        self.bindir = bindir

    @property
    def dsn(self) -> str:
        return f"postgresql://{self.user}@127.0.0.1:{self.port}"

    def _as_owner(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        command = [str(a) for a in args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True,
                              cwd=self.directory)  # fmt: skip

    def start(self) -> SecuredPostgres:
        tls = self.directory / "tls"
        tls.mkdir()
        shutil.copy(self.certificates.ca, tls / "ca.crt")
        pem = self.certificates.server_pem
        shutil.copy(pem.with_name("server.crt"), tls / "server.crt")
        shutil.copy(pem.with_name("server.key"), tls / "server.key")
        (tls / "server.key").chmod(0o600)
        pwfile = self.directory / "pwfile"
        pwfile.write_text(self.password + "\n")
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
            for path in self.directory.rglob("*"):
                shutil.chown(path, "postgres")
        self._as_owner(self.bindir / "initdb", "-D", self.data, "-U", self.user,
                       "--auth=scram-sha-256", f"--pwfile={pwfile}", "--no-locale",
                       "--encoding=UTF8", "--no-sync")  # fmt: skip
        pwfile.unlink()
        (self.data / "pg_hba.conf").write_text(
            f"hostssl all {self.user} 127.0.0.1/32 scram-sha-256\n"
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                f"unix_socket_directories = '{self.directory}'\n"
                f"ssl = on\nssl_cert_file = '{tls / 'server.crt'}'\n"
                f"ssl_key_file = '{tls / 'server.key'}'\n"
                "password_encryption = 'scram-sha-256'\nmax_connections = 60\n"
                "shared_buffers = 32MB\nfsync = off\nsynchronous_commit = off\n"
            )
        self._as_owner(self.bindir / "pg_ctl", "-D", self.data, "-l",
                       self.directory / "postgresql.log", "-w", "-t", "60", "start")  # fmt: skip
        return self

    def log(self) -> str:
        path = self.directory / "postgresql.log"
        return path.read_text()[-3000:] if path.exists() else ""

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._as_owner(self.bindir / "pg_ctl", "-D", self.data, "-m", "immediate", "-w",
                           "stop")  # fmt: skip
        shutil.rmtree(self.directory, ignore_errors=True)
