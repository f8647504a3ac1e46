"""The station's API and status page over HTTPS with its own certificate."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from kiosk.app.station import Station
from kiosk.core.clock import SystemClock
from kiosk.core.config import parse_config
from tests.support import LoopThread


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1, as a station would make for itself."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "station t-tls")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "station.crt", folder / "station.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_file.chmod(0o600)
    return cert_file, key_file


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    cert, key = self_signed(tmp_path)
    config = parse_config(
        f"""
[station]
id = "t-tls"
name = "加密驿站"
name_en = "TLS Station"
data_dir = "{tmp_path / "data"}"

[api]
port = 0
ui_token_file = "{tmp_path / "data" / "ui-token"}"
users_file = "{tmp_path / "users.json"}"
tls_cert_file = "{cert}"
tls_key_file = "{key}"
"""
    )
    loop = LoopThread()
    st: Station = loop.call(Station, config, SystemClock())
    loop.run(st.start())
    try:
        yield st
    finally:
        loop.run(st.stop("test over"))
        loop.close()


def test_the_api_answers_over_https_with_the_stations_certificate(station: Station, tmp_path: Path) -> None:
    assert station.api.url.startswith("https://127.0.0.1:")
    answer = requests.get(f"{station.api.url}/api/health", verify=str(tmp_path / "station.crt"), timeout=10)
    assert answer.json()["station_id"] == "t-tls"


def test_plain_http_gets_no_answer_from_a_tls_station(station: Station) -> None:
    with pytest.raises(requests.ConnectionError):
        requests.get(station.api.url.replace("https://", "http://") + "/api/health", timeout=10)


def test_a_half_configured_tls_is_refused() -> None:
    with pytest.raises(ValueError, match="needs both tls_cert_file and tls_key_file"):
        parse_config('[station]\nid = "t-1"\nname = "站"\nname_en = "S"\n[api]\ntls_cert_file = "/x.crt"\n')
