"""The JSON API and sign-in rules, over HTTP against the running console."""

from __future__ import annotations

import urllib.error
import urllib.parse
import urllib.request

from console_helpers import PASSWORDS, ConsoleStack

from tests.waiting import until


def test_a_chat_that_escalates_is_listed_within_a_second(stack: ConsoleStack) -> None:
    conv = stack.runtime.conversation("chat", customer_id="c-1")
    reply = conv.handle("I want to talk to a person")
    assert reply.escalated and reply.ticket_id
    # nothing to wait for: the very first request after the escalation lists it (the store is read
    # per request; the browser test measures the queue page's own update)
    status, body = stack.api("/api/tickets", "bob", PASSWORDS["bob"])
    assert status == 200 and reply.ticket_id in {t["id"] for t in body}
    _, body = stack.api(f"/api/tickets/{reply.ticket_id}", "bob", PASSWORDS["bob"])
    assert body["customer_id"] == "c-1" and body["channel"] == "chat"
    assert any("person" in t["user_text"] for t in body["transcript"])
    # who read it is on record
    assert any(e.action == "api_ticket" and e.agent == "bob" for e in stack.console.db.audit(ticket_id=reply.ticket_id))


def test_without_credentials_or_with_a_wrong_password_the_api_answers_401(stack: ConsoleStack) -> None:
    status, _ = stack.api("/api/tickets")
    assert status == 401
    status, _ = stack.api("/api/tickets", "bob", "not-bobs-password")
    assert status == 401
    status, _ = stack.api("/api/tickets", "nobody", PASSWORDS["bob"])
    assert status == 401
    try:
        urllib.request.urlopen(stack.url + "/api/tickets", timeout=5)
    except urllib.error.HTTPError as exc:
        assert exc.headers["WWW-Authenticate"].startswith("Basic")


def fresh_limiter(stack: ConsoleStack) -> None:
    stack.console.limiter.clear()  # the failures are in the store


def test_guessing_passwords_is_slowed_down(stack: ConsoleStack) -> None:
    fresh_limiter(stack)  # earlier tests' wrong passwords count from the same address
    try:
        for _ in range(stack.console.settings.sign_in_attempts):
            assert stack.api("/api/tickets", "alice", "guess-guess-guess")[0] == 401
        # now even the right password waits
        assert stack.api("/api/tickets", "alice", PASSWORDS["alice"])[0] == 429
    finally:
        fresh_limiter(stack)
    assert stack.api("/api/tickets", "alice", PASSWORDS["alice"])[0] == 200


def test_a_form_without_the_csrf_token_is_refused(stack: ConsoleStack) -> None:
    data = urllib.parse.urlencode({"name": "alice", "password": PASSWORDS["alice"]}).encode()
    try:
        urllib.request.urlopen(urllib.request.Request(stack.url + "/sign-in", data=data), timeout=5)
        raise AssertionError("signed in without a CSRF token")
    except urllib.error.HTTPError as exc:
        assert exc.code == 403


def test_pages_need_a_sign_in_and_the_cookie_is_secure(stack: ConsoleStack) -> None:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kw: object) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(stack.url + "/queue", timeout=5)
        raise AssertionError("the queue was shown without signing in")
    except urllib.error.HTTPError as exc:
        assert exc.code == 303 and exc.headers["Location"] == "/sign-in"
    with urllib.request.urlopen(stack.url + "/sign-in", timeout=5) as response:
        cookie = response.headers["Set-Cookie"].lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=strict" in cookie


def test_erasing_a_customer_erases_what_agents_wrote_about_them(stack: ConsoleStack) -> None:
    from voicebot.store import Customer
    from voicebot.store_admin import erase_customer

    stack.runtime.store.save_customer(Customer("c-9", "Erin Gone", ["+15550009"], None, None, "en"))
    reply = stack.runtime.conversation("chat", customer_id="c-9").handle("I want to talk to a person")
    ticket = stack.runtime.store.ticket(reply.ticket_id)
    db = stack.console.db
    db.record("bob", "note", ticket.id, ticket.conversation_id, "c-9", note="Erin's alarm code is 1234")
    db.resolve(ticket.id, "bob", "Told Erin to reset it", "c-9")
    db.book_callback(ticket.id, 2e9, "bob", "c-9")
    assert db.audit(ticket_id=ticket.id) and ticket.id in db.resolutions()

    erase_customer(stack.runtime.store, "c-9")
    assert db.audit(ticket_id=ticket.id) == []
    assert ticket.id not in db.resolutions() and ticket.id not in db.callbacks()


def test_a_typed_conversation_is_seen_live_too(stack: ConsoleStack) -> None:
    conv = stack.runtime.conversation("chat", customer_id="c-1")
    conv.handle("turn on the hallway light")
    board = stack.console.board
    # The board hears the conversation start before its first turn: wait for both entries.
    assert until(lambda: (s := board.get(conv.id)) is not None and len(s.entries) >= 2, timeout=10)
    snap = board.get(conv.id)
    assert snap.channel == "chat" and not snap.can_step_in
    assert [e.who for e in snap.entries] == ["customer", "bot"] and "hallway" in snap.entries[0].text
    status, live = stack.api("/api/live", "bob", PASSWORDS["bob"])
    assert status == 200 and conv.id in {c["conversation_id"] for c in live}
    conv.end("resolved")
    assert until(lambda: board.get(conv.id).ended_at is not None, timeout=10)
    assert board.get(conv.id).outcome == "resolved"
