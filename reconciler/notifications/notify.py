"""One way to tell people things: email through Amazon SES or SMTP, deduplicated by a ledger
that survives runs without any local state.

Producers build `Message`s and call `deliver()`. Key notices (reconciler/notifications/notices.py) are one
producer; budget alerts can be another: give them their own `topic` (say "budget") and an
`event_id` that names the event (say "2026-12:80%"), and the same ledger keeps each user from
getting it twice.

Guarantees, each shown by tests/test_notify.py:
- at most one message per (user, topic, event): the ledger holds the last event id sent per user
  and topic, and `deliver()` skips a message whose event id is already there;
- a failed send never raises: it is returned in the outcome, which callers report, and because
  nothing was recorded the next run builds and sends the message again;
- no message carries a virtual key: `deliver()` refuses any text that looks like one;
- a run that changes keys (apply, rotate) is never stopped by a notification setting that is missing
  or wrong: `channel_or_unconfigured()` gives it a channel that fails each message with the problem.

The ledger lives in tags on the user's key secret (`gatewayctl:notified:<topic>`): the secret
exists for every user who ever had a key, outlives revocation, is read with the same paged
ListSecrets the plan already uses, and the reconciler role may already tag it. A send whose
ledger write then fails is reported too; it may be repeated once (at least once, never silent).
"""

from __future__ import annotations

import argparse
import os
import re
import smtplib
import ssl
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol

from reconciler.errors import UsageError, redact
from reconciler.live.keystore import DEFAULT_PREFIX

LEDGER_TAG_PREFIX = "gatewayctl:notified:"
# A LiteLLM virtual key ("sk-" + at least 20 token characters) or an AWS secret-looking blob.
KEY_PATTERN = re.compile(r"sk-[A-Za-z0-9_\-]{20,}")


@dataclass(frozen=True)
class Message:
    user_id: str  # whose ledger records the message
    topic: str  # ledger slot, e.g. "key" or "budget"
    event_id: str  # names the event within the topic; at most 256 characters (a tag value)
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    body: str

    @property
    def label(self) -> str:
        return f"{self.topic} {self.event_id} for {self.user_id}"


class Channel(Protocol):
    def send(self, message: Message) -> None: ...  # raises on failure
    def describe(self) -> str: ...


class Ledger(Protocol):
    def last(self, user_id: str, topic: str) -> str | None: ...
    def record(self, user_id: str, topic: str, event_id: str) -> None: ...


class SesChannel:
    """Amazon SES (API v2), through boto3's standard environment. The sender must be a verified
    identity; outside the SES sandbox recipients need no verification."""

    def __init__(self, sender: str, configuration_set: str | None = None):
        import boto3
        from botocore.config import Config

        self.sender, self.configuration_set = sender, configuration_set
        self._ses = boto3.client("sesv2", config=Config(retries={"max_attempts": 5, "mode": "standard"},
                                                        connect_timeout=5, read_timeout=20))

    def describe(self) -> str:
        return f"Amazon SES as {self.sender}"

    def send(self, message: Message) -> None:
        args = {"FromEmailAddress": self.sender,
                "Destination": {"ToAddresses": list(message.to), "CcAddresses": list(message.cc)},
                "Content": {"Simple": {"Subject": {"Data": message.subject, "Charset": "UTF-8"},
                                       "Body": {"Text": {"Data": message.body, "Charset": "UTF-8"}}}}}
        if self.configuration_set:
            args["ConfigurationSetName"] = self.configuration_set
        self._ses.send_email(**args)


