"""Security settings, the one place that turns them into Kafka client options, and the start-up wait."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

import pytest
from faust.auth import SASLCredentials, SSLCredentials

from streams import cli
from streams.kafka_access import KafkaAccess, KafkaAccessError, check_access, wait_for_kafka
from streams.settings import Secret, Settings, SettingsError
from tests.certificates import Certificates, make_certificates

PASSWORD = "pa55-Secret-never-shown"


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("certificates"))


def sasl_ssl_env(certificates: Certificates, **more: str) -> dict[str, str]:
    return {
        "WIRESTREAM_SECURITY_PROTOCOL": "sasl_ssl",
        "WIRESTREAM_SASL_MECHANISM": "scram-sha-512",
        "WIRESTREAM_SASL_USERNAME": "wirestream",
        "WIRESTREAM_SASL_PASSWORD": PASSWORD,
        "WIRESTREAM_SSL_CAFILE": str(certificates.ca),
        **more,
    }


def test_sasl_ssl_settings_become_client_options_and_faust_credentials(certificates: Certificates) -> None:
    settings = Settings.from_env(sasl_ssl_env(certificates))
    access = KafkaAccess.from_settings(settings)
    options = access.client_options()
    assert options["bootstrap_servers"] == "127.0.0.1:9092"
    assert (options["security_protocol"], options["sasl_mechanism"]) == ("SASL_SSL", "SCRAM-SHA-512")
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("wirestream", PASSWORD)
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    credentials = access.faust_credentials()
    assert isinstance(credentials, SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL" and credentials.mechanism.value == "SCRAM-SHA-512"
    assert PASSWORD not in repr(credentials)


def test_mutual_tls_loads_the_client_certificate(certificates: Certificates) -> None:
    env = {
        "WIRESTREAM_SECURITY_PROTOCOL": "SSL",
        "WIRESTREAM_SSL_CAFILE": str(certificates.ca),
        "WIRESTREAM_SSL_CERTFILE": str(certificates.client_cert),
        "WIRESTREAM_SSL_KEYFILE": str(certificates.client_key),
    }
    access = KafkaAccess.from_settings(Settings.from_env(env))
    options = access.client_options()
    assert options["security_protocol"] == "SSL" and "sasl_mechanism" not in options
    assert isinstance(access.faust_credentials(), SSLCredentials)


def test_plaintext_is_the_default_and_needs_no_credentials() -> None:
    access = KafkaAccess.from_settings(Settings.from_env({}))
    assert access.client_options() == {"bootstrap_servers": "127.0.0.1:9092", "security_protocol": "PLAINTEXT"}
    assert access.faust_credentials() is None


def test_the_password_can_come_from_a_secret_file(tmp_path: Path, certificates: Certificates) -> None:
    secret = tmp_path / "sasl_password"
    secret.write_text(PASSWORD + "\n")  # `echo ... > file` and most secret stores end it with a newline
    env = sasl_ssl_env(certificates, WIRESTREAM_SASL_PASSWORD_FILE=str(secret))
    del env["WIRESTREAM_SASL_PASSWORD"]
    assert Settings.from_env(env).sasl_password.reveal() == PASSWORD


def test_password_and_password_file_together_are_refused(tmp_path: Path, certificates: Certificates) -> None:
    secret = tmp_path / "sasl_password"
    secret.write_text("other")
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(sasl_ssl_env(certificates, WIRESTREAM_SASL_PASSWORD_FILE=str(secret)))
    assert "WIRESTREAM_SASL_PASSWORD and WIRESTREAM_SASL_PASSWORD_FILE are both set" in str(caught.value)
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    ("changes", "named", "says"),
    [
        ({"WIRESTREAM_SECURITY_PROTOCOL": "TLS"}, "WIRESTREAM_SECURITY_PROTOCOL", "one of PLAINTEXT, SSL"),
        ({"WIRESTREAM_SASL_MECHANISM": "GSSAPI"}, "WIRESTREAM_SASL_MECHANISM", "PLAIN, SCRAM-SHA-256"),
        ({"WIRESTREAM_SASL_MECHANISM": ""}, "WIRESTREAM_SASL_MECHANISM", "is required with WIRESTREAM_SECURITY_PRO"),
        ({"WIRESTREAM_SASL_USERNAME": ""}, "WIRESTREAM_SASL_USERNAME", "is required"),
        ({"WIRESTREAM_SASL_PASSWORD": ""}, "WIRESTREAM_SASL_PASSWORD", "is required"),
        ({"WIRESTREAM_SECURITY_PROTOCOL": "SSL"}, "WIRESTREAM_SASL_MECHANISM", "does not use it"),
        ({"WIRESTREAM_SECURITY_PROTOCOL": "SASL_PLAINTEXT"}, "WIRESTREAM_SSL_CAFILE", "does not use it"),
        ({"WIRESTREAM_SSL_CAFILE": "/nonexistent/ca.pem"}, "WIRESTREAM_SSL_CAFILE", "a readable PEM file"),
        ({"WIRESTREAM_SASL_PASSWORD_FILE": "/nonexistent/pw"}, "WIRESTREAM_SASL_PASSWORD_FILE", "cannot be read"),
        ({"WIRESTREAM_SSL_CERTFILE": "{client_cert}"}, "WIRESTREAM_SSL_KEYFILE", "set both or neither"),
        ({"WIRESTREAM_BROKER_WAIT_SECONDS": "-1"}, "WIRESTREAM_BROKER_WAIT_SECONDS", ">= 0"),
    ],
)
def test_unusable_security_settings_are_named_and_never_show_the_password(
    certificates: Certificates, changes: dict[str, str], named: str, says: str
) -> None:
    env = sasl_ssl_env(certificates)
    for variable, value in changes.items():
        env[variable] = value.format(client_cert=certificates.client_cert)
    if "WIRESTREAM_SASL_PASSWORD_FILE" in changes:
        del env["WIRESTREAM_SASL_PASSWORD"]
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert named in str(caught.value) and says in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_a_file_that_is_not_pem_is_named(tmp_path: Path, certificates: Certificates) -> None:
    garbage = tmp_path / "ca.pem"
    garbage.write_text("not a certificate")
    settings = Settings.from_env(sasl_ssl_env(certificates, WIRESTREAM_SSL_CAFILE=str(garbage)))
    with pytest.raises(SettingsError, match=r"WIRESTREAM_SSL_CAFILE=.* holds no usable CA certificate"):
        KafkaAccess.from_settings(settings).client_options()
    env = sasl_ssl_env(
        certificates,
        WIRESTREAM_SECURITY_PROTOCOL="SSL",
        WIRESTREAM_SSL_CERTFILE=str(certificates.client_cert),
        WIRESTREAM_SSL_KEYFILE=str(certificates.untrusted_client_key),
    )
    for variable in ("WIRESTREAM_SASL_MECHANISM", "WIRESTREAM_SASL_USERNAME", "WIRESTREAM_SASL_PASSWORD"):
        del env[variable]
    with pytest.raises(SettingsError, match=r"WIRESTREAM_SSL_CERTFILE=.* are not a matching PEM certificate"):
        KafkaAccess.from_settings(Settings.from_env(env)).client_options()


def test_the_password_is_in_no_repr_str_or_config_output(
    certificates: Certificates, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings.from_env(sasl_ssl_env(certificates))
    access = KafkaAccess.from_settings(settings)
    for shown in (repr(settings), str(settings), repr(access), f"{settings.sasl_password}", str(vars(cli))):
        assert PASSWORD not in shown
    assert repr(settings.sasl_password) == "Secret('***')"
    for variable, value in sasl_ssl_env(certificates).items():
        monkeypatch.setenv(variable, value)
    assert cli.main(["config"]) == 0
    output = capsys.readouterr().out
    assert "sasl_password = Secret('***')" in output and PASSWORD not in output


def test_secrets_compare_by_value_without_showing_it() -> None:
    assert Secret("a") == Secret("a") and Secret("a") != Secret("b") and not Secret()
    assert str(Secret()) == "" and str(Secret("a")) == "***"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_broker_is_waited_for_then_given_up_on_naming_the_address() -> None:
    port = _closed_port()
    reports: list[str] = []
    access = KafkaAccess(f"127.0.0.1:{port}")
    with pytest.raises(KafkaAccessError) as caught:
        asyncio.run(wait_for_kafka(access, 1.5, reports.append))
    error = caught.value
    assert not error.permanent and error.exit_code == 69
    assert f"127.0.0.1:{port} refused the connection" in str(error)
    assert "WIRESTREAM_BROKER" in str(error) and "WIRESTREAM_BROKER_WAIT_SECONDS=1.5" in str(error)
    assert len(reports) == 1 and "retrying" in reports[0]


def test_a_port_that_answers_nonsense_is_not_taken_for_kafka() -> None:
    """A listener that closes every connection at once (here: a socket that accepts, then closes)
    is reported per address, and is not a permanent refusal."""

    async def scenario() -> KafkaAccessError:
        async def hang_up(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            await check_access(KafkaAccess(f"127.0.0.1:{port}"), timeout=2)
        except KafkaAccessError as error:
            return error
        finally:
            server.close()
        raise AssertionError("a server that hangs up was taken for Kafka")

    error = asyncio.run(scenario())
    assert not error.permanent
    assert "cannot reach Kafka (WIRESTREAM_BROKER): 127.0.0.1:" in str(error)


def test_debug_logging_does_not_open_the_kafka_clients_request_log() -> None:
    """aiokafka's debug lines print every request, a SASL PLAIN login with its password among them."""
    from streams.logs import logging_config

    config = logging_config("DEBUG")
    assert config["root"]["level"] == "DEBUG"
    assert config["loggers"]["aiokafka"]["level"] == "WARNING"
