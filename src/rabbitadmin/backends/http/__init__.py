"""Everything that speaks the management HTTP API (and AMQP with the same connection settings)."""