class SmtpChannel:
    """Any SMTP relay. STARTTLS is used whenever the server offers it, and required when a
    username is set (credentials never cross the network in clear)."""

    def __init__(self, host: str, port: int, sender: str, *, username: str | None = None,
                 password: str | None = None, timeout: float = 20.0):
        self.host, self.port, self.sender = host, port, sender
        self.username, self._password, self.timeout = username, password, timeout

    def describe(self) -> str:
        return f"SMTP {self.host}:{self.port} as {self.sender}"

    def send(self, message: Message) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, ", ".join(message.to), message.subject
        if message.cc:
            mail["Cc"] = ", ".join(message.cc)
        mail.set_content(message.body)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            elif self.username:
                raise smtplib.SMTPException(f"{self.host} offers no STARTTLS; refusing to send credentials")
            if self.username:
                smtp.login(self.username, self._password or "")
            smtp.send_message(mail)


def ledger_of(tags: dict[str, str]) -> dict[str, str]:
    """topic -> last event id, from a key secret's tags."""
    return {k[len(LEDGER_TAG_PREFIX):]: v for k, v in tags.items() if k.startswith(LEDGER_TAG_PREFIX)}


class SecretTagLedger:
    """The last event id sent per (user, topic), kept as a tag on the user's key secret. `listed`: the
    tags the key store's own listing already read (KeyStore.tags), so the same secrets are not listed
    twice; without it the ledger lists every secret under the prefix itself."""

    def __init__(self, prefix: str = DEFAULT_PREFIX, *, listed: dict[str, dict[str, str]] | None = None):
        import boto3

        self.prefix = prefix
        self._sm = boto3.client("secretsmanager")
        self._state: dict[str, dict[str, str]] | None = None
        if listed is not None:
            self._state = {uid: ledger_of(tags) for uid, tags in listed.items()}

    def _load(self) -> dict[str, dict[str, str]]:
        if self._state is None:
            state: dict[str, dict[str, str]] = {}
            for page in self._sm.get_paginator("list_secrets").paginate(
                    Filters=[{"Key": "name", "Values": [self.prefix]}], PaginationConfig={"PageSize": 100}):
                for s in page.get("SecretList", []):
                    if s["Name"].startswith(self.prefix):
                        state[s["Name"][len(self.prefix):]] = ledger_of({t["Key"]: t["Value"]
                                                                         for t in s.get("Tags", [])})
            self._state = state
        return self._state

    def has_subject(self, user_id: str) -> bool:
        return user_id in self._load()

    def last(self, user_id: str, topic: str) -> str | None:
        return self._load().get(user_id, {}).get(topic)

    def record(self, user_id: str, topic: str, event_id: str) -> None:
        self._sm.tag_resource(SecretId=self.prefix + user_id,
                              Tags=[{"Key": LEDGER_TAG_PREFIX + topic, "Value": event_id}])
        self._load().setdefault(user_id, {})[topic] = event_id


@dataclass
class Outcome:
    channel: str
    sent: list[str] = field(default_factory=list)
    skipped: int = 0
    failed: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"channel": self.channel, "sent": self.sent, "skipped": self.skipped, "failed": self.failed}


def _redact(text: str) -> str:
    """One line of a failure to record: redacted like every gateway text, then cut."""
    return redact(text)[:300]


def deliver(messages: Iterable[Message], channel: Channel, ledger: Ledger) -> Outcome:
    """Send each message not yet in the ledger, then record it. Never raises for one message."""
    out = Outcome(channel.describe())
    for m in messages:
        if ledger.last(m.user_id, m.topic) == m.event_id:
            out.skipped += 1
            continue
        if KEY_PATTERN.search(m.subject) or KEY_PATTERN.search(m.body):
            out.failed.append(f"{m.label}: refused, the text looks like it contains a key")
            continue
        try:
            channel.send(m)
        except Exception as exc:  # noqa: BLE001 - any channel error: report it, keep going, retry next run
            out.failed.append(f"{m.label}: {type(exc).__name__}: {_redact(str(exc))}")
            continue
        try:
            ledger.record(m.user_id, m.topic, m.event_id)
        except Exception as exc:  # noqa: BLE001
            out.failed.append(f"{m.label}: sent, but not recorded ({type(exc).__name__}: {_redact(str(exc))}); "
                              "it may be sent once more")
            continue
        out.sent.append(m.label)
    return out


