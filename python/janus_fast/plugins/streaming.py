"""The Streaming client ``JanusStreamingPlugin``: all 15 requests of Janus 1.1.2.

The plugin is ``janus.plugin.streaming``.

Rule: mountpoint administration (``list``, ``info``, ``create``, ``edit``, ``destroy``,
``recording``, ``enable``, ``disable``, ``kick_all``) is plain signalling on any attached handle
and changes none of its state. Watching: Janus makes the offer. ``watch`` (signalling only)
returns it under ``"jsep"`` and ``start(jsep=answer)`` sends the caller's answer;
``watch_media`` answers it here with aiortc (imported on call, ``[media]``), remote tracks going
to the given recorder. Every viewer event (``status`` values, ``switched``, ``configured``,
simulcast/SVC layer changes, ``edited``) becomes a ``StreamingEventType`` event; mountpoint ids
are ``RoomId`` (``int``, or ``str`` with ``string_ids``).
"""

from __future__ import annotations

import enum
from typing import Any

from janus_fast.media import import_aiortc
from janus_fast.plugin import JanusPlugin
from janus_fast.plugins._base import (
    JsonDict,
    PluginClient,
    RoomId,
    compact,
    dict_list,
    id_or_none,
    reply_data,
)
from janus_fast.plugins._errors import TypedPluginError
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout

#: A mountpoint id: ``int``, or ``str`` when the plugin runs with ``string_ids = true``.
MountpointId = RoomId


class StreamingError(TypedPluginError):
    """A Streaming error: ``error_code`` and ``error_message`` (also a ``PluginError``)."""

    plugin_name = "janus.plugin.streaming"
    label = "Streaming"


class StreamingEventType(enum.Enum):
    """Streaming events for ``on_event``.

    Handlers get the event's ``result`` dict, with the offer under ``"jsep"`` when one came
    with it.
    """

    #: ``watch`` answered: Janus's offer is attached.
    PREPARING = "preparing"
    #: A renegotiation (``watch`` with ``restart``): a new offer is attached.
    UPDATING = "updating"
    STARTING = "starting"
    #: The PeerConnection is up and media flows.
    STARTED = "started"
    PAUSING = "pausing"
    SWITCHED = "switched"
    STOPPING = "stopping"
    #: The subscription ended (``stop``, or the mountpoint was destroyed).
    STOPPED = "stopped"
    #: Every viewer was removed by a ``kick_all``.
    KICKED_ALL = "kicked_all"
    CONFIGURED = "configured"
    #: The mountpoint's metadata changed (an ``edit`` with ``edited_event``).
    EDITED = "edited"
    #: The simulcast substream or temporal layer being relayed changed.
    SIMULCAST = "simulcast"
    #: The VP9-SVC spatial or temporal layer being relayed changed.
    SVC = "svc"
    #: An async plugin error (handlers get ``{"streaming", "error_code", "error"}``).
    ERROR = "error"
    #: Any other event shape (handlers get the ``result``, or the whole data).
    OTHER = "other"


#: ``result.status`` values with an event type of their own.
_STATUSES: dict[str, StreamingEventType] = {
    member.value: member
    for member in (
        StreamingEventType.PREPARING,
        StreamingEventType.UPDATING,
        StreamingEventType.STARTING,
        StreamingEventType.STARTED,
        StreamingEventType.PAUSING,
        StreamingEventType.STOPPING,
        StreamingEventType.STOPPED,
        StreamingEventType.KICKED_ALL,
    )
}


def classify_event(data: JsonDict) -> tuple[StreamingEventType, JsonDict]:
    """Classify one (non-error) Streaming ``plugindata.data``.

    Args:
        data: The ``plugindata.data``.

    Returns:
        Its event type (``OTHER`` when unknown) and the payload for its handlers.
    """
    if data.get("event") == "edited":  # pushed to viewers as it is, without a "streaming" key
        return StreamingEventType.EDITED, data
    result = data.get("result")
    if data.get("streaming") != "event" or not isinstance(result, dict):
        return StreamingEventType.OTHER, data
    status = result.get("status")
    if isinstance(status, str) and status in _STATUSES:
        return _STATUSES[status], result
    if "switched" in result:
        return StreamingEventType.SWITCHED, result
    if result.get("event") == "configured":
        return StreamingEventType.CONFIGURED, result
    if "substream" in result or "temporal" in result:
        return StreamingEventType.SIMULCAST, result
    if "spatial_layer" in result or "temporal_layer" in result:
        return StreamingEventType.SVC, result
    return StreamingEventType.OTHER, result


