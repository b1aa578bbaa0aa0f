"""MqttConnection against real brokers: MQTT 5, credentials, TLS with client
certificates, last will and birth, reconnection with re-subscription, the account of
messages published while the broker is away, and the 3.1.1 fallback on amqtt."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from device_bridge.bridge import DeviceBridge
from device_bridge.broker import MosquittoBroker, start_embedded
from device_bridge.client import ConnectionSettingsError, Message, MqttConnection, parse_url
from device_bridge.simulator import Simulator
from tests.waiting import until


def test_urls() -> None:
    assert parse_url("mqtt://10.0.0.2") == ("mqtt", "10.0.0.2", 1883, None, None)
    assert parse_url("mqtts://bot:s%40cret@broker.lan") == ("mqtts", "broker.lan", 8883, "bot", "s@cret")
    with pytest.raises(ConnectionSettingsError, match="mqtt:// or mqtts://"):
        parse_url("http://broker")


def test_publish_subscribe_birth_will_and_reconnect(own_mosquitto) -> None:
    got: list[str] = []
    status: list[str] = []
    watcher = MqttConnection(own_mosquitto.url)
    watcher.subscribe("bot/status", lambda m: status.append(m.text))
    assert watcher.start(5)
    conn = MqttConnection(own_mosquitto.url, will=Message("bot/status", "offline", retain=True),
                          birth=Message("bot/status", "online", retain=True))
    conn.subscribe("rooms/+/temp", lambda m: got.append(m.text))
    assert conn.start(5) and conn.protocol == "5"
    assert until(lambda: status[-1:] == ["online"])
    watcher.publish("rooms/kitchen/temp", "21.5")
    assert until(lambda: got == ["21.5"])
    # the broker goes away: publishes are held, with a deadline
    own_mosquitto.stop()
    assert until(lambda: not conn.connected)
    held = conn.publish("rooms/hall/temp", "19.0", deadline_s=10)
    lost = conn.publish("rooms/attic/temp", "5.0", deadline_s=0.2)
    assert until(lambda: lost.status == "expired", 10)
    assert held.status == "queued" and conn.queued == 1
    own_mosquitto.start()
    assert held.wait(8) == "sent"
    # connected is CONNACK; the renewed subscription is in place only at its SUBACK
    assert watcher.wait_subscribed(8) and conn.wait_subscribed(8)
    watcher.publish("rooms/bath/temp", "23.0")
    # re-subscribed after the restart; the message that expired never arrives
    assert until(lambda: "23.0" in got, 10), got
    assert "5.0" not in got
    conn.stop()  # a clean stop still says offline
    assert until(lambda: status[-1:] == ["offline"])
    watcher.stop()


@pytest.fixture(scope="module")
def tls_broker() -> Iterator[tuple[MosquittoBroker, Path]]:
    """Mosquitto with TLS, client certificates and a password file. (Mosquitto drops
    root privileges, so the files live in a world-readable folder of their own.)"""
    d = Path(tempfile.mkdtemp(prefix="voicebot-tls-"))

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    ssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", "/CN=test-ca",
        "-keyout", "ca.key", "-out", "ca.pem")
    for name, extra in (("server", "subjectAltName=IP:127.0.0.1"), ("client", "extendedKeyUsage=clientAuth")):
        ssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{name}.key", "-out", f"{name}.csr")
        (d / f"{name}.ext").write_text(extra + "\n")
        ssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-out", f"{name}.pem", "-extfile", f"{name}.ext")
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(d / "passwd"), "voicebot", "hunter2"], check=True)
    for f in d.iterdir():
        f.chmod(0o644)
    d.chmod(0o755)
    conf = (f"cafile {d}/ca.pem\ncertfile {d}/server.pem\nkeyfile {d}/server.key\nrequire_certificate true\n"
            f"password_file {d}/passwd\nallow_anonymous false\n")
    broker = MosquittoBroker(extra_conf=conf)
    broker._conf.write_text(f"per_listener_settings false\nlistener {broker.port} 127.0.0.1\n{conf}persistence false\n")
    try:
        with broker:
            yield broker, d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_tls_with_client_certificate_and_password(tls_broker) -> None:
    broker, d = tls_broker
    url = f"mqtts://127.0.0.1:{broker.port}"
    good = MqttConnection(url, username="voicebot", password="hunter2", ca_file=str(d / "ca.pem"),
                          cert_file=str(d / "client.pem"), key_file=str(d / "client.key"))
    got: list[str] = []
    good.subscribe("secure/#", lambda m: got.append(m.text))
    assert good.start(5), good.last_error
    good.publish("secure/x", "hello").wait(2)
    assert until(lambda: got == ["hello"])
    good.stop()
    wrong = MqttConnection(url, username="voicebot", password="wrong", ca_file=str(d / "ca.pem"),
                           cert_file=str(d / "client.pem"), key_file=str(d / "client.key"))
    assert not wrong.start(1.5)
    assert "not authorized" in (wrong.last_error or "").lower() or "bad user" in (wrong.last_error or "").lower()
    wrong.stop()
    with pytest.raises(ConnectionSettingsError):
        MqttConnection(url, ca_file=str(d / "missing.pem")).start(0.1)


def test_embedded_amqtt_broker_with_the_simulated_home() -> None:
    """No Mosquitto wanted: amqtt speaks only MQTT 3.1.1; the connection falls back."""
    broker = start_embedded(prefer="amqtt")
    try:
        assert broker.kind == "amqtt"
        home = {"devices": [{"name": "Lamp", "type": "light"}, {"name": "Plug", "type": "switch", "convention": "tasmota"},
                            {"name": "Heater", "type": "climate", "convention": "homeassistant"}]}
        sim = Simulator(home, broker.url).start(wait=15)
        bridge = DeviceBridge(broker.url, home).start(timeout=15)
        try:
            assert bridge.conn is not None and bridge.conn.protocol == "3.1.1"
            assert bridge.wait_until_known(15)
            assert bridge.set("lamp", {"state": "on", "brightness": 99}).ok
            assert bridge.set("plug", {"state": "on"}).ok
            assert bridge.set("heater", {"temperature": 22}).ok
        finally:
            bridge.stop()
            sim.stop()
    finally:
        broker.close()


def test_bridge_without_a_broker_starts_an_embedded_one() -> None:
    with DeviceBridge(home={"devices": [{"name": "Lamp", "type": "light"}]}) as bridge:
        assert bridge.broker_url is not None and bridge.broker_url.startswith("mqtt://127.0.0.1:")
        assert bridge._embedded is not None and bridge._embedded.kind == "mosquitto"
        assert bridge.conn is not None and bridge.conn.protocol == "5"


def test_shared_subscription_spreads_messages_over_workers(own_mosquitto) -> None:
    """$share/<group>/<filter>: each message goes to one worker of the group."""
    got: dict[str, list[str]] = {"a": [], "b": []}
    workers = []
    for name in ("a", "b"):
        w = MqttConnection(own_mosquitto.url)
        w.subscribe("$share/voicebot/clips/+", lambda m, n=name: got[n].append(m.text))
        assert w.start(5)
        workers.append(w)
    pub = MqttConnection(own_mosquitto.url)
    assert pub.start(5)
    for i in range(40):
        pub.publish(f"clips/dev{i % 3}", str(i))
    assert until(lambda: len(got["a"]) + len(got["b"]) == 40, 10), got
    assert got["a"] and got["b"] and not set(got["a"]) & set(got["b"])
    for c in (*workers, pub):
        c.stop()


def test_qos1_message_published_as_the_broker_dies_arrives_after_the_restart(own_mosquitto) -> None:
    """Published right as the broker goes (the client may still believe it is connected, so the
    message can end in paho's outbox rather than ours): it is acknowledged and arrives once the
    broker is back, and nothing is left in flight."""
    conn = MqttConnection(own_mosquitto.url, reconnect_max_s=0.5)
    assert conn.start(5)
    own_mosquitto.stop()
    sent = conn.publish("tickets/test", "ticket 7", qos=1, retain=True)  # retained: seen whenever one subscribes
    assert not sent.acknowledged
    own_mosquitto.start()
    assert until(lambda: sent.acknowledged, 10), (sent.status, conn.queued)
    assert conn.unacknowledged() == []
    got: list[str] = []
    watcher = MqttConnection(own_mosquitto.url)
    watcher.subscribe("tickets/test", lambda m: got.append(m.text))
    assert watcher.start(5)
    assert until(lambda: got == ["ticket 7"], 10), got
    watcher.stop()
    conn.stop()


def test_a_message_handed_over_while_disconnected_is_judged_without_raising() -> None:
    # paho keeps the 'not connected' code of the moment of publishing and raises on it from
    # is_published() ever after; bridge.stop() after a broker restart raised RuntimeError here
    import paho.mqtt.client as paho

    from device_bridge.client import Delivery

    info = paho.MQTTMessageInfo(7)
    info.rc = paho.MQTT_ERR_NO_CONN
    d = Delivery(Message("voicebot/tickets/new", "{}", qos=1), None)
    d._info = info
    assert d.acknowledged is False
    info._set_as_published()  # the PUBACK came after the reconnect
    assert d.acknowledged is True