# ---------------------------------------------------------------- configuration (CLI and environment)

KEY_NOTICES = "after applying, email users and their owner when their key is ready, rotated or revoked"


def add_arguments(p: argparse.ArgumentParser, purpose: str = KEY_NOTICES) -> None:
    p.add_argument("--notify", choices=("none", "ses", "smtp"), default=os.environ.get("GATEWAYCTL_NOTIFY", "none"),
                   help=f"{purpose} (default $GATEWAYCTL_NOTIFY, else none). SMTP reads GATEWAYCTL_SMTP_HOST, "
                        "GATEWAYCTL_SMTP_PORT (587), GATEWAYCTL_SMTP_USERNAME, GATEWAYCTL_SMTP_PASSWORD")
    p.add_argument("--notify-from", default=os.environ.get("GATEWAYCTL_NOTIFY_FROM"), metavar="ADDRESS",
                   help="sender address (default $GATEWAYCTL_NOTIFY_FROM); for SES a verified identity")
    p.add_argument("--guide-url", default=os.environ.get("GATEWAYCTL_GUIDE_URL"), metavar="URL",
                   help="link to docs/using-the-gateway.md in messages (default $GATEWAYCTL_GUIDE_URL)")


def channel_from_args(args: argparse.Namespace) -> Channel | None:
    """The configured channel, or None for `none`; a setting that is missing or wrong is a UsageError."""
    kind = getattr(args, "notify", "none") or "none"
    if kind == "none":
        return None
    if kind not in ("ses", "smtp"):  # argparse checks --notify, not a default taken from GATEWAYCTL_NOTIFY
        raise UsageError(f"GATEWAYCTL_NOTIFY must be ses, smtp or none, not {kind!r}")
    sender = getattr(args, "notify_from", None)
    if not sender:
        raise UsageError("--notify needs a sender: pass --notify-from or set GATEWAYCTL_NOTIFY_FROM")
    if kind == "ses":
        return SesChannel(sender, os.environ.get("GATEWAYCTL_SES_CONFIGURATION_SET"))
    host = os.environ.get("GATEWAYCTL_SMTP_HOST")
    if not host:
        raise UsageError("--notify smtp needs GATEWAYCTL_SMTP_HOST")
    port = os.environ.get("GATEWAYCTL_SMTP_PORT") or "587"
    if not port.isdigit():
        raise UsageError(f"GATEWAYCTL_SMTP_PORT must be a port number, not {port!r}")
    username = os.environ.get("GATEWAYCTL_SMTP_USERNAME") or None
    password = os.environ.get("GATEWAYCTL_SMTP_PASSWORD") or None
    if bool(username) != bool(password):
        raise UsageError("GATEWAYCTL_SMTP_USERNAME and GATEWAYCTL_SMTP_PASSWORD go together: set both or neither")
    return SmtpChannel(host, int(port), sender, username=username, password=password)


class UnconfiguredChannel:
    """Stands in for a channel whose settings are missing or wrong, so that a run that changes keys
    still changes them: every message it is given fails with the configuration problem, which goes
    into the outcome (and so the audit record), and because nothing is recorded in the ledger the
    first run after the setting is fixed sends them."""

    def __init__(self, kind: str, problem: str):
        self.kind, self.problem = kind, problem

    def describe(self) -> str:
        return f"{self.kind} (not configured: {self.problem})"

    def send(self, message: Message) -> None:
        raise UsageError(f"notifications are not configured: {self.problem}")


def channel_or_unconfigured(args: argparse.Namespace) -> Channel | None:
    """For runs whose job is to change keys (apply, rotate): a notification setting never stops them."""
    try:
        return channel_from_args(args)
    except UsageError as exc:
        return UnconfiguredChannel(getattr(args, "notify", "?"), str(exc))
