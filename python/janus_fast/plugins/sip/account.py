"""SIP account requests: register, unregister, subscribe, unsubscribe, message, reset.

Rule: each request returns the event Janus answers it with (its ``result``, with ``call_id``);
what happens later on the SIP side arrives as events (``REGISTERED``,
``SUBSCRIBE_SUCCEEDED``, ``MESSAGEDELIVERY`` …). ``wait_registered`` turns the registration's
outcome into a return value or a ``SipError`` with the SIP status code.
"""

from __future__ import annotations

import asyncio
from typing import Any

from janus_fast.plugins._base import JsonDict, compact
from janus_fast.plugins.sip.base import SipError, SipHandle, event_payload
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout


def _retrieve(future: asyncio.Future[JsonDict]) -> None:
    if not future.cancelled():
        future.exception()


class SipAccount(SipHandle):
    """The account part of a SIP handle."""

    async def _sip_request(
        self, body: JsonDict, timeout: Timeout, jsep: JsonDict | None = None, **extra: Any
    ) -> JsonDict:
        body = compact(body)
        body.update(extra)
        return event_payload(await self._send_request(body, jsep, timeout=timeout))

    async def register(
        self,
        username: str,
        *,
        secret: str | None = None,
        ha1_secret: str | None = None,
        authuser: str | None = None,
        display_name: str | None = None,
        user_agent: str | None = None,
        proxy: str | None = None,
        outbound_proxy: str | None = None,
        headers: dict[str, str] | None = None,
        contact_params: dict[str, str] | None = None,
        incoming_header_prefixes: list[str] | None = None,
        register_ttl: int | None = None,
        account_type: str | None = None,
        send_register: bool | None = None,
        master_id: int | None = None,
        refresh: bool | None = None,
        force_udp: bool | None = None,
        force_tcp: bool | None = None,
        sips: bool | None = None,
        rfc2543_cancel: bool | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``register``: register a SIP account at a proxy.

        ``wait_registered()`` then waits for the registrar's verdict. Options left at None
        are not sent.

        Args:
            username: Our SIP URI (``sip:user@domain``).
            secret: The SIP password.
            ha1_secret: The SIP password as an HA1 hash (instead of ``secret``).
            authuser: The user name to authenticate with, when not the URI's.
            display_name: Our display name.
            user_agent: The User-Agent header to send.
            proxy: The registrar/proxy (``sip:host:port``).
            outbound_proxy: An outbound proxy.
            headers: Extra SIP headers for the REGISTER.
            contact_params: Extra parameters for the Contact header.
            incoming_header_prefixes: Header prefixes to report in incoming-call events.
            register_ttl: The registration's expiry, in seconds.
            account_type: Janus's ``type``: ``guest`` (no REGISTER) or ``helper`` (an extra
                line of the ``master_id`` account).
            send_register: False: no REGISTER is sent.
            master_id: The account a ``helper`` belongs to.
            refresh: Refresh an existing registration.
            force_udp: Use UDP for this account.
            force_tcp: Use TCP for this account.
            sips: Use SIPS URIs.
            rfc2543_cancel: CANCEL INVITEs the RFC 2543 way.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            Janus's first answer: ``registering``, or ``registered`` at once for a guest.

        Raises:
            SipError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        registration: asyncio.Future[JsonDict] = asyncio.get_running_loop().create_future()
        # Its outcome is read by wait_registered(), if ever: never an unretrieved exception.
        registration.add_done_callback(_retrieve)
        previous, self._registration = self._registration, registration
        if previous is not None and not previous.done():
            previous.cancel()
        body = {
            "request": "register",
            "username": username,
            "secret": secret,
            "ha1_secret": ha1_secret,
            "authuser": authuser,
            "display_name": display_name,
            "user_agent": user_agent,
            "proxy": proxy,
            "outbound_proxy": outbound_proxy,
            "headers": headers,
            "contact_params": contact_params,
            "incoming_header_prefixes": incoming_header_prefixes,
            "register_ttl": register_ttl,
            "type": account_type,
            "send_register": send_register,
            "master_id": master_id,
            "refresh": refresh,
            "force_udp": force_udp,
            "force_tcp": force_tcp,
            "sips": sips,
            "rfc2543_cancel": rfc2543_cancel,
        }
        try:
            result = await self._sip_request(body, timeout)
        except BaseException:
            self._registration = None
            raise
        self._username = username
        return result

    async def wait_registered(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:
        """Wait for the ``registered`` event of the last ``register``.

        Returns at once if it came already.

        Args:
            timeout: Seconds to wait; the session's ``timeout`` option by default.

        Returns:
            The ``registered`` event's result.

        Raises:
            SipError: ``register()`` was not called, or ``registration_failed`` (the SIP
                code, e.g. 403).
            RequestTimeoutError: No verdict within ``timeout``.
        """
        registration = self._registration
        if registration is None:
            raise SipError(0, "wait_registered() needs register() first")
        async with self._within(timeout, "SIP registration"):
            return await asyncio.shield(registration)

    async def unregister(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:
        """Send ``unregister``: Janus answers ``unregistering``; ``UNREGISTERED`` follows.

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's result.

        Raises:
            SipError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        result = await self._sip_request({"request": "unregister"}, timeout)
        self._registration = None
        return result

    async def subscribe(
        self,
        event: str,
        *,
        to: str | None = None,
        accept: str | None = None,
        subscribe_ttl: int | None = None,
        call_id: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``subscribe``: subscribe to a SIP event package (``message-summary`` …).

        ``SUBSCRIBE_SUCCEEDED`` or ``SUBSCRIBE_FAILED`` follows, then ``NOTIFY`` events.
        Options left at None are not sent.

        Args:
            event: The event package.
            to: The URI to subscribe at; our own URI when None.
            accept: The Accept header.
            subscribe_ttl: The subscription's expiry, in seconds.
            call_id: The Call-ID to use.
            headers: Extra SIP headers.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's result.

        Raises:
            SipError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "subscribe",
            "event": event,
            "to": to,
            "accept": accept,
            "subscribe_ttl": subscribe_ttl,
            "call_id": call_id,
            "headers": headers,
        }
        return await self._sip_request(body, timeout)

    async def unsubscribe(
        self, event: str, *, to: str | None = None, timeout: Timeout = OPTION_TIMEOUT
    ) -> JsonDict:
        """Send ``unsubscribe`` from an event package subscribed to before.

        Args:
            event: The event package.
            to: The URI subscribed at; our own URI when None.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's result.

        Raises:
            SipError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        return await self._sip_request(
            {"request": "unsubscribe", "event": event, "to": to}, timeout
        )

    async def message(
        self,
        content: str,
        *,
        uri: str | None = None,
        content_type: str | None = None,
        call_id: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``message``: a SIP MESSAGE, out of dialog to ``uri`` or in the current call.

        ``MESSAGEDELIVERY`` reports the SIP outcome. Options left at None are not sent.

        Args:
            content: The message body.
            uri: The recipient, for a message out of dialog.
            content_type: Its content type (``text/plain`` by Janus's default).
            call_id: The Call-ID to use.
            headers: Extra SIP headers.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's result.

        Raises:
            SipError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "message",
            "content": content,
            "uri": uri,
            "content_type": content_type,
            "call_id": call_id,
            "headers": headers,
        }
        return await self._sip_request(body, timeout)

    async def reset(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:
        """Send ``reset``: clear a call state stuck after a call (Janus's own workaround).

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The event's result.

        Raises:
            SipError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        return await self._sip_request({"request": "reset"}, timeout)
