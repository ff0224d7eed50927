"""How every wirestream client reaches Kafka: bootstrap servers and security, from the settings.

The worker's Faust app (consumers, producer, topic creation), ``wirestream topics``, ``produce``
and ``consume``, and the benchmarks all build their clients from one :class:`KafkaAccess`, so
a secured cluster needs its settings once.
"""

from __future__ import annotations

import asyncio
import math
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

from aiokafka.conn import create_conn
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    IllegalSaslStateError,
    KafkaError,
    SaslAuthenticationFailed,
    TopicAuthorizationFailedError,
    UnsupportedSaslMechanismError,
)
from faust.auth import SASLCredentials, SSLCredentials
from faust.types.auth import CredentialsT

from streams.settings import Secret, Settings, SettingsError, env_name


@dataclass(frozen=True, slots=True)
class KafkaAccess:
    """Bootstrap servers (``host:port,...``) and the security the brokers ask for."""

    bootstrap: str
    security_protocol: str = "PLAINTEXT"
    sasl_mechanism: str = ""
    sasl_username: str = ""
    sasl_password: Secret = field(default_factory=Secret)
    ssl_cafile: str = ""
    ssl_certfile: str = ""
    ssl_keyfile: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> KafkaAccess:
        """The access the settings describe (already validated by :class:`Settings`); every field but
        ``bootstrap`` is the setting of the same name."""
        security = {f.name: getattr(settings, f.name) for f in fields(cls) if f.name != "bootstrap"}
        return cls(bootstrap=settings.bootstrap_servers, **security)

    @property
    def uses_tls(self) -> bool:
        """Whether connections are TLS (SSL or SASL_SSL)."""
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        """Whether connections authenticate with SASL."""
        return self.security_protocol.startswith("SASL_")

    def ssl_context(self) -> ssl.SSLContext | None:
        """The TLS context (server certificate and host name verified), or None without TLS.

        Raises :class:`SettingsError` naming the variable whose file cannot be used.
        """
        if not self.uses_tls:
            return None
        try:
            context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ssl_cafile or None)
        except (ssl.SSLError, OSError) as error:
            raise SettingsError(
                f"{env_name('ssl_cafile')}={self.ssl_cafile!r} holds no usable CA certificate: {_reason(error)}"
            ) from None
        if self.ssl_certfile:
            try:
                context.load_cert_chain(self.ssl_certfile, self.ssl_keyfile)
            except (ssl.SSLError, OSError) as error:
                raise SettingsError(
                    f"{env_name('ssl_certfile')}={self.ssl_certfile!r} and {env_name('ssl_keyfile')}="
                    f"{self.ssl_keyfile!r} are not a matching PEM certificate and unencrypted key: {_reason(error)}"
                ) from None
        return context

    def addresses(self) -> list[tuple[str, int]]:
        """The bootstrap servers as ``(host, port)``."""
        hosts = [server.strip().rpartition(":") for server in self.bootstrap.split(",")]
        return [(host, int(port)) for host, _, port in hosts]

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments of every aiokafka client (producer, consumer, admin)."""
        return {"bootstrap_servers": self.bootstrap, **self.connection_options()}

    def connection_options(self) -> dict[str, Any]:
        """The security keyword arguments of an aiokafka client or connection."""
        options: dict[str, Any] = {"security_protocol": self.security_protocol}
        context = self.ssl_context()
        if context is not None:
            options["ssl_context"] = context
        if self.uses_sasl:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = self.sasl_password.reveal()
        return options

    def faust_credentials(self) -> CredentialsT | None:
        """Faust's ``broker_credentials``: Faust hands them to its consumers, producer and topic creation."""
        context = self.ssl_context()
        if self.uses_sasl:
            return SASLCredentials(
                username=self.sasl_username,
                password=self.sasl_password.reveal(),
                mechanism=self.sasl_mechanism,
                ssl_context=context,
            )
        if context is not None:
            return SSLCredentials(context)
        return None


def kafka_access(target: KafkaAccess | str) -> KafkaAccess:
    """``target`` itself, or a plaintext access to the bootstrap servers it names."""
    return target if isinstance(target, KafkaAccess) else KafkaAccess(target)


def _reason(error: BaseException) -> str:
    """An OS or TLS error in a few words (the file name is said by the caller)."""
    if isinstance(error, ssl.SSLError) and error.reason:
        return str(error.reason)
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error)


