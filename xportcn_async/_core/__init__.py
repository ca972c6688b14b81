"""The sans-I/O core: the protocol as plain values and pure functions.

HTTP values (:mod:`.http`), signing, envelope decoding, retry decisions, and the codec that
turns an endpoint and a request into the :class:`~.http.Request` of each attempt and an
envelope back into the typed result. Nothing here does I/O or touches an event loop: no
aiohttp, no asyncio (``tests/test_architecture.py`` checks it). The client's retry loop and
the transports are the only I/O; they call in here for everything else.

This ``__init__`` imports nothing, so that each module here can be imported on its own.
"""
