"""The telemetry watcher: follows every device through the device bridge, keeps the history the
checks need, evaluates the rules and reports each finding once when it is raised and once when its
evidence is gone (cleared).

Device events only mark a device (and, for readings, its room) for evaluation; one evaluator thread
works through them and, every ``tick_s``, through the whole home, so grace periods end on time and a
busy home's burst of messages costs one evaluation per device, not one per message."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from device_bridge.bridge import DeviceBridge
from device_bridge.client import Message, Subscription
from device_bridge.conventions import QUERY, PayloadError
from device_bridge.conventions import get as convention
from device_bridge.devices import DeviceEvent, confirms
from voicebot.proactive.checks import CHECKS, Home
from voicebot.proactive.findings import DeviceView, Finding, History, PendingCommand
from voicebot.proactive.rules import Rule

log = logging.getLogger(__name__)

Clock = Callable[[], float]


class Watcher:
    def __init__(
        self,
        bridge: DeviceBridge,
        rules: list[Rule],
        on_raised: Callable[[Finding], None],
        on_cleared: Callable[[Finding], None],
        *,
        tick_s: float = 1.0,
        clock: Clock = time.time,
    ) -> None:
        self.bridge = bridge
        self.rules = rules
        self.on_raised = on_raised
        self.on_cleared = on_cleared
        self.tick_s = tick_s
        self.clock = clock
        self.active: dict[str, Finding] = {}
        self._histories: dict[str, History] = {}
        self._lock = threading.Condition()
        self._dirty: set[str] = set()
        self._running = False
        self._thread: threading.Thread | None = None
        self._command_subs: dict[str, list[Subscription]] = {}
        self._areas: dict[str, set[str]] = {}
        self._params = {r.id: r.settings() for r in rules}  # validated once, not per device and tick
        confirm = [self._params[r.id].confirm_s for r in rules if r.check == "command_failures"]
        self._confirm_s = max(confirm) if confirm else None  # None: commands are not followed
        self.evaluations = 0
        self._remove_listener: Callable[[], None] | None = None

    # -- life cycle -------------------------------------------------------------------------
    def attach(self) -> None:
        """Listen to the bridge (call before the bridge starts, so nothing retained is missed)."""
        self._remove_listener = self.bridge.add_listener(self._on_event)

    def start(self) -> Watcher:
        if self._remove_listener is None:
            self.attach()
        self._running = True
        self._thread = threading.Thread(target=self._run, name="proactive-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._running = False
        with self._lock:
            self._lock.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._remove_listener is not None:
            self._remove_listener()
            self._remove_listener = None

    def history(self, device_id: str) -> History:
        with self._lock:
            return self._histories.setdefault(device_id, History())

    def seed_offline_since(self, device_id: str, since: float) -> None:
        """A finding still open from before a restart: the device has been offline since then."""
        h = self.history(device_id)
        with self._lock:
            if h.offline_since is None or since < h.offline_since:
                h.offline_since = since
            self._dirty.add(device_id)
            self._lock.notify_all()

    # -- events (the bridge's event thread: quick) -------------------------------------------------
    def _on_event(self, event: DeviceEvent) -> None:
        if event.device is None:
            return
        dev = event.device
        at = event.at or self.clock()
        if event.kind == "removed":
            self._unfollow_commands(dev.id)
            with self._lock:
                self._areas = {}
                self._histories.pop(dev.id, None)
                self._dirty.add(dev.id)
                self._lock.notify_all()
            return
        if event.kind in ("added", "changed"):
            self._follow_commands(dev.id)
        with self._lock:
            h = self._histories.setdefault(dev.id, History())
            if event.state is not None:
                tel = event.state.telemetry
                h.sample(h.battery, at, tel.battery)
                h.sample(h.linkquality, at, tel.linkquality)
                self._note_availability(h, tel.available, at)
            self._dirty.add(dev.id)
            if dev.area:  # a reading changed: its neighbours compare differently now
                self._dirty.update(self._area_members(dev.area, event.kind in ("added", "changed")))
            self._lock.notify_all()

    def _area_members(self, area: str, changed: bool) -> set[str]:
        """The ids of an area's devices (an index rebuilt when the registry changes, not per message)."""
        if changed or not self._areas:
            self._areas = {}
            for d in self.bridge.devices():
                if d.area:
                    self._areas.setdefault(d.area, set()).add(d.id)
        return self._areas.get(area, set())

    @staticmethod
    def _note_availability(h: History, available: bool | None, at: float) -> None:
        if available is None or available == h.available:
            return
        if h.available is not None:
            h.flips.append((at, available))
        h.available = available
        if available:
            h.offline_since = None
        elif h.offline_since is None:
            h.offline_since = at

    # -- commands seen on the broker --------------------------------------------------------------
    def _follow_commands(self, device_id: str) -> None:
        if self._confirm_s is None or self.bridge.conn is None:
            return
        self._unfollow_commands(device_id)
        try:
            dev = self.bridge.device(device_id)
        except LookupError:
            return
        topics = convention(dev.convention).device_subscriptions(dev)
        if topics:
            self._command_subs[device_id] = self.bridge.conn.subscribe_many(
                topics, lambda msg, d=device_id: self._on_command(d, msg), qos=0)

    def _unfollow_commands(self, device_id: str) -> None:
        for sub in self._command_subs.pop(device_id, []):
            if self.bridge.conn is not None:
                self.bridge.conn.unsubscribe(sub)

    def _on_command(self, device_id: str, msg: Message) -> None:
        try:
            dev = self.bridge.device(device_id)
            decoded = convention(dev.convention).decode_command(dev, msg.topic, msg.payload)  # type: ignore[arg-type]
        except (LookupError, PayloadError, ValueError, TypeError, KeyError) as exc:
            log.debug("not a command for %s on %s: %s", device_id, msg.topic, exc)
            return
        if not isinstance(decoded, dict) or decoded == QUERY or not decoded:
            return
        with self._lock:
            h = self._histories.setdefault(device_id, History())
            h.commands.append(PendingCommand(msg.received_at or self.clock(), dict(decoded)))
            self._dirty.add(device_id)
            self._lock.notify_all()

    def _settle_commands(self, view: DeviceView, now: float) -> None:
        """A command the device confirmed is a success (and forgives earlier failures); one it has
        not confirmed ``confirm_s`` after it was sent is a failure."""
        h, st = view.history, view.state
        assert self._confirm_s is not None
        waiting: list[PendingCommand] = []
        for cmd in h.commands:
            answered = st.updated_at is not None and st.updated_at >= cmd.at - 0.05
            if answered and confirms(view.device, cmd.requested, st.state):
                h.failures.clear()
            elif now - cmd.at >= self._confirm_s:
                h.failures.append((cmd.at, cmd.requested))
            else:
                waiting.append(cmd)
        h.commands = waiting

    # -- evaluation -------------------------------------------------------------------------
    def _run(self) -> None:
        next_full = 0.0
        while self._running:
            with self._lock:
                if not self._dirty and time.monotonic() < next_full:
                    self._lock.wait(min(0.2, max(0.0, next_full - time.monotonic())))
                dirty, self._dirty = self._dirty, set()
            if not self._running:
                return
            full = time.monotonic() >= next_full
            try:
                self.evaluate(None if full else dirty)
            except Exception:  # a bug in one check must not stop the watching
                log.exception("evaluating the proactive rules failed; going on")
            if full:
                next_full = time.monotonic() + self.tick_s

    def evaluate(self, device_ids: set[str] | None = None) -> list[Finding]:
        """Evaluate the rules for these devices (None: all); report what was raised and cleared.
        Returns the findings active for them now."""
        now = self.clock()
        self.evaluations += 1
        views: dict[str, DeviceView] = {}
        for dev in self.bridge.devices():
            try:
                state = self.bridge.snapshot(dev.id)
            except LookupError:
                continue
            h = self.history(dev.id)
            with self._lock:
                if not h.battery:
                    h.sample(h.battery, now, state.telemetry.battery)
                if not h.linkquality:
                    h.sample(h.linkquality, now, state.telemetry.linkquality)
                self._note_availability(h, state.telemetry.available, now)
            views[dev.id] = DeviceView(dev, state, h)
        home = Home(views)
        targets = set(views) if device_ids is None else device_ids & set(views)
        found: dict[str, Finding] = {}
        for device_id in sorted(targets):
            view = views[device_id]
            with self._lock:
                if self._confirm_s is not None and view.history.commands:
                    self._settle_commands(view, now)
                for rule in self.rules:
                    evidence = CHECKS[rule.check](self._params[rule.id], view, home, now)
                    if evidence is not None:
                        f = _finding(rule, view, evidence, now)
                        found[f.key] = f
        gone = [f for k, f in self.active.items()
                if (f.device_id in targets or f.device_id not in views) and k not in found]
        raised = [f for k, f in found.items() if k not in self.active]
        for f in gone:
            del self.active[f.key]
        for f in raised:
            self.active[f.key] = f
        for f in gone:
            self._report(self.on_cleared, f, "cleared")
        for f in raised:
            self._report(self.on_raised, f, "raised")
        return list(found.values())

    def _report(self, callback: Callable[[Finding], Any], finding: Finding, what: str) -> None:
        log.info("finding %s %s: %s", finding.key, what, finding.evidence)
        try:
            callback(finding)
        except Exception:
            log.exception("handling the %s finding %s failed", what, finding.key)


def _finding(rule: Rule, view: DeviceView, evidence: dict[str, Any], now: float) -> Finding:
    dev = view.device
    return Finding(rule.id, rule.check, rule.kind, rule.severity, dev.id, dev.name, dev.area, evidence,
                   rule.playbook_for(dev), now)

