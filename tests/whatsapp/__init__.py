"""Tests of the WhatsApp adapters against fake back ends on loopback."""
