"""Every adapter has the whole Provider interface; what its capabilities leave out it refuses by name."""
from __future__ import annotations

import inspect

import pytest

from core.enums import ChannelKind
from whatsapp.base import NotSupported, Provider
from whatsapp.cloud import CloudProvider
from whatsapp.gateway import GatewayProvider
from whatsapp.sandbox import SandboxProvider

ADAPTERS = {ChannelKind.CLOUD: lambda: CloudProvider("1", "2", "token"),
            ChannelKind.GATEWAY: lambda: GatewayProvider("http://127.0.0.1:9", "key", "mh-test"),
            ChannelKind.SANDBOX: lambda: SandboxProvider("sandbox-test", phone_url="http://127.0.0.1/sandbox/x")}
# The optional methods and the capability that says a provider has them; none touches the network when refused.
OPTIONAL = {
    "upload_media": ("media_by_upload", (b"x", "image/png", "x.png")),
    "download_media": ("media_download", ("ref",)),
    "list_templates": ("template_sync", ()),
    "subscribe_app": ("webhook_subscription", ()),
    "create_instance": ("instance_lifecycle", ()),
    "set_webhook": ("instance_lifecycle", ("https://example.com/hook",)),
}


def _protocol_methods() -> set[str]:
    return {name for name, value in vars(Provider).items() if inspect.isfunction(value) and not name.startswith("_")}


@pytest.mark.parametrize("kind", list(ChannelKind))
def test_each_adapter_has_every_method_of_the_protocol(kind):
    provider = ADAPTERS[kind]()
    assert provider.kind == kind
    assert provider.capabilities.name and provider.capabilities.title
    missing = {name for name in _protocol_methods() if not callable(getattr(provider, name, None))}
    assert missing == set()


@pytest.mark.parametrize("kind", list(ChannelKind))
def test_what_the_capabilities_leave_out_is_refused_with_not_supported(kind):
    provider = ADAPTERS[kind]()
    for method, (flag, args) in OPTIONAL.items():
        if getattr(provider.capabilities, flag):
            continue
        with pytest.raises(NotSupported, match="cannot"):
            getattr(provider, method)(*args)


def test_inbound_media_reference_comes_from_what_each_webhook_left():
    cloud, gateway, sandbox = (ADAPTERS[kind]() for kind in ChannelKind)
    baileys = {"key": {"id": "A1"}, "message": {"imageMessage": {"url": "x"}}}
    assert cloud.media_reference({"media_id": "m1"}, {}) == "m1"
    assert cloud.media_reference({}, {"gateway_message": baileys}) is None
    assert gateway.media_reference({"media_id": "m1"}, {"gateway_message": baileys}) == baileys
    assert gateway.media_reference({}, {}) is None
    assert sandbox.media_reference({"media_id": "m1"}, {"gateway_message": baileys}) is None


def test_templates_sent_where_supported_and_synced_only_from_an_account():
    assert CloudProvider.capabilities.templates and CloudProvider.capabilities.template_sync
    assert SandboxProvider.capabilities.templates and not SandboxProvider.capabilities.template_sync
    assert not GatewayProvider.capabilities.templates
    with pytest.raises(NotSupported, match="only available on the Cloud API"):
        ADAPTERS[ChannelKind.GATEWAY]().send_template("5511987654321", "hello", "en_US")