class JanusStreamingPlugin(PluginClient):
    """Janus Streaming client: mountpoint administration and one viewer per handle.

    Args:
        **kwargs: Passed to ``JanusPlugin``: ``pc_config``, an aiortc ``RTCConfiguration`` for
            the PeerConnections this handle makes.
    """

    name = "janus.plugin.streaming"
    error_class = StreamingError
    data_key = "streaming"
    event_types = StreamingEventType

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._mountpoint_id: MountpointId | None = None
        #: Janus reported ``started`` (the PeerConnection is up) since the last ``watch``.
        self._started = False

    @property
    def mountpoint_id(self) -> MountpointId | None:
        """The mountpoint this handle watches: set by ``watch``, ``switch``; None after ``stop``."""
        return self._mountpoint_id

    @property
    def webrtcup_event(self) -> Any:
        """An ``asyncio.Event`` set when Janus reports ``webrtcup``."""
        return self._webrtcup_event

    @property
    def started(self) -> bool:
        """Whether Janus reported ``started`` (media flowing) since the last ``watch``."""
        return self._started

    def _reset_state(self) -> None:
        self._mountpoint_id = None
        self._started = False

    async def _on_hangup(self, response: JsonDict) -> None:
        self._started = False
        await super()._on_hangup(response)

    def _classify_event(
        self, response: JsonDict, data: JsonDict
    ) -> tuple[enum.Enum | None, JsonDict]:
        event_type, payload = classify_event(data)
        jsep = response.get("jsep")
        if isinstance(jsep, dict) and payload is not data:
            payload = {**payload, "jsep": jsep}
        if event_type is StreamingEventType.STARTED:
            self._started = True
        elif event_type is StreamingEventType.SWITCHED:
            switched_to = id_or_none(payload.get("id"))
            if switched_to is not None:
                self._mountpoint_id = switched_to
        elif event_type in (
            StreamingEventType.STOPPING,
            StreamingEventType.STOPPED,
            StreamingEventType.KICKED_ALL,
        ):
            self._mountpoint_id = None
            self._started = False
        return event_type, payload

    async def _request(
        self, body: JsonDict, timeout: Timeout, jsep: JsonDict | None = None
    ) -> JsonDict:
        return reply_data(await self._send_request(compact(body), jsep, timeout=timeout))

    # -- mountpoint administration (synchronous requests) ------------------------------------------
    async def list_mountpoints(
        self, admin_key: str | None = None, timeout: Timeout = OPTION_TIMEOUT
    ) -> list[JsonDict]:
        """Send ``list``: the public mountpoints (private ones too with the ``admin_key``).

        Args:
            admin_key: The plugin's ``admin_key``, to list the private mountpoints too.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            One dict per mountpoint; empty when the reply has no list.

        Raises:
            StreamingError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        data = await self._request({"request": "list", "admin_key": admin_key}, timeout)
        mountpoints = data.get("list")
        return dict_list(mountpoints)

    async def info(
        self,
        mountpoint_id: MountpointId,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``info``: one mountpoint's details.

        Args:
            mountpoint_id: The mountpoint.
            secret: Its secret; with it, the reply also has the ports, secret and PIN.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The ``info`` dict; empty when the reply has none.

        Raises:
            StreamingError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "info", "id": mountpoint_id, "secret": secret}
        info = (await self._request(body, timeout)).get("info")
        return info if isinstance(info, dict) else {}

    async def create_mountpoint(
        self,
        mountpoint_type: str = "rtp",
        mountpoint_id: MountpointId | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        metadata: str | None = None,
        secret: str | None = None,
        pin: str | None = None,
        is_private: bool | None = None,
        media: list[JsonDict] | None = None,
        permanent: bool | None = None,
        admin_key: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """Send ``create``: make a mountpoint.

        Options left at None are not sent.

        Args:
            mountpoint_type: ``rtp``, ``live``, ``ondemand`` or ``rtsp``.
            mountpoint_id: The id to give the mountpoint; Janus picks one when None.
            name: The mountpoint's name.
            description: Its description (shown in ``list``).
            metadata: Opaque metadata stored with it.
            secret: The secret needed to edit or destroy it.
            pin: The PIN viewers need to watch it.
            is_private: Leave it out of ``list``.
            media: The streams (``[{"type", "mid", "port", "pt", "codec", …}]``); port 0 lets
                the OS choose.
            permanent: Also save it in the plugin's configuration file.
            admin_key: The plugin's ``admin_key``, when creating needs one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: Type-specific fields (``threads``, ``url``, ``filename`` …), sent as
                they are.

        Returns:
            The reply data: its ``stream`` has the ``id`` and, for RTP, the ``ports`` bound.

        Raises:
            StreamingError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "create",
            "type": mountpoint_type,
            "id": mountpoint_id,
            "name": name,
            "description": description,
            "metadata": metadata,
            "secret": secret,
            "pin": pin,
            "is_private": is_private,
            "media": media,
            "permanent": permanent,
            "admin_key": admin_key,
            **kwargs,
        }
        return await self._request(body, timeout)

    async def edit_mountpoint(
        self,
        mountpoint_id: MountpointId,
        secret: str | None = None,
        *,
        new_description: str | None = None,
        new_metadata: str | None = None,
        new_secret: str | None = None,
        new_pin: str | None = None,
        new_is_private: bool | None = None,
        permanent: bool | None = None,
        edited_event: bool | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``edit``: change a mountpoint's description, metadata, secret, PIN or privacy.

        Options left at None are not sent.

        Args:
            mountpoint_id: The mountpoint to edit.
            secret: Its current secret, if it has one.
            new_description: The new description.
            new_metadata: The new metadata.
            new_secret: The new secret.
            new_pin: The new PIN.
            new_is_private: The new privacy flag.
            permanent: Also save the change in the plugin's configuration file.
            edited_event: Send the viewers an ``EDITED`` event.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            StreamingError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "edit",
            "id": mountpoint_id,
            "secret": secret,
            "new_description": new_description,
            "new_metadata": new_metadata,
            "new_secret": new_secret,
            "new_pin": new_pin,
            "new_is_private": new_is_private,
            "permanent": permanent,
            "edited_event": edited_event,
        }
        return await self._request(body, timeout)

    async def destroy_mountpoint(
        self,
        mountpoint_id: MountpointId,
        secret: str | None = None,
        permanent: bool | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``destroy``: its viewers get ``STOPPED`` and lose their PeerConnection.

        Args:
            mountpoint_id: The mountpoint.
            secret: The mountpoint's secret, if it has one.
            permanent: Also remove it from the plugin's configuration file.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            StreamingError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "destroy",
            "id": mountpoint_id,
            "secret": secret,
            "permanent": permanent,
        }
        return await self._request(body, timeout)

    async def recording(
        self,
        mountpoint_id: MountpointId,
        action: str,
        media: list[JsonDict] | None = None,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """Send ``recording``: start or stop recording a mountpoint's streams.

        Args:
            mountpoint_id: The mountpoint.
            action: ``"start"`` with ``media=[{"mid", "filename"}]`` (Janus adds ``.mjr``), or
                ``"stop"`` with ``media=[{"mid"}]``.
            media: The streams concerned.
            secret: The mountpoint's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: The deprecated ``audio``/``video``/``data`` fields, sent as they are.

        Returns:
            The reply data.

        Raises:
            StreamingError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "recording",
            "id": mountpoint_id,
            "action": action,
            "media": media,
            "secret": secret,
            **kwargs,
        }
        return await self._request(body, timeout)

    async def enable(
        self,
        mountpoint_id: MountpointId,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``enable``: relay a disabled mountpoint's media again.

        Args:
            mountpoint_id: The mountpoint.
            secret: The mountpoint's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            StreamingError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "enable", "id": mountpoint_id, "secret": secret}
        return await self._request(body, timeout)

    async def disable(
        self,
        mountpoint_id: MountpointId,
        stop_recording: bool = False,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``disable``: Janus relays no media of the mountpoint until ``enable``.

        The mountpoint stays and viewers may still watch it.

        Args:
            mountpoint_id: The mountpoint.
            stop_recording: Also close its recordings. Sent explicitly, and False here
                (Janus's own default is true) because Janus 1.1.2 crashes on it when a stream
                of an RTP mountpoint is not being recorded.
            secret: The mountpoint's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            StreamingError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "disable",
            "id": mountpoint_id,
            "stop_recording": stop_recording,
            "secret": secret,
        }
        return await self._request(body, timeout)

    async def kick_all(
        self,
        mountpoint_id: MountpointId,
        secret: str | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Send ``kick_all``: remove every viewer (they may watch again); not for on-demand ones.

        Args:
            mountpoint_id: The mountpoint.
            secret: The mountpoint's secret, if it has one.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            StreamingError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {"request": "kick_all", "id": mountpoint_id, "secret": secret}
        return await self._request(body, timeout)

    # -- watching (asynchronous requests) ---------------------------------------------------------
    async def watch(
        self,
        mountpoint_id: MountpointId,
        pin: str | None = None,
        media: list[str] | None = None,
        *,
        restart: bool | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """Send ``watch`` (signalling only); answer Janus's offer with ``start(jsep=answer)``.

        Args:
            mountpoint_id: The mountpoint to watch.
            pin: Its PIN, if it has one.
            media: The mids wanted; all when None.
            restart: On a watched mountpoint, ask for a new offer (ICE restart).
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: The deprecated ``offer_audio``/``offer_video``/``offer_data``, sent as
                they are.

        Returns:
            The reply data, with Janus's offer under ``"jsep"``.

        Raises:
            StreamingError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "watch",
            "id": mountpoint_id,
            "pin": pin,
            "media": media,
            "restart": restart,
            **kwargs,
        }
        if not restart:
            self._started = False
        data = await self._request(body, timeout)
        self._mountpoint_id = mountpoint_id
        return data

    async def watch_media(
        self,
        mountpoint_id: MountpointId,
        recorder: Any = None,
        pin: str | None = None,
        media: list[str] | None = None,
        trickle: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
    ) -> JsonDict:
        """Watch a mountpoint into a local recorder: ``watch``, then answer with ``start``.

        Needs the ``[media]`` extra; ``webrtcup_event`` is set once the PeerConnection is up.

        Args:
            mountpoint_id: The mountpoint to watch.
            recorder: Where the remote tracks go: an aiortc ``MediaRecorder`` or anything with
                ``addTrack``, ``start`` and ``stop``.
            pin: The mountpoint's PIN, if it has one.
            media: The mids wanted; all when None.
            trickle: Send our ICE candidates in a ``trickle`` after the answer.
            timeout: Seconds to wait for each reply; the session's ``timeout`` option by
                default.

        Returns:
            The ``watch`` reply data.

        Raises:
            StreamingError: Janus refused a request, or its ``watch`` reply had no offer.
            RequestTimeoutError: No reply within ``timeout``.
        """
        import_aiortc("Streaming.watch_media")
        await self._fresh_pc()  # before the watch: Janus may trickle right after its offer
        self._webrtcup_event.clear()
        data = await self.watch(mountpoint_id, pin, media, timeout=timeout)
        self._setup_media_tracks(None, recorder)
        offer = data.get("jsep")
        if not isinstance(offer, dict):
            await self._close_pc()
            raise StreamingError(0, "no JSEP offer in the watch reply")
        await self._answer(offer, trickle, timeout)
        return data

    async def _answer(self, offer: JsonDict, trickle: bool, timeout: Timeout) -> None:
        await self.on_receive_jsep(offer)
        pc = self.pc
        await pc.setLocalDescription(await pc.createAnswer())
        await self.start(trickle=trickle, timeout=timeout)

    async def start(
        self,
        trickle: bool = False,
        timeout: Timeout = OPTION_TIMEOUT,
        *,
        jsep: JsonDict | None = None,
    ) -> JsonDict:
        """Send ``start`` with our answer: the media starts flowing.

        The answer comes from our PeerConnection (needs ``[media]``), or is ``jsep=`` as given.

        Args:
            trickle: Send our ICE candidates in a ``trickle`` after the answer.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            jsep: A ready-made answer to send instead of our PeerConnection's.

        Returns:
            The reply data.

        Raises:
            StreamingError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        answer = jsep
        if answer is None:
            import_aiortc("Streaming.start")
            answer = self._jsep(self.pc, trickle)
        data = await self._request({"request": "start"}, timeout, answer)
        if jsep is None and trickle:
            await self._send_local_candidates()
        return data

    async def resume(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:
        """Send ``start`` without a jsep: resume a paused subscription.

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            StreamingError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        return await self._request({"request": "start"}, timeout)

    async def pause(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:
        """Send ``pause``: stop relaying every stream to this viewer (``resume`` restarts it).

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            StreamingError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        return await self._request({"request": "pause"}, timeout)

    async def switch(
        self, mountpoint_id: MountpointId, timeout: Timeout = OPTION_TIMEOUT
    ) -> JsonDict:
        """Send ``switch``: move to another mountpoint on the same PeerConnection.

        The other mountpoint must be RTP and have the same media configuration (no
        renegotiation).

        Args:
            mountpoint_id: The mountpoint to switch to.
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            The reply data.

        Raises:
            StreamingError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        data = await self._request({"request": "switch", "id": mountpoint_id}, timeout)
        self._mountpoint_id = mountpoint_id
        return data

    async def configure(
        self,
        mid: str | None = None,
        send: bool | None = None,
        *,
        substream: int | None = None,
        temporal: int | None = None,
        fallback: int | None = None,
        spatial_layer: int | None = None,
        temporal_layer: int | None = None,
        min_delay: int | None = None,
        max_delay: int | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """Send ``configure``: relay a stream or not, pick simulcast/SVC layers, set delays.

        Options left at None are not sent.

        Args:
            mid: The stream concerned.
            send: Relay it (True) or not (False).
            substream: Simulcast substream wanted.
            temporal: Simulcast temporal layer wanted.
            fallback: Simulcast fallback delay, in microseconds.
            spatial_layer: SVC spatial layer wanted.
            temporal_layer: SVC temporal layer wanted.
            min_delay: Minimum playout delay (the ``playout-delay`` extension).
            max_delay: Maximum playout delay (the ``playout-delay`` extension).
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.
            **kwargs: Deprecated fields, sent as they are.

        Returns:
            The reply data.

        Raises:
            StreamingError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = {
            "request": "configure",
            "mid": mid,
            "send": send,
            "substream": substream,
            "temporal": temporal,
            "fallback": fallback,
            "spatial_layer": spatial_layer,
            "temporal_layer": temporal_layer,
            "min_delay": min_delay,
            "max_delay": max_delay,
            **kwargs,
        }
        return await self._request(body, timeout)

    async def stop(self, timeout: Timeout = OPTION_TIMEOUT) -> JsonDict:
        """Send ``stop``: end the subscription; Janus's PeerConnection and ours are closed.

        Janus 1.1.2 ignores a ``stop`` (and answers nothing) until it reported ``started``:
        before that (``started`` is False: only watched, or ICE never connected) the
        subscription is ended with the core ``hangup`` instead.

        Args:
            timeout: Seconds to wait for the reply; the session's ``timeout`` option by default.

        Returns:
            Janus's reply data (``{"result": {"status": "stopping"}}``), or ``{}`` after a
            core ``hangup``.

        Raises:
            StreamingError: Janus refused the request (or a Janus core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        if self._started:
            data = await self._request({"request": "stop"}, timeout)
        else:
            async with self._within(timeout, "Streaming stop: no hangup"):
                await JanusPlugin.hangup(self)
            data = {}
        self._mountpoint_id = None
        self._started = False
        await self._close_pc()
        return data
