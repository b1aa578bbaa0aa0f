"""The console in a real browser (headless Chromium): signing in, a ticket from a real escalated
conversation arriving in the queue, closing the loop, and a live spoken conversation that an agent
watches, takes over, speaks into and hands back."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from console_helpers import PASSWORDS, ConsoleStack, TestLine
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.waiting import until
from voicebot.demo import espeak


def wait(driver: WebDriver, timeout: float = 15.0) -> WebDriverWait:
    # live regions are replaced as the server reports changes: an element may go stale mid-read
    return WebDriverWait(driver, timeout, poll_frequency=0.05, ignored_exceptions=(StaleElementReferenceException,))


def text_of(driver: WebDriver, css: str) -> str:
    try:
        found = driver.find_elements(By.CSS_SELECTOR, css)
        return found[0].text if found else ""
    except StaleElementReferenceException:
        return ""


def sign_in(driver: WebDriver, stack: ConsoleStack, name: str, password: str) -> None:
    driver.get(stack.url + "/sign-in")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "sign-in").click()


def test_sign_in_the_queue_and_closing_the_loop(stack: ConsoleStack, browser: WebDriver, screenshots: Path) -> None:
    sign_in(browser, stack, "alice", "wrong-password-here")
    wait(browser).until(ec.visibility_of_element_located((By.ID, "sign-in-error")))
    assert "Wrong name or password" in text_of(browser, "#sign-in-error")
    browser.save_screenshot(str(screenshots / "console-sign-in.png"))

    sign_in(browser, stack, "alice", PASSWORDS["alice"])
    wait(browser).until(ec.url_contains("/queue"))
    # the page is open; a conversation elsewhere escalates and the row appears by itself
    conv = stack.runtime.conversation("chat", customer_id="c-1")
    conv.handle("the kitchen light keeps flickering")
    reply = conv.handle("this is useless, I want to talk to a person")
    assert reply.ticket_id
    escalated = time.monotonic()
    row = f'tr[data-ticket="{reply.ticket_id}"]'
    wait(browser, 10).until(ec.presence_of_element_located((By.CSS_SELECTOR, row)))
    arrived_s = time.monotonic() - escalated
    print(f"the ticket showed in the open queue {arrived_s:.2f} s after the escalation")
    assert arrived_s < 5.0, f"the ticket took {arrived_s:.1f} s to show"
    assert "Dana Reyes" in text_of(browser, row)
    browser.save_screenshot(str(screenshots / "console-queue.png"))

    browser.find_element(By.CSS_SELECTOR, f'{row} a').click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "h-transcript")))
    assert "person" in text_of(browser, ".transcript")  # the redacted transcript
    assert "Dana Reyes" in text_of(browser, "section[aria-labelledby=h-customer]")
    assert "Dana" in browser.find_element(By.ID, "suggested-reply").get_attribute("value")
    browser.save_screenshot(str(screenshots / "console-ticket.png"))

    # a callback inside the configured windows: the customer hears its real time
    Select(browser.find_element(By.ID, "callback")).select_by_index(1)
    browser.find_element(By.CSS_SELECTOR, "form[action$='/callback'] button").click()
    wait(browser).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "main"), "Booked:"))
    status = stack.runtime.conversation("chat", customer_id="c-1").handle("what is the status of my ticket")
    assert "call you back on" in status.text, status.text

    browser.find_element(By.ID, "resolution").send_keys("Replaced the bulb's driver; flicker gone.")
    browser.find_element(By.CSS_SELECTOR, "form[action$='/resolve'] button").click()
    wait(browser).until(ec.text_to_be_present_in_element((By.CSS_SELECTOR, "h1"), "closed"))
    status = stack.runtime.conversation("chat", customer_id="c-1").handle("what is the status of my ticket")
    assert "flicker gone" in status.text, status.text
    # every action is on record with who did it
    actions = {(e.agent, e.action) for e in stack.console.db.audit(ticket_id=reply.ticket_id)}
    assert {("alice", "callback"), ("alice", "resolve")} <= actions
    browser.get(stack.url + "/audit")  # supervisors see them all
    assert "resolve" in text_of(browser, "main table")
    browser.save_screenshot(str(screenshots / "console-audit.png"))


@pytest.fixture(scope="module")
def spoken(stack: ConsoleStack, transcriber: Any, synthesizer: Any) -> Any:
    """A live spoken conversation on a phone line, running in its own thread."""
    from voicebot.session import Session, SessionSettings
    from voicebot.store import Customer

    line = TestLine(speed=2.0)
    stack.runtime.store.save_customer(Customer("c-2", "Sam Okafor", ["+4930999999"], None, "Kitchen", "en"))
    session = Session(line, stack.runtime.conversation("phone", customer_id="c-2"), transcriber, synthesizer,
                      stack.runtime.settings, store=stack.runtime.store,
                      session_settings=SessionSettings(greet=True, barge_in=False))
    result: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: result.setdefault("r", asyncio.run(session.run())), daemon=True)
    yield line, session, thread, result
    line.close()
    thread.join(timeout=20)


def customer_says(line: TestLine, session: Any, text: str) -> None:
    """Wait for the bot to be quiet, then speak (espeak-ng, a voice unlike the bot's)."""
    assert until(lambda: not session.busy(), timeout=30)
    line.say(espeak(text))


def test_watch_take_over_speak_and_hand_back(stack: ConsoleStack, browser: WebDriver, screenshots: Path,
                                              spoken: Any, transcriber: Any) -> None:
    line, session, thread, _ = spoken
    cid = session.conversation.id
    sign_in(browser, stack, "alice", PASSWORDS["alice"])
    wait(browser).until(ec.url_contains("/queue"))  # signed in: the click's navigation is over
    browser.get(stack.url + "/live")
    thread.start()  # the call starts while the agent watches the list
    card = f'li[data-conversation="{cid}"]'
    try:
        wait(browser, 30).until(ec.presence_of_element_located((By.CSS_SELECTOR, card)))
    except TimeoutException as exc:  # say which side missed it: the board, or the page
        live = [c.conversation_id for c in stack.console.board.conversations()]
        raise AssertionError(f"no card for {cid} on {browser.current_url}; the board lists {live}; the page shows "
                             f"{text_of(browser, 'main')!r}") from exc

    customer_says(line, session, "Please turn on the kitchen light.")
    wait(browser, 30).until(lambda d: "kitchen" in text_of(d, card).lower() and "Customer" in text_of(d, card))
    browser.save_screenshot(str(screenshots / "console-live.png"))

    browser.find_element(By.CSS_SELECTOR, f"{card} a").click()
    wait(browser).until(ec.presence_of_element_located((By.ID, "take-over")))
    browser.find_element(By.ID, "take-over").click()
    wait(browser, 15).until(lambda d: "has taken over" in text_of(d, "#live-status"))
    wait(browser, 15).until(ec.presence_of_element_located((By.ID, "say")))

    # the devices of the conversation, with the bot's own rules: the agent switches the light off
    button = (By.CSS_SELECTOR, "button[aria-label='Turn off Kitchen Light']")
    wait(browser, 15).until(ec.element_to_be_clickable(button))
    browser.find_element(*button).click()
    wait(browser, 20).until(lambda d: any("alice" in li.text and "confirmed" in li.text
                                          for li in d.find_elements(By.CSS_SELECTOR, "#live-transcript li.agent")))
    light = next(d for d in stack.runtime.bridge.devices() if d.name == "Kitchen Light")
    assert str(stack.runtime.bridge.get(light.id).state["state"]).lower() == "off"

    # the customer goes on talking: it arrives as text, and the bot stays quiet
    def said() -> list[str]:
        return [e.text for e in stack.console.board.get(cid).entries if e.who == "customer"]

    before = len(said())
    customer_says(line, session, "Hello? Is somebody there?")
    assert until(lambda: len(said()) > before, timeout=30)
    words = said()[-1]
    wait(browser, 15).until(lambda d: words in text_of(d, "#live-transcript"))
    assert until(lambda: not session.busy(), timeout=30)
    assert stack.console.board.get(cid).entries[-1].who == "customer"  # no answer from the bot

    box = browser.find_element(By.ID, "message")
    box.clear()
    box.send_keys("Yes, this is Alice from support. A new bulb is on its way.")
    played = len(line.played)
    browser.find_element(By.ID, "say").click()
    # the customer's side receives it as speech in the bot's voice
    assert until(lambda: len(line.played) > played and not session.speaker.speaking(), timeout=30)
    import numpy as np

    heard = transcriber.transcribe(np.concatenate(session.agent_audio)).text.lower()
    assert "bulb" in heard or "support" in heard, heard
    wait(browser, 15).until(lambda d: "new bulb" in text_of(d, "#live-transcript"))
    browser.save_screenshot(str(screenshots / "console-take-over.png"))

    browser.find_element(By.ID, "hand-back").click()
    wait(browser, 15).until(lambda d: "bot is answering" in text_of(d, "#live-status"))
    bot_lines = sum(1 for e in stack.console.board.get(cid).entries if e.who == "bot")
    customer_says(line, session, "Turn off the kitchen light.")
    assert until(lambda: sum(1 for e in stack.console.board.get(cid).entries if e.who == "bot") > bot_lines, timeout=30)

    actions = [e.action for e in stack.console.db.audit(conversation_id=cid)]
    assert {"take", "device", "say", "hand_back"} <= set(actions)
    line.close()
    thread.join(timeout=20)
    assert until(lambda: stack.console.board.get(cid).ended_at is not None, timeout=10)


def test_an_agent_steps_into_a_web_chat(stack: ConsoleStack, browser: WebDriver, screenshots: Path) -> None:
    """The customer's web chat page and the console side by side in the same browser: the customer
    opens a (single-use) link, the agent takes the chat over and writes, the customer reads it and
    answers, the agent hands back, and a reload of the chat page (the link gone from the address)
    continues with the whole exchange in its history."""
    from console_helpers import served
    from selenium.webdriver.common.keys import Keys

    from voicebot import live
    from voicebot.store import Customer
    from voicebot.webchat.app import WebChat
    from voicebot.webchat.settings import WebChatSettings

    rt = stack.runtime
    link = live.current_link()
    restart = link is None or link.conn is not rt.bridge.conn  # another runtime may have taken the process's link
    stop_link = live.start_link(rt.bridge.conn, rt.store, "voicebot/live") if restart else None
    rt.store.save_customer(Customer("c-4", "Kai Lund", [], None, "Kitchen", "en"))
    chat = WebChat(rt.conversation, rt.store, WebChatSettings(), "browser-test-secret-0123456789")
    try:
        with served(chat.app()) as chat_url:
            console_tab = browser.current_window_handle
            browser.switch_to.new_window("tab")
            chat_tab = browser.current_window_handle
            browser.get(chat.link("c-4", chat_url))
            wait(browser).until(ec.element_to_be_clickable((By.ID, "start"))).click()  # a fresh link waits for a click
            wait(browser, 20).until(lambda d: "Kai" in text_of(d, "#log li.bot"))
            assert "#t=" not in browser.current_url  # the used link left the address bar
            cid = chat.chats["c-4"].conversation.id
            assert until(lambda: stack.console.board.get(cid) is not None, timeout=15)

            browser.switch_to.window(console_tab)
            sign_in(browser, stack, "bob", PASSWORDS["bob"])
            wait(browser).until(ec.url_contains("/queue"))
            browser.get(f"{stack.url}/live/{cid}")
            wait(browser).until(ec.element_to_be_clickable((By.ID, "take-over"))).click()
            wait(browser, 15).until(lambda d: "has taken over" in text_of(d, "#live-status"))
            box = wait(browser, 15).until(ec.element_to_be_clickable((By.ID, "message")))
            box.clear()
            box.send_keys("Hi Kai, Bob here from support. How can I help?")
            browser.find_element(By.ID, "say").click()
            wait(browser, 15).until(lambda d: "Bob here" in text_of(d, "#live-transcript"))

            browser.switch_to.window(chat_tab)
            wait(browser, 15).until(lambda d: "Bob here" in text_of(d, "#log li.agent"))
            assert "bob" in text_of(browser, "#log li.notice") and "joined" in text_of(browser, "#log li.notice")
            assert "support agent" in text_of(browser, "#status")
            bot_lines = len(browser.find_elements(By.CSS_SELECTOR, "#log li.bot"))
            message = browser.find_element(By.ID, "message")
            message.send_keys("My doorbell camera keeps going offline.", Keys.ENTER)
            browser.save_screenshot(str(screenshots / "webchat-agent.png"))

            browser.switch_to.window(console_tab)
            wait(browser, 15).until(lambda d: "doorbell camera" in text_of(d, "#live-transcript"))
            assert stack.console.board.get(cid).entries[-1].who == "customer"  # the bot kept quiet
            browser.find_element(By.ID, "hand-back").click()
            wait(browser, 15).until(lambda d: "bot is answering" in text_of(d, "#live-status"))

            browser.switch_to.window(chat_tab)
            wait(browser, 15).until(lambda d: "left the chat" in text_of(d, "#log"))
            assert len(browser.find_elements(By.CSS_SELECTOR, "#log li.bot")) == bot_lines  # no bot reply meanwhile
            browser.refresh()  # the kept session, not the link, continues the chat
            wait(browser, 20).until(lambda d: "Bob here" in text_of(d, "#log"))
            assert "Connected as Kai Lund" in text_of(browser, "#status")
            browser.close()
            browser.switch_to.window(console_tab)
    finally:
        asyncio.run(chat.close())
        if stop_link is not None:
            stop_link()
    turns = rt.store.turns(cid)
    assert any(t["handled_by"] == "agent:bob" and "Bob here" in (t["reply"] or "") for t in turns)
    assert any(t["handled_by"] == "agent:bob" and "doorbell" in (t["user_text"] or "") for t in turns)
    assert [e.action for e in reversed(stack.console.db.audit(conversation_id=cid))] == ["take", "say", "hand_back"]
