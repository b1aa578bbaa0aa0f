"""The console's web application (FastAPI, server-rendered Jinja2 pages, server-sent events).

Pages need a signed session cookie (sign-in with name and password); every form carries the
session's CSRF token; the JSON API under ``/api`` takes HTTP Basic credentials instead."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import text
from sse_starlette.sse import EventSourceResponse
from starlette.middleware.sessions import SessionMiddleware

from voicebot.console import auth
from voicebot.console.board import Changes, LiveBoard
from voicebot.console.db import Agent, ConsoleDB
from voicebot.console.queue import Filters, build_queue, item_for, ticket_json
from voicebot.console.settings import ConsoleSettings
from voicebot.console.suggest import next_steps, similar_resolved, steps_after, suggested_reply
from voicebot.dialogue.escalation import next_window
from voicebot.dialogue.playbook import Playbook
from voicebot.dialogue.settings import DialogueSettings
from voicebot.live import LiveControl, LiveSnapshot
from voicebot.store import TICKET_STATUSES, Store

HERE = Path(__file__).parent
STATUSES = TICKET_STATUSES
MAX_TEXT = 2000


@dataclass
class Console:
    """Everything the pages read and write."""

    store: Store
    db: ConsoleDB
    settings: ConsoleSettings
    dialogue: DialogueSettings
    playbooks: dict[str, Playbook]
    secret: str
    board: LiveBoard | None = None
    tickets: Changes = field(default_factory=Changes)
    limiter: auth.SignInLimiter = field(init=False)

    def __post_init__(self) -> None:
        # In the store, so that every console process on it shares the limit.
        self.limiter = auth.SignInLimiter(self.db.engine, self.settings.sign_in_attempts,
                                                self.settings.sign_in_window_s)

    def tickets_signature(self) -> tuple[Any, ...]:
        with self.db.engine.connect() as conn:
            row = conn.execute(text("SELECT COUNT(*), MAX(updated_at), MAX(id) FROM tickets")).first()
        return tuple(row) if row is not None else ()


class SignInRequired(Exception):
    pass


def create_app(console: Console) -> FastAPI:
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    templates.env.filters["clock"] = _clock
    templates.env.filters["ago"] = _ago
    templates.env.globals["sentiment_points"] = sentiment_points

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        console.tickets.bind(loop)
        if console.board is not None:
            console.board.changes.bind(loop)
        watcher = asyncio.create_task(_watch_tickets(console))
        try:
            yield
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    app = FastAPI(title="voicebot console", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        SessionMiddleware, secret_key=console.secret, session_cookie="voicebot_console",
        max_age=int(console.settings.session_hours * 3600), same_site="strict",
        https_only=console.settings.secure_cookies,
    )
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
            "form-action 'self'; base-uri 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(SignInRequired)
    async def _to_sign_in(request: Request, _: SignInRequired) -> Response:
        return RedirectResponse("/sign-in", status_code=303)

    # -- helpers ------------------------------------------------------------------------------
    def agent_of(request: Request) -> Agent:
        # The versions of what the page will show, read before it is read: the page's event stream
        # reports any change after them, also one between rendering and the browser connecting.
        request.state.versions = {"queue_version": console.tickets.version,
                                  "live_version": console.board.changes.version if console.board else 0}
        name = request.session.get("agent")
        found = console.db.agent(name) if name else None
        if found is None:  # removed since signing in, or never signed in
            request.session.pop("agent", None)
            raise SignInRequired()
        return found[0]

    def csrf_token(request: Request) -> str:
        token = request.session.get("csrf")
        if not token:
            token = request.session["csrf"] = auth.new_csrf_token()
        return str(token)

    def check_csrf(request: Request, given: str) -> None:
        if not auth.csrf_ok(request.session.get("csrf"), given):
            raise HTTPException(403, "the form is out of date or did not come from this console: reload the page")

    def render(request: Request, name: str, agent: Agent | None, **values: Any) -> HTMLResponse:
        versions = getattr(request.state, "versions", {"queue_version": -1, "live_version": -1})
        return templates.TemplateResponse(request, name, {"agent": agent, "csrf": csrf_token(request), **versions,
                                                          **values})

    def api_agent(request: Request) -> Agent:
        creds = auth.basic_credentials(request.headers.get("authorization"))
        client = request.client.host if request.client else "-"
        keys = (f"ip:{client}", f"name:{creds[0] if creds else ''}")
        wait = console.limiter.retry_after(*keys)
        if wait > 0:
            raise HTTPException(429, "too many failed sign-ins; try again later",
                                headers={"Retry-After": str(int(wait) + 1)})
        agent = auth.authenticate(console.db, *creds) if creds else None
        if agent is None:
            if creds:
                console.limiter.failed(*keys)
            raise HTTPException(401, "agent name and password needed (HTTP Basic)",
                                headers={"WWW-Authenticate": 'Basic realm="voicebot console", charset="UTF-8"'})
        return agent

    # -- sign-in -------------------------------------------------------------------------------
    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/sign-in", response_class=HTMLResponse)
    def sign_in_page(request: Request) -> HTMLResponse:
        return render(request, "sign_in.html", None, error=None)

    @app.post("/sign-in")
    def sign_in(request: Request, name: str = Form(""), password: str = Form(""), csrf: str = Form("")) -> Response:
        check_csrf(request, csrf)
        client = request.client.host if request.client else "-"
        keys = (f"ip:{client}", f"name:{name}")
        wait = console.limiter.retry_after(*keys)
        if wait > 0:
            response = render(request, "sign_in.html", None,
                              error=f"Too many failed sign-ins. Try again in {int(wait) + 1} seconds.")
            response.status_code = 429
            response.headers["Retry-After"] = str(int(wait) + 1)
            return response
        agent = auth.authenticate(console.db, name.strip(), password)
        if agent is None:
            console.limiter.failed(*keys)
            console.db.record(name.strip()[:64] or "-", "sign_in_failed", client=client)
            response = render(request, "sign_in.html", None, error="Wrong name or password.")
            response.status_code = 401
            return response
        console.limiter.succeeded(f"name:{name}")
        request.session.clear()  # a new session (and CSRF token) on every sign-in
        request.session.update(agent=agent.name, csrf=auth.new_csrf_token(), since=time.time())
        console.db.record(agent.name, "sign_in", client=client)
        return RedirectResponse("/queue", status_code=303)

    @app.post("/sign-out")
    def sign_out(request: Request, csrf: str = Form("")) -> Response:
        check_csrf(request, csrf)
        name = request.session.get("agent")
        if name:
            console.db.record(name, "sign_out")
        request.session.clear()
        return RedirectResponse("/sign-in", status_code=303)

    # -- the queue ------------------------------------------------------------------------------
    @app.get("/")
    def home() -> Response:
        return RedirectResponse("/queue", status_code=303)

    def filters_of(request: Request) -> Filters:
        q = request.query_params
        status = q.get("status", "")
        return Filters(status if status in STATUSES else "", q.get("channel", "")[:32],
                       q.get("device_type", "")[:32], q.get("language", "")[:8])

    def queue_values(request: Request) -> dict[str, Any]:
        filters = filters_of(request)
        items = build_queue(console.store, console.db, console.dialogue, filters)
        everything = build_queue(console.store, console.db, console.dialogue, Filters())
        return {
            "items": items, "filters": filters, "statuses": STATUSES,
            "channels": sorted({i.channel for i in everything} | {filters.channel} - {""}),
            "device_types": sorted({t for i in everything for t in i.device_types} | {filters.device_type} - {""}),
            "languages": sorted({i.language for i in everything} | {filters.language} - {""}),
            "query": "&".join(f"{k}={v}" for k, v in filters.as_query().items()),
        }

    @app.get("/queue", response_class=HTMLResponse)
    def queue_page(request: Request) -> HTMLResponse:
        agent = agent_of(request)
        return render(request, "queue.html", agent, **queue_values(request))

    @app.get("/queue/items", response_class=HTMLResponse)
    def queue_items(request: Request) -> HTMLResponse:
        agent = agent_of(request)
        return render(request, "_queue_items.html", agent, **queue_values(request))

    @app.get("/events/queue")
    async def queue_events(request: Request, since: int = -1) -> EventSourceResponse:
        await asyncio.to_thread(agent_of, request)
        return EventSourceResponse(_changes(request, console.tickets, "queue", since), ping=15)

    # -- one ticket ------------------------------------------------------------------------------
    def ticket_item(ticket_id: str) -> Any:
        t = console.store.ticket(ticket_id)
        if t is None:
            raise HTTPException(404, f"no ticket {ticket_id}")
        return item_for(t, console.store, console.db.callbacks(), console.db.resolutions(), console.dialogue,
                        with_turns=True)

    @app.get("/tickets/{ticket_id}", response_class=HTMLResponse)
    def ticket_page(request: Request, ticket_id: str) -> HTMLResponse:
        agent = agent_of(request)
        item = ticket_item(ticket_id)
        steps = next_steps(item.ticket, console.playbooks, item.language)
        similar = similar_resolved(item.ticket, console.store.all_tickets(), console.db.resolutions())
        live = console.board.get(item.ticket.conversation_id or "") if console.board else None
        return render(request, "ticket.html", agent, item=item, steps=steps, similar=similar,
                      reply=suggested_reply(item.ticket, item.customer, agent.name, steps, similar),
                      history=console.db.audit(ticket_id=item.ticket.id), statuses=STATUSES,
                      slots=callback_slots(console), live=live)

    @app.post("/tickets/{ticket_id}/note")
    def ticket_note(request: Request, ticket_id: str, csrf: str = Form(""), note: str = Form(""),
                    for_customer: str = Form("")) -> Response:
        agent = agent_of(request)
        check_csrf(request, csrf)
        item = ticket_item(ticket_id)
        note = note.strip()[:MAX_TEXT]
        if note:
            if for_customer:  # read out when the customer asks about the ticket
                console.store.update_ticket(item.ticket.id, item.ticket.status, note)
            console.db.record(agent.name, "note", item.ticket.id, item.ticket.conversation_id,
                              item.ticket.customer_id, note=note, for_customer=bool(for_customer))
        return RedirectResponse(f"/tickets/{item.ticket.id}", status_code=303)

    @app.post("/tickets/{ticket_id}/status")
    def ticket_status(request: Request, ticket_id: str, csrf: str = Form(""), status: str = Form("")) -> Response:
        agent = agent_of(request)
        check_csrf(request, csrf)
        item = ticket_item(ticket_id)
        if status not in STATUSES:
            raise HTTPException(400, f"unknown status {status!r}")
        console.store.update_ticket(item.ticket.id, status)
        console.db.record(agent.name, "status", item.ticket.id, item.ticket.conversation_id, item.ticket.customer_id,
                          before=item.ticket.status, after=status)
        return RedirectResponse(f"/tickets/{item.ticket.id}", status_code=303)

    @app.post("/tickets/{ticket_id}/callback")
    def ticket_callback(request: Request, ticket_id: str, csrf: str = Form(""), at: str = Form("")) -> Response:
        agent = agent_of(request)
        check_csrf(request, csrf)
        item = ticket_item(ticket_id)
        zone = ZoneInfo(console.dialogue.timezone)
        try:
            moment = dt.datetime.fromisoformat(at)
            moment = moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)
        except ValueError:
            raise HTTPException(400, "the callback time is not a date and time") from None
        if moment.timestamp() < time.time() or not any(w.contains(moment.astimezone(zone))
                                                        for w in console.dialogue.callback_windows):
            raise HTTPException(400, "the callback time is not inside a configured callback window")
        console.db.book_callback(item.ticket.id, moment.timestamp(), agent.name, item.ticket.customer_id)
        spoken = moment.astimezone(zone).strftime("%A %d %B at %H:%M")
        # What the bot reads out when the customer asks about the ticket: the real time.
        console.store.update_ticket(item.ticket.id, "waiting_for_customer",
                                    f"An agent will call you back on {spoken}.")
        console.db.record(agent.name, "callback", item.ticket.id, item.ticket.conversation_id, item.ticket.customer_id,
                          at=moment.isoformat())
        return RedirectResponse(f"/tickets/{item.ticket.id}", status_code=303)

    @app.post("/tickets/{ticket_id}/resolve")
    def ticket_resolve(request: Request, ticket_id: str, csrf: str = Form(""), resolution: str = Form("")) -> Response:
        agent = agent_of(request)
        check_csrf(request, csrf)
        item = ticket_item(ticket_id)
        resolution = resolution.strip()[:MAX_TEXT]
        if not resolution:
            raise HTTPException(400, "say how it was resolved")
        console.db.resolve(item.ticket.id, agent.name, resolution, item.ticket.customer_id)
        console.store.update_ticket(item.ticket.id, "closed", f"It was resolved: {resolution}")
        console.db.record(agent.name, "resolve", item.ticket.id, item.ticket.conversation_id, item.ticket.customer_id,
                          resolution=resolution)
        return RedirectResponse(f"/tickets/{item.ticket.id}", status_code=303)

    # -- live conversations -------------------------------------------------------------------------
    def board() -> LiveBoard:
        if console.board is None:
            raise HTTPException(503, "no MQTT broker: start the console with --broker to see live conversations")
        return console.board

    @app.get("/live", response_class=HTMLResponse)
    def live_page(request: Request) -> HTMLResponse:
        agent = agent_of(request)
        convs = console.board.conversations() if console.board else []
        return render(request, "live_list.html", agent, conversations=convs, connected=console.board is not None)

    @app.get("/live/items", response_class=HTMLResponse)
    def live_items(request: Request) -> HTMLResponse:
        agent = agent_of(request)
        convs = console.board.conversations() if console.board else []
        return render(request, "_live_items.html", agent, conversations=convs)

    @app.get("/events/live")
    async def live_events(request: Request, since: int = -1) -> EventSourceResponse:
        await asyncio.to_thread(agent_of, request)
        return EventSourceResponse(_changes(request, board().changes, "live", since), ping=15)

    def snapshot(conversation_id: str) -> LiveSnapshot:
        snap = board().get(conversation_id)
        if snap is None:
            raise HTTPException(404, f"no live conversation {conversation_id}")
        return snap

    def conversation_values(snap: LiveSnapshot, agent: Agent) -> dict[str, Any]:
        # This conversation's ticket, else the customer's latest open one (they call back about it).
        tickets = console.store.tickets_for_conversation(snap.conversation_id)
        if not tickets and snap.customer_id:
            tickets = [t for t in console.store.tickets_for_customer(snap.customer_id) if t.status != "closed"]
        customer = console.store.customer(snap.customer_id) if snap.customer_id else None
        ticket = tickets[0] if tickets else None
        if snap.playbook:
            steps = steps_after(console.playbooks, snap.playbook["id"], snap.playbook["step"], snap.language,
                                device=snap.playbook.get("device") or "the device")
        else:
            steps = next_steps(ticket, console.playbooks, snap.language) if ticket else []
        similar = similar_resolved(ticket, console.store.all_tickets(), console.db.resolutions()) if ticket else []
        return {"snap": snap, "ticket": ticket, "customer": customer, "steps": steps, "similar": similar,
                "reply": suggested_reply(ticket, customer, agent.name, steps, similar),
                "mine": snap.taken_over_by == agent.name}

    @app.get("/live/{conversation_id}", response_class=HTMLResponse)
    def live_conversation(request: Request, conversation_id: str) -> HTMLResponse:
        agent = agent_of(request)
        return render(request, "live.html", agent, **conversation_values(snapshot(conversation_id), agent))

    @app.get("/live/{conversation_id}/transcript", response_class=HTMLResponse)
    def live_transcript(request: Request, conversation_id: str) -> HTMLResponse:
        agent = agent_of(request)
        return render(request, "_live_conversation.html", agent, **conversation_values(snapshot(conversation_id), agent))

    @app.get("/live/{conversation_id}/controls", response_class=HTMLResponse)
    def live_controls(request: Request, conversation_id: str) -> HTMLResponse:
        agent = agent_of(request)
        return render(request, "_live_controls.html", agent, **conversation_values(snapshot(conversation_id), agent))

    def send_control(agent: Agent, conversation_id: str, action: str, said: str = "", **device: Any) -> None:
        snap = snapshot(conversation_id)
        if snap.ended_at is not None:
            raise HTTPException(409, "the conversation has ended")
        if not snap.can_step_in:
            raise HTTPException(409, f"a {snap.channel} conversation can be watched, not stepped into")
        if snap.taken_over_by not in (None, agent.name) and not agent.supervisor and action != "take":
            raise HTTPException(403, f"{snap.taken_over_by} has this conversation")
        if action == "take" and snap.taken_over_by not in (None, agent.name) and not agent.supervisor:
            raise HTTPException(403, f"{snap.taken_over_by} has this conversation; a supervisor may take it")
        board().send(conversation_id, LiveControl(action, agent.name, said, **device))
        tickets = console.store.tickets_for_conversation(conversation_id)
        console.db.record(agent.name, action, tickets[0].id if tickets else None, conversation_id, snap.customer_id,
                          **({"text": said} if said else {}), **device)

    def control(request: Request, conversation_id: str, csrf: str, action: str, said: str = "",
                **device: Any) -> Response:
        agent = agent_of(request)
        check_csrf(request, csrf)
        send_control(agent, conversation_id, action, said, **device)
        return RedirectResponse(f"/live/{conversation_id}", status_code=303)

    @app.post("/live/{conversation_id}/take")
    def live_take(request: Request, conversation_id: str, csrf: str = Form("")) -> Response:
        return control(request, conversation_id, csrf, "take")

    @app.post("/live/{conversation_id}/say")
    def live_say(request: Request, conversation_id: str, csrf: str = Form(""), message: str = Form("")) -> Response:
        message = message.strip()[:1000]
        if not message:
            raise HTTPException(400, "nothing to say")
        return control(request, conversation_id, csrf, "say", message)

    @app.post("/live/{conversation_id}/device")
    def live_device(request: Request, conversation_id: str, csrf: str = Form(""), device_id: str = Form(""),
                    intent: str = Form(""), confirmed: str = Form("")) -> Response:
        snap = snapshot(conversation_id)
        device = next((d for d in snap.devices if d["id"] == device_id), None)
        control_ = next((c for c in (device or {}).get("controls", []) if c["intent"] == intent), None)
        if control_ is None:
            raise HTTPException(400, "that device control is not offered in this conversation")
        return control(request, conversation_id, csrf, "device", device_id=device_id, intent=intent,
                       confirmed=bool(confirmed))

    @app.post("/live/{conversation_id}/hand-back")
    def live_hand_back(request: Request, conversation_id: str, csrf: str = Form("")) -> Response:
        return control(request, conversation_id, csrf, "hand_back")

    @app.post("/live/{conversation_id}/end")
    def live_end(request: Request, conversation_id: str, csrf: str = Form("")) -> Response:
        return control(request, conversation_id, csrf, "end")

    # -- supervisors -------------------------------------------------------------------------------
    @app.get("/audit", response_class=HTMLResponse)
    def audit_page(request: Request) -> HTMLResponse:
        agent = agent_of(request)
        if not agent.supervisor:
            raise HTTPException(403, "the record of agent actions is for supervisors")
        return render(request, "audit.html", agent, entries=console.db.audit(limit=300))

    # -- the JSON API (HTTP Basic) --------------------------------------------------------------------
    @app.get("/api/tickets")
    def api_tickets(request: Request) -> JSONResponse:
        agent_ = api_agent(request)
        items = build_queue(console.store, console.db, console.dialogue, filters_of(request))
        console.db.record(agent_.name, "api_tickets")
        return JSONResponse([ticket_json(i) for i in items])

    @app.get("/api/tickets/{ticket_id}")
    def api_ticket(request: Request, ticket_id: str) -> JSONResponse:
        agent_ = api_agent(request)
        item = ticket_item(ticket_id)
        console.db.record(agent_.name, "api_ticket", item.ticket.id, customer_id=item.ticket.customer_id)
        return JSONResponse({**ticket_json(item), "transcript": item.turns})

    @app.get("/api/live")
    def api_live(request: Request) -> JSONResponse:
        api_agent(request)
        from dataclasses import asdict

        return JSONResponse([asdict(s) for s in (console.board.conversations() if console.board else [])])

    @app.post("/api/live/{conversation_id}/{action}")
    async def api_live_control(request: Request, conversation_id: str, action: str) -> JSONResponse:
        """Step in from a script: take, say {"text"}, hand-back, end. The body must be JSON, which a
        form on another site cannot send (browsers may replay Basic credentials on a cross-site form)."""
        agent_ = await asyncio.to_thread(api_agent, request)
        if action not in ("take", "say", "hand-back", "end"):
            raise HTTPException(404, f"no live action {action!r}; use take, say, hand-back or end")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise HTTPException(415, "send the request as application/json")
        try:
            body = await request.json()
        except ValueError:
            raise HTTPException(400, "the body is not JSON") from None
        said = ""
        if action == "say":
            said = str(body.get("text") or "").strip()[:1000] if isinstance(body, dict) else ""
            if not said:
                raise HTTPException(400, 'nothing to say: give {"text": "..."}')
        await asyncio.to_thread(send_control, agent_, conversation_id, action.replace("-", "_"), said)
        return JSONResponse({"conversation_id": conversation_id, "action": action.replace("-", "_"),
                             "agent": agent_.name}, status_code=202)

    return app


async def _changes(request: Request, changes: Changes, name: str, since: int) -> AsyncIterator[dict[str, str]]:
    seen = since if 0 <= since <= changes.version else changes.version
    while not await request.is_disconnected():
        now = await changes.wait(seen, 10.0)
        if now != seen:
            seen = now
            yield {"event": name, "data": str(now)}


async def _watch_tickets(console: Console) -> None:
    """Tickets are written by other processes: notice a new or changed one within half a second."""
    last: tuple[Any, ...] | None = None
    while True:
        try:
            sig = await asyncio.to_thread(console.tickets_signature)
        except Exception:  # the database away for a moment: try again
            sig = last
        if sig != last:
            if last is not None:
                console.tickets.bump()
            last = sig
        await asyncio.sleep(0.5)


def callback_slots(console: Console, days: int = 7) -> list[dt.datetime]:
    """Callback times the agent may book: every slot inside the configured windows, the next week."""
    settings = console.dialogue
    if not settings.callback_windows:
        return []
    zone = ZoneInfo(settings.timezone)
    now = dt.datetime.now(zone)
    step = dt.timedelta(minutes=console.settings.callback_slot_minutes)
    out: list[dt.datetime] = []
    moment = now
    while moment < now + dt.timedelta(days=days) and len(out) < 200:
        window = next_window(settings.callback_windows, moment)
        if window is None:
            break
        start, end = window
        slot = max(start, now)
        minutes = (slot.minute // console.settings.callback_slot_minutes + (1 if slot > start else 0)) * \
            console.settings.callback_slot_minutes
        slot = slot.replace(minute=0, second=0, microsecond=0) + dt.timedelta(minutes=minutes)
        while slot < end and len(out) < 200:
            if slot >= now:
                out.append(slot)
            slot += step
        moment = end + dt.timedelta(seconds=1)
    return out


def sentiment_points(values: list[float], width: int = 240, height: int = 60) -> str:
    """SVG polyline points for sentiment (-1..1) over the turns."""
    if not values:
        return ""
    n = len(values)
    xs = [width / 2] if n == 1 else [i * width / (n - 1) for i in range(n)]
    return " ".join(f"{x:.1f},{(1 - (max(-1.0, min(1.0, v)) + 1) / 2) * height:.1f}" for x, v in zip(xs, values, strict=True))


def _clock(t: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else "-"


def _ago(t: float | None) -> str:
    if not t:
        return "-"
    s = max(0, int(time.time() - t))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min"
    return f"{s // 3600} h {s % 3600 // 60} min"
