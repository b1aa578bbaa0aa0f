"""The customer web chat: a small accessible page and a WebSocket, authenticated by signed links.

    settings.py   the ``webchat`` configuration section
    links.py      signing and checking links (itsdangerous), revocation, the generated secret
    app.py        ``WebChat``: the ASGI application (Starlette), mountable in another app
    server.py     serving it with uvicorn (``voicebot webchat``)
    page.html, chat.js, chat.css   the page
"""
