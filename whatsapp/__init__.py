"""WhatsApp providers behind one interface: Cloud API, QR-linked gateway, sandbox."""
