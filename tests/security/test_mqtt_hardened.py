"""voicebot on a broker run the way a security-minded home runs it: TLS (certificates made by
the fixture with ``cryptography``), username and password, and docs/mosquitto/voicebot.acl,
which lets voicebot publish only the command topics it sends. The device bridge still reads and
commands every kind of device; a publish outside the ACL never reaches anyone."""

from __future__ import annotations

import datetime
import ipaddress
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from device_bridge.bridge import DeviceBridge
from device_bridge.broker import MosquittoBroker, free_port
from device_bridge.client import MqttConnection
from device_bridge.simulator import Simulator
from tests.waiting import until

ROOT = Path(__file__).resolve().parents[2]
ACL = ROOT / "docs" / "mosquitto" / "voicebot.acl"
HOME = ROOT / "device_bridge" / "homes" / "demo.yaml"
PASSWORDS = {"voicebot": "v0ice-b0t", "devices": "dev1ces", "observer": "0bserver"}


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make_certificates(folder: Path) -> None:
    """A CA and a server certificate for 127.0.0.1, valid for a day."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder().subject_name(_name("voicebot test CA")).issuer_name(_name("voicebot test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


@dataclass
class HardenedBroker:
    broker: MosquittoBroker
    tls_port: int
    plain_port: int
    ca_file: Path

    def plain_url(self, user: str) -> str:
        return f"mqtt://{user}:{PASSWORDS[user]}@127.0.0.1:{self.plain_port}"

    @property
    def tls_url(self) -> str:
        return f"mqtts://127.0.0.1:{self.tls_port}"


@pytest.fixture(scope="module")
def hardened() -> Iterator[HardenedBroker]:
    folder = Path(tempfile.mkdtemp(prefix="voicebot-mqtt-hardened-"))
    make_certificates(folder)
    for i, (user, password) in enumerate(PASSWORDS.items()):
        subprocess.run(["mosquitto_passwd", "-b", *(["-c"] if i == 0 else []), str(folder / "passwd"), user, password],
                       check=True, capture_output=True)
    # The documented ACL, plus the test's own users: the simulated devices, and an observer
    # that sees everything (to show what does and does not get through).
    (folder / "acl").write_text(ACL.read_text() + "\nuser devices\ntopic readwrite #\n\nuser observer\ntopic read #\n")
    for f in folder.iterdir():
        f.chmod(0o644)  # Mosquitto drops root privileges before reading them
    folder.chmod(0o755)
    plain = free_port()
    broker = MosquittoBroker()
    broker._conf.write_text(
        f"per_listener_settings false\nallow_anonymous false\npassword_file {folder}/passwd\nacl_file {folder}/acl\n"
        f"persistence false\nset_tcp_nodelay true\nlistener {plain} 127.0.0.1\n"
        f"listener {broker.port} 127.0.0.1\ncafile {folder}/ca.pem\ncertfile {folder}/server.pem\n"
        f"keyfile {folder}/server.key\ntls_version tlsv1.2\n"
    )
    try:
        with broker:
            yield HardenedBroker(broker, broker.port, plain, folder / "ca.pem")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_voicebot_commands_every_kind_of_device_through_tls_password_and_acl(hardened: HardenedBroker) -> None:
    sim = Simulator(HOME, hardened.plain_url("devices")).start()
    bridge = DeviceBridge(hardened.tls_url, HOME, username="voicebot", password=PASSWORDS["voicebot"],
                          ca_file=str(hardened.ca_file)).start(timeout=15)
    try:
        assert bridge.wait_until_known(15), "voicebot reads every device's state under the ACL"
        by_convention = {d.convention: d for d in bridge.devices() if d.type in ("light", "switch")}
        assert set(by_convention) == {"zigbee2mqtt", "homeassistant", "tasmota"}
        for device in by_convention.values():
            result = bridge.set(device.id, {"state": "on"}, timeout=15)
            assert result.ok, (device.convention, device.id, result)
    finally:
        bridge.stop()
        sim.stop()


def test_publishes_outside_the_acl_reach_nobody(hardened: HardenedBroker) -> None:
    observer = MqttConnection(hardened.plain_url("observer"))
    seen: list[str] = []
    observer.subscribe("#", lambda m: seen.append(m.topic))
    assert observer.start(15), observer.last_error
    bot = MqttConnection(hardened.tls_url, username="voicebot", password=PASSWORDS["voicebot"],
                         ca_file=str(hardened.ca_file))
    assert bot.start(15), bot.last_error
    try:
        forbidden = ["zigbee2mqtt/bridge/request/permit_join", "cmnd/tasmota_A1B2C3/Upgrade",
                     "cmnd/tasmota_A1B2C3/Backlog", "homeassistant/lock/x/config", "voicebot/feedback/dev/ack"]
        for topic in forbidden:
            bot.publish(topic, "1", qos=1).wait(5)
        # Messages of one client arrive in order: once the allowed one is seen, any forbidden
        # one would have been seen before it.
        bot.publish("zigbee2mqtt/kitchen_light/get", '{"state": ""}', qos=1).wait(5)
        assert until(lambda: "zigbee2mqtt/kitchen_light/get" in seen, 10)
        assert not set(forbidden) & set(seen), seen
    finally:
        bot.stop()
        observer.stop()


def test_without_the_password_or_over_plain_tcp_from_the_network_nothing_connects(hardened: HardenedBroker) -> None:
    wrong = MqttConnection(hardened.tls_url, username="voicebot", password="guess", ca_file=str(hardened.ca_file))
    assert not wrong.start(2)
    wrong.stop()
    anonymous = MqttConnection(f"mqtt://127.0.0.1:{hardened.plain_port}")
    assert not anonymous.start(2)
    anonymous.stop()
