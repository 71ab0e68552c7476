"""The EchoTest client ``JanusEchoTestPlugin``, janus-client's names plus ``configure``.

janus-client's EchoTest (``start``/``wait_webrtcup``/``close_stream``) plus ``configure``, the
plugin's one request with all its options.

Rule: ``start`` needs aiortc (imported on call); ``configure`` is pure signalling and takes an
optional ready-made ``jsep``. A ``media`` event without a recorder, or ``close_stream`` before
``start``, is harmless (both raised ``AttributeError`` in janus-client).
"""

from __future__ import annotations

import logging
from typing import Any

from janus_fast.media import import_aiortc, import_aiortc_media
from janus_fast.plugins._base import JsonDict, PluginClient, compact, plugin_data
from janus_fast.plugins._errors import TypedPluginError
from janus_fast.timeouts import OPTION_TIMEOUT, Timeout

logger = logging.getLogger("janus_fast.plugins.echotest")


class EchoTestError(TypedPluginError):
    """An EchoTest error (new: janus-client had none): ``error_code``, ``error_message``."""

    plugin_name = "janus.plugin.echotest"
    label = "EchoTest"


class JanusEchoTestPlugin(PluginClient):
    """Janus EchoTest client (janus-client's names and signatures)."""

    name = "janus.plugin.echotest"
    error_class = EchoTestError
    data_key = "echotest"

    async def _handle_event(self, response: JsonDict, *, solicited: bool = False) -> None:
        data = plugin_data(response) or {}
        if "error_code" in data or "error" in data:
            logger.warning(
                "%r: EchoTest error %s: %s",
                self,
                data.get("error_code"),
                data.get("error"),
                extra=self._log_fields(),
            )
        elif data.get("result") == "done":
            await self._close_pc()  # the stream ended: close the PC and stop the recorder

    async def wait_webrtcup(self) -> None:
        """Wait for (and clear) the ``webrtcup`` of the current stream."""
        await self._webrtcup_event.wait()
        self._webrtcup_event.clear()

    async def start(self, play_from: str, record_to: str = "", *, trickle: bool = False) -> None:
        """Echo a media file or device through Janus, recording what comes back.

        Needs the ``[media]`` extra. Returns once Janus's answer is applied;
        ``wait_webrtcup()`` then waits for the media path.

        Args:
            play_from: A file or device for aiortc's ``MediaPlayer``; without a video track, a
                test video track is sent.
            record_to: Where aiortc's ``MediaRecorder`` writes the echoed media; ``""``
                records nothing.
            trickle: New: send our ICE candidates in a ``trickle`` after the offer instead of
                inside it.

        Raises:
            EchoTestError: Janus refused the offer (or a core error on the request).
            RequestTimeoutError: No reply within the session's ``timeout``.
        """
        media = import_aiortc_media("EchoTest.start")
        aiortc = import_aiortc()
        await self._fresh_pc()
        self._webrtcup_event.clear()
        player = media.MediaPlayer(play_from)
        self._player = player
        pc = self.pc
        if player.audio is not None:
            pc.addTrack(player.audio)
        if player.video is not None:
            pc.addTrack(player.video)
        else:
            pc.addTrack(aiortc.VideoStreamTrack())
        self._recorder = media.MediaRecorder(record_to) if record_to else None
        await pc.setLocalDescription(await pc.createOffer())
        body = {"audio": player.audio is not None, "video": player.video is not None}
        reply = await self._send_request(body, self._jsep(pc, trickle))
        answer = reply.get("jsep")
        if isinstance(answer, dict):
            await self.on_receive_jsep(answer)
        if trickle:
            await self._send_local_candidates()

    async def close_stream(self) -> None:
        """Close the PeerConnection and stop the recorder (nothing is sent to Janus)."""
        await self._close_pc()

    async def configure(
        self,
        audio: bool | None = None,
        video: bool | None = None,
        bitrate: int | None = None,
        record: bool | None = None,
        filename: str | None = None,
        substream: int | None = None,
        temporal: int | None = None,
        fallback: int | None = None,
        *,
        jsep: JsonDict | None = None,
        timeout: Timeout = OPTION_TIMEOUT,
        **kwargs: Any,
    ) -> JsonDict:
        """Send the EchoTest request (new): toggle media, cap the bitrate, record, pick layers.

        Options left at None are not sent.

        Args:
            audio: Echo audio back or not.
            video: Echo video back or not.
            bitrate: Cap on the video bitrate (bit/s) Janus asks the browser for (REMB).
            record: Start or stop recording on the Janus side.
            filename: Base path of Janus's recordings.
            substream: Simulcast substream to echo.
            temporal: Simulcast temporal layer to echo.
            fallback: Simulcast fallback delay, in microseconds.
            jsep: A ready-made offer to send with the request.
            timeout: Seconds to wait for the reply; the session's ``timeout`` by default.
            **kwargs: Other EchoTest options, sent as they are (``svc``, ``spatial_layer``,
                ``audiocodec``, ``videocodec``, ``videoprofile``, ``opusred``, ``min_delay``,
                ``max_delay`` …).

        Returns:
            The reply's ``plugindata.data``; with ``jsep=offer``, Janus's answer under
            ``"jsep"``.

        Raises:
            EchoTestError: Janus refused the request (or a core error on it).
            RequestTimeoutError: No reply within ``timeout``.
        """
        body = compact(
            {
                "audio": audio,
                "video": video,
                "bitrate": bitrate,
                "record": record,
                "filename": filename,
                "substream": substream,
                "temporal": temporal,
                "fallback": fallback,
            }
        )
        body.update(kwargs)
        reply = await self._send_request(body, jsep, timeout=timeout)
        data = plugin_data(reply) or {}
        answer = reply.get("jsep")
        return {**data, "jsep": answer} if isinstance(answer, dict) else data
