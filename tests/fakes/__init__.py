"""Fake WhatsApp back ends (Graph API, Evolution gateway) served over real loopback HTTP."""
from .gateway import FakeGateway
from .graph_api import FakeGraphAPI
from .server import FakeServer, RecordedRequest, WebhookSink

__all__ = ["FakeGateway", "FakeGraphAPI", "FakeServer", "RecordedRequest", "WebhookSink"]
