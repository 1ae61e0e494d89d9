"""QR codes rendered on the server as SVG data URIs (no external service sees the payload)."""
from __future__ import annotations

import base64

import qrcode
from qrcode.image.svg import SvgPathImage


def qr_data_uri(payload: str) -> str:
    """An `<img src>` value showing `payload` as a QR code."""
    image = qrcode.make(payload, image_factory=SvgPathImage, box_size=10, border=2)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()
