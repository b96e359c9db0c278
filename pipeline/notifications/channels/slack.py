"""The Slack channel: a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat) gets
``{"text": …}``, a readable message led by each event's summary (``messages.slack_body``)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from core.errors import InputError
from pipeline.notifications.channels.http import post
from pipeline.notifications.messages import Message, slack_body
from pipeline.notifications.settings import DeliverySettings
from pipeline.notifications.targets import check_http_url
from store.queries.notifications import RuleRow


@dataclass(frozen=True)
class Slack:
    name: str = "slack"
    description: str = "post a readable message to a Slack-compatible incoming webhook"

    def check(self, url: str | None, secret: str | None, recipients: list[str]) -> None:
        check_http_url(url)
        if secret is not None:
            raise InputError("secret", "only webhook rules sign with a secret")
        if recipients:
            raise InputError("recipients", "only e-mail rules have recipients")

    def send(self, rule: RuleRow, message: Message, settings: DeliverySettings) -> None:
        assert rule.url is not None
        body = json.dumps(slack_body(message), ensure_ascii=False).encode()
        post(
            rule.url,
            body,
            {"Content-Type": "application/json", "User-Agent": "patchgap-notifications"},
            settings,
        )


CHANNEL = Slack()
