"""The change webhook is configured whole or refused at start-up, naming the setting and what it takes, without
repeating the key in the error; `compliance-engine webhook-secret` makes a key the service and the Standard
Webhooks library both accept."""
from __future__ import annotations

import base64
import subprocess

import pytest
import standardwebhooks
from pydantic import ValidationError

from service.settings import Settings
from tests.integration.servers import BIN

KEY = "whsec_" + base64.b64encode(b"k" * 32).decode()


@pytest.mark.parametrize(("settings", "problem"), [
    ({"change_webhook_url": "https://hooks.example/in"}, "CHANGE_WEBHOOK_SECRET: required with CHANGE_WEBHOOK_URL"),
    ({"change_webhook_url": "https://hooks.example/in", "change_webhook_secret": "whsec_not base64!"},
     "CHANGE_WEBHOOK_SECRET: not base64"),
    ({"change_webhook_url": "https://hooks.example/in",
      "change_webhook_secret": "whsec_" + base64.b64encode(b"short").decode()}, "CHANGE_WEBHOOK_SECRET: 5 bytes"),
    ({"change_webhook_url": "ftp://hooks.example/in", "change_webhook_secret": KEY},
     "CHANGE_WEBHOOK_URL: expected an http or https URL with a host"),
    ({"change_webhook_url": "https:///no-host", "change_webhook_secret": KEY}, "CHANGE_WEBHOOK_URL"),
])
def test_an_incomplete_or_wrong_webhook_is_refused_naming_the_setting(settings, problem):
    with pytest.raises(ValidationError) as refused:
        Settings(**settings)
    assert problem in str(refused.value)
    assert "not base64!" not in str(refused.value) and KEY not in str(refused.value)  # the key is not repeated


def test_no_webhook_by_default_and_a_complete_one_is_taken():
    assert Settings().change_webhook_url == ""
    taken = Settings(change_webhook_url="http://127.0.0.1:9/in", change_webhook_secret=KEY)
    assert taken.change_webhook_secret.get_secret_value() == KEY and KEY not in repr(taken)


def test_the_cli_makes_a_key_both_sides_accept():
    made = subprocess.run([str(BIN / "compliance-engine"), "webhook-secret"], capture_output=True, text=True,
                          check=True).stdout.strip()
    again = subprocess.run([str(BIN / "compliance-engine"), "webhook-secret"], capture_output=True, text=True,
                           check=True).stdout.strip()
    assert made.startswith("whsec_") and len(base64.b64decode(made.removeprefix("whsec_"))) == 32 and made != again
    Settings(change_webhook_url="https://hooks.example/in", change_webhook_secret=made)
    standardwebhooks.Webhook(made)  # the receiver's library reads it
