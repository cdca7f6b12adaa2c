"""Recordings of the account's calls, as Twilio's Recording resource states them, and their audio.

A <Dial record="record-from-answer[-dual]"> records its bridged talk (voice_simulator.py). The account keeps
only the resource (a snapshot stays small); the audio is made on each request, the same bytes every time: a
real, playable WAV (8 kHz, 16-bit PCM, a channel per party when dual) of a quiet tone per party, as long as
the talk but at most MAX_AUDIO_SECONDS."""
from __future__ import annotations

import functools
import io
import math
import struct
import wave
from datetime import datetime
from typing import Any

from local.twilio_emulator.account import API_VERSION, rfc2822

TWILIO_API = "https://api.twilio.com"  # where Twilio says its recordings are (the SDK's client redirects it)
SAMPLE_RATE = 8000
MAX_AUDIO_SECONDS = 3  # the talk time is the recording's duration; its audio is cut short for size
# <Dial record>: the modes that record, and their channels. Recording from ringing is recorded from answer here.
RECORD_MODES = {"true": 1, "record-from-answer": 1, "record-from-ringing": 1,
                "record-from-answer-dual": 2, "record-from-ringing-dual": 2}
RECORDING_EVENTS = ("in-progress", "completed", "absent")
TOO_SHORT = 16101  # Twilio's error code of a recording too short to keep: its status is absent
_TONES = (440.0, 660.0)  # Hz: the caller's channel, the answering party's
_AMPLITUDE = 3000  # of 32767: quiet


def wav(seconds: int, channels: int) -> bytes:
    """A WAV file of `seconds` (at most MAX_AUDIO_SECONDS) of each party's tone, interleaved by channel."""
    return _wav(max(0, min(seconds, MAX_AUDIO_SECONDS)), channels)


@functools.lru_cache(maxsize=8)
def _wav(seconds: int, channels: int) -> bytes:
    frames = SAMPLE_RATE * seconds
    samples = [int(_AMPLITUDE * math.sin(2 * math.pi * _TONES[channel] * frame / SAMPLE_RATE))
               for frame in range(frames) for channel in range(channels)]
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(struct.pack(f"<{len(samples)}h", *samples))
    return buffer.getvalue()


def media_url(account_sid: str, sid: str) -> str:
    """The RecordingUrl Twilio gives: its audio is there as .wav (and without an extension)."""
    return f"{TWILIO_API}/{API_VERSION}/Accounts/{account_sid}/Recordings/{sid}"


def resource(account_sid: str, sid: str, call_sid: str, channels: int, started: datetime) -> dict[str, Any]:
    """A new recording, in progress, as `Recordings/{Sid}.json` answers it."""
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Recordings/{sid}.json"
    moment = rfc2822(started)
    return {
        "account_sid": account_sid, "api_version": API_VERSION, "call_sid": call_sid, "conference_sid": None,
        "date_created": moment, "date_updated": moment, "start_time": moment, "duration": None, "sid": sid,
        "price": None, "price_unit": "USD", "status": "in-progress", "channels": channels, "source": "DialVerb",
        "error_code": None, "track": "both", "encryption_details": None, "uri": uri,
        "media_url": media_url(account_sid, sid),
        "subresource_uris": {"add_on_results": uri[:-5] + "/AddOnResults.json",
                             "transcriptions": uri[:-5] + "/Transcriptions.json"},
    }


def ended(recording: dict[str, Any], talk_seconds: int, moment: datetime) -> dict[str, Any]:
    """The recording once its call has ended: completed with the talk time, or absent when nothing was said."""
    status = "completed" if talk_seconds > 0 else "absent"
    return {**recording, "status": status, "duration": str(talk_seconds), "date_updated": rfc2822(moment),
            "error_code": None if status == "completed" else TOO_SHORT}


def callback_params(recording: dict[str, Any]) -> dict[str, str]:
    """What the recordingStatusCallback carries about it (CallSid: the parent call, for a <Dial>'s recording)."""
    params = {"AccountSid": recording["account_sid"], "CallSid": recording["call_sid"],
              "RecordingChannels": str(recording["channels"]), "RecordingSid": recording["sid"],
              "RecordingSource": recording["source"], "RecordingStartTime": recording["start_time"],
              "RecordingStatus": recording["status"], "RecordingTrack": recording["track"],
              "RecordingUrl": recording["media_url"]}
    if recording["status"] != "in-progress":
        params["RecordingDuration"] = recording["duration"]
    if recording["error_code"] is not None:
        params["ErrorCode"] = str(recording["error_code"])
    return dict(sorted(params.items()))