# Exit codes of a command that cannot use Kafka (sysexits.h): the brokers refuse our settings, or
# none answered within WIRESTREAM_BROKER_WAIT_SECONDS.
EXIT_KAFKA_REFUSED = 78
EXIT_KAFKA_UNREACHABLE = 69
REPORT_EVERY_SECONDS = 30.0
MAX_RETRY_DELAY_SECONDS = 5.0

_AUTHORIZATION_ERRORS = (TopicAuthorizationFailedError, GroupAuthorizationFailedError, ClusterAuthorizationFailedError)
_TLS_ALERTS = (
    "ALERT_CERTIFICATE_REQUIRED",
    "ALERT_BAD_CERTIFICATE",
    "ALERT_CERTIFICATE_UNKNOWN",
    "ALERT_UNKNOWN_CA",
    "ALERT_ACCESS_DENIED",
)


class KafkaAccessError(Exception):
    """Kafka cannot be used. ``permanent``: the brokers refuse our settings (password, certificate,
    protocol), which waiting will not change; otherwise no broker answered (yet)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent

    @property
    def exit_code(self) -> int:
        """The exit code of a command that gives up on this error."""
        return EXIT_KAFKA_REFUSED if self.permanent else EXIT_KAFKA_UNREACHABLE


def as_refusal(error: KafkaError, access: KafkaAccess) -> KafkaAccessError | None:
    """A Kafka authorization error as a permanent refusal naming who was refused; None for others."""
    if not isinstance(error, _AUTHORIZATION_ERRORS):
        return None
    if access.uses_sasl:
        who = f"user {access.sasl_username!r}"
    else:
        who = "the client certificate" if access.ssl_certfile else "this client"
    return KafkaAccessError(
        f"Kafka at {access.bootstrap} does not allow {who} this ({error}): grant the ACLs docs/operations.md "
        "lists, or have an admin create the topics beforehand",
        permanent=True,
    )


async def check_access(access: KafkaAccess, timeout: float = 10.0) -> None:
    """Open one connection to a bootstrap server as every client will (TLS, SASL) and close it.

    Returns at the first server that accepts; raises :class:`KafkaAccessError` at the first
    permanent refusal, or naming every server when none answered.
    """
    options = access.connection_options()
    unreachable: list[str] = []
    for host, port in access.addresses():
        try:
            connection = await create_conn(host, port, request_timeout_ms=int(timeout * 1000), **options)
        except Exception as error:  # noqa: BLE001 - every failure is explained below, none escapes raw
            failure = await _explain(access, host, port, error, timeout)
            if failure.permanent:
                raise failure from None
            unreachable.append(str(failure))
            continue
        connection.close()
        return
    raise KafkaAccessError(f"cannot reach Kafka ({env_name('broker')}): {'; '.join(unreachable)}", permanent=False)


async def wait_for_kafka(access: KafkaAccess, wait_seconds: float, report: Callable[[str], None]) -> None:
    """Wait until a broker accepts a connection, retrying with backoff for up to ``wait_seconds``.

    ``report`` gets one line when Kafka is first found unreachable, one every
    :data:`REPORT_EVERY_SECONDS` while it stays so, and one when it answers. A permanent
    refusal raises at once; ``wait_seconds`` without an answer raises a non-permanent error.
    """
    started = time.monotonic()
    deadline = started + wait_seconds
    delay, reported = 0.5, -math.inf
    while True:
        try:
            await check_access(access)
        except KafkaAccessError as error:
            now = time.monotonic()
            if error.permanent:
                raise
            if now >= deadline:
                raise KafkaAccessError(
                    f"{error}; gave up after {now - started:.0f} s ({env_name('broker_wait_seconds')}"
                    f"={wait_seconds:g})",
                    permanent=False,
                ) from None
            if now - reported >= REPORT_EVERY_SECONDS:
                report(f"{error}; retrying for up to {deadline - now:.0f} s more")
                reported = now
            await asyncio.sleep(min(delay, max(0.0, deadline - now)))
            delay = min(delay * 2, MAX_RETRY_DELAY_SECONDS)
            continue
        if reported > -math.inf:
            report(f"Kafka answers at {access.bootstrap} after {time.monotonic() - started:.1f} s")
        return


async def _explain(access: KafkaAccess, host: str, port: int, error: Exception, timeout: float) -> KafkaAccessError:
    """Turn a failed connection into one line naming the cause and the setting to check."""
    address = f"{host}:{port}"
    cause = _root_cause(error)
    protocol = f"{env_name('security_protocol')}={access.security_protocol}"
    if isinstance(cause, SaslAuthenticationFailed):
        return KafkaAccessError(
            f"Kafka at {address} refused the {access.sasl_mechanism} login of user {access.sasl_username!r}: "
            f"check {env_name('sasl_username')} and {env_name('sasl_password')}",
            permanent=True,
        )
    if isinstance(cause, UnsupportedSaslMechanismError):
        return KafkaAccessError(
            f"Kafka at {address} does not offer SASL mechanism {access.sasl_mechanism}: "
            f"check {env_name('sasl_mechanism')}",
            permanent=True,
        )
    if isinstance(cause, IllegalSaslStateError):
        return KafkaAccessError(
            f"Kafka at {address} does not expect SASL on this port: check {protocol}", permanent=True
        )
    if isinstance(cause, ssl.SSLCertVerificationError):
        return KafkaAccessError(
            f"the TLS certificate of Kafka at {address} is not trusted ({cause.verify_message}): check "
            f"{env_name('ssl_cafile')} (the CA that signed it) and that {host} is a name in the certificate",
            permanent=True,
        )
    if isinstance(cause, ssl.SSLError) and any(alert in str(cause.reason) for alert in _TLS_ALERTS):
        files = f"{env_name('ssl_certfile')} and {env_name('ssl_keyfile')}"
        if not access.ssl_certfile:
            return KafkaAccessError(
                f"Kafka at {address} requires a client certificate ({cause.reason}): set {files}", permanent=True
            )
        return KafkaAccessError(
            f"Kafka at {address} refused this client's certificate ({cause.reason}): check {files} "
            "(signed by a CA the broker trusts?)",
            permanent=True,
        )
    if isinstance(cause, ConnectionRefusedError):
        return KafkaAccessError(f"{address} refused the connection", permanent=False)
    if isinstance(cause, socket.gaierror):
        return KafkaAccessError(f"{address}: unknown host ({cause.strerror})", permanent=False)
    if isinstance(cause, (TimeoutError, asyncio.TimeoutError)):
        return KafkaAccessError(f"{address} did not answer within {timeout:g} s", permanent=False)
    # The connection was opened, then closed without an answer: typically one side speaks TLS and
    # the other does not. Find out which, with a bare TLS handshake; a port that fails it is said to
    # be plaintext only once it answers a plaintext request (a broker shutting down fails both).
    speaks_tls = await _speaks_tls(host, port, timeout)
    if speaks_tls and not access.uses_tls:
        return KafkaAccessError(
            f"Kafka at {address} expects TLS but {protocol}: set it to SSL or SASL_SSL", permanent=True
        )
    if speaks_tls is False and access.uses_tls and await _answers_plaintext(host, port, timeout):
        return KafkaAccessError(
            f"Kafka at {address} does not speak TLS but {protocol}: check the port in {env_name('broker')} "
            "or the protocol",
            permanent=True,
        )
    return KafkaAccessError(f"{address}: {_reason(cause) or type(cause).__name__}", permanent=False)


def _root_cause(error: BaseException) -> BaseException:
    """The innermost cause aiokafka wrapped (a closed connection carries the TLS or OS error)."""
    while error.__cause__ is not None:
        error = error.__cause__
    return error


async def _speaks_tls(host: str, port: int, timeout: float) -> bool | None:
    """Whether ``host:port`` completes a TLS handshake (certificates not checked); None if unknown."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=context), timeout)
    except ssl.SSLError:
        return False
    except (ConnectionResetError, BrokenPipeError, EOFError):
        return False
    except (TimeoutError, OSError):
        return None
    writer.close()
    return True


async def _answers_plaintext(host: str, port: int, timeout: float) -> bool:
    """Whether ``host:port`` answers a Kafka request sent without TLS."""
    try:
        connection = await create_conn(host, port, request_timeout_ms=int(timeout * 1000))
    except Exception:  # noqa: BLE001 - any failure means no
        return False
    connection.close()
    return True
