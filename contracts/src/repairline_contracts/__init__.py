"""The events on the wire: CloudEvents envelope, versioned event models, topic names."""
